with source as (
    select * from {{ source('ref', 'unit') }}
),

renamed as (
    select
        map || ':' || unit_level || ':' || unit_code as unit_key,
        map as unit_map,
        unit_code,
        unit_level,
        name as unit_name,
        division_type,
        parent_code,
        province_code,
        valid_from,
        valid_to,
        source as reference_source
    from source
)

select * from renamed
