{{ config(materialized='view') }}

-- Every unit-level figure of every stored submission (superseded versions included), on the map of its
-- period and with today's unit and province: the fact store. A view over raw.indicator_value, where ingest
-- wrote each row once: placing a row is a join with the units, done where the row is read, so no build
-- copies ten years of rows (a table filled from raw took 316 s and 9 GB at national-10y, 49M rows) and a
-- reference refresh that moves a unit has no row to rewrite.
-- What is copied is summed or published: int_submission_totals sums each submission once, and the
-- published facts (publishing/published_facts.py) copy each published submission once. Both record the version of the
-- unit map that placed what they copied (int_unit_placements); when a refresh moves a unit, the next build
-- records the submissions with rows on it (macro record_remapped_submissions) and both redo those.
-- is_counted is false for a detail row: the file also gives its own figure for an ancestor of the unit
-- (ingestion/levels.py), and only that figure is added up.
-- Read one submission at a time (the totals, the gate: the planner pushes the submission into raw's index)
-- or whole (a first publish, the history tests: in parallel, 62 s for 49M rows).
with submissions as (
    select * from {{ ref('stg_ingest__submission') }}
    where status in ('accepted', 'superseded')
),

indicator_values as (
    select * from {{ ref('stg_raw__indicator_value') }}
),

units as (
    select * from {{ ref('int_units') }}
),

final as (
    select
        units.unit_key,
        units.unit_level,
        units.current_unit_key,
        units.current_province_code as province_code,
        submissions.province_code as reported_province_code,
        units.unit_map = 'legacy' as is_remapped,
        submissions.period_code,
        submissions.period_type,
        submissions.period_start,
        submissions.period_end,
        indicator_values.indicator_code,
        indicator_values.category,
        indicator_values.value,
        indicator_values.numerator,
        indicator_values.denominator,
        not indicator_values.is_detail as is_counted,
        indicator_values.source_row,
        indicator_values.submission_id,
        submissions.version as submission_version,
        {{ current_unit_map_version() }} as unit_map_version
    from indicator_values
    inner join submissions on submissions.submission_id = indicator_values.submission_id
    -- A unit by its code and the period's end: its validity says its map (test valid_only_on_its_map). Joined
    -- on the map as well, the planner took the computed map (unit_map_at) for one of 200 values, 49M rows
    -- for 51k, and planned what reads them for that.
    inner join units
        on
            units.unit_code = indicator_values.unit_code
            and units.valid_from <= submissions.period_end
            and (units.valid_to is null or units.valid_to >= submissions.period_end)
)

select * from final
