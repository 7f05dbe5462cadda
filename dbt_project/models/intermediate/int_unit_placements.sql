{{ config(materialized='incremental') }}

-- Every version of the unit map: where each unit's figures count (today's unit and province) in that
-- version. A build adds a version when the placements of int_units match none stored (a reference refresh
-- moved a unit); the fact store records which version placed each row (macros/unit_map_versions.sql).
with units as (
    select
        unit_key,
        current_unit_key,
        current_province_code
    from {{ ref('int_units') }}
),

fingerprint as (
    {{ unit_map_fingerprint(ref('int_units')) }}
),

final as (
    select
        {% if is_incremental() %}
        (select coalesce(max(stored.unit_map_version), 0) + 1 from {{ this }} as stored)
        {% else %}
        1
        {% endif %} as unit_map_version,
        fingerprint.md5 as fingerprint,
        units.unit_key,
        units.current_unit_key,
        units.current_province_code
    from units
    cross join fingerprint
    {% if is_incremental() %}
    where
        not exists (
            select 1 from {{ this }} as stored
            where stored.fingerprint = fingerprint.md5
        )
    {% endif %}
)

select * from final
