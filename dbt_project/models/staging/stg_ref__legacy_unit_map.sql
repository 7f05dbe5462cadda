with source as (
    select * from {{ source('ref', 'legacy_unit_map') }}
),

renamed as (
    select
        'legacy:' || legacy_level || ':' || legacy_code as legacy_unit_key,
        legacy_level,
        legacy_code,
        'current:' || current_level || ':' || current_code as current_unit_key,
        current_level,
        current_code,
        is_default,
        basis,
        'legacy:' || case when basis = 'merged_into' then legacy_level else 'district' end || ':' || via_code
            as via_unit_key,
        source as reference_source
    from source
)

select * from renamed
