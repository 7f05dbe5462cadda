-- One row per legacy unit × current unit it became. Counts of a split commune are attributed whole to
-- its official default target (is_default) in commune-level views; province figures are unaffected,
-- since provinces merged whole. basis: the official 2025 conversion, or (units retired before 2025) the
-- conversion of the unit it merged into (via_unit_key), or its province only (district_of_the_time).
with crosswalk as (
    select * from {{ ref('stg_ref__legacy_unit_map') }}
),

units as (
    select * from {{ ref('dim_unit') }}
),

final as (
    select
        crosswalk.legacy_unit_key,
        legacy.unit_name as legacy_unit_name,
        crosswalk.legacy_level,
        crosswalk.current_unit_key,
        current_unit.unit_name as current_unit_name,
        crosswalk.current_level,
        crosswalk.is_default,
        crosswalk.basis,
        crosswalk.via_unit_key,
        count(*) over (partition by crosswalk.legacy_unit_key, crosswalk.current_level) > 1 as is_split
    from crosswalk
    inner join units as legacy on legacy.unit_key = crosswalk.legacy_unit_key
    inner join units as current_unit on current_unit.unit_key = crosswalk.current_unit_key
)

select * from final
