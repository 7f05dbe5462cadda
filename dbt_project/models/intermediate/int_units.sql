{{ config(materialized='table') }}

-- Every unit of both maps. current_province_code says which of today's 34 provinces a unit belongs to
-- (provinces merged whole in 2025, so a legacy unit follows its legacy province); current_unit_key is
-- today's unit it became (for a split commune, the official default target; for a commune retired before
-- 2025, that of the unit it merged into, or none when that is not known: placement_basis says which).
with units as (
    select * from {{ ref('stg_ref__unit') }}
),

crosswalk as (
    select * from {{ ref('stg_ref__legacy_unit_map') }}
),

province_of_legacy as (
    select
        legacy_code as legacy_province_code,
        current_code as current_province_code
    from crosswalk
    where legacy_level = 'province'
),

placement as (
    select distinct
        legacy_unit_key,
        basis,
        via_unit_key
    from crosswalk
),

default_target as (
    select
        legacy_unit_key,
        current_unit_key
    from crosswalk
    where is_default and current_level = legacy_level
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
        case
            when units.unit_map = 'current' then units.province_code
            else province_of_legacy.current_province_code
        end as current_province_code,
        case
            when units.unit_map = 'current' then units.unit_key
            when units.unit_level = 'province' then 'current:province:' || province_of_legacy.current_province_code
            else default_target.current_unit_key
        end as current_unit_key,
        placement.basis as placement_basis,
        placement.via_unit_key,
        units.reference_source
    from units
    left join units as parents
        on
            parents.unit_map = units.unit_map
            and parents.unit_code = units.parent_code
            and parents.unit_level = case
                when units.unit_map = 'legacy' and units.unit_level = 'commune' then 'district'
                else 'province'
            end
    left join province_of_legacy
        on units.unit_map = 'legacy' and province_of_legacy.legacy_province_code = units.province_code
    left join default_target on default_target.legacy_unit_key = units.unit_key
    left join placement on placement.legacy_unit_key = units.unit_key
)

select * from final
