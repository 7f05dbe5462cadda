with units as (
    select * from {{ ref('stg_ref__unit') }}
),

final as (
    select
        units.unit_key,
        units.unit_map,
        units.unit_code,
        units.unit_level,
        units.unit_name,
        units.division_type,
        parents.unit_key as parent_unit_key,
        units.province_code,
        units.valid_from,
        units.valid_to,
        units.unit_map = 'current' as is_current,
        units.reference_source
    from units
    left join units as parents
        on parents.unit_map = units.unit_map
        and parents.unit_level = 'province'
        and parents.unit_code = units.parent_code
)

select * from final
