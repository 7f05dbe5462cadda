{{ config(
    materialized='incremental',
    on_schema_change='append_new_columns',
    pre_hook=["{{ remap_facts() }}"],
    post_hook=[
        "create index if not exists int_indicator_values_submission on {{ this }} (submission_id)",
        "drop index if exists {{ this.schema }}.int_indicator_values_province_period, {{ this.schema }}.int_indicator_values_indicator_period",
        "{{ analyze_if_never_analyzed(this) }}"
    ]
) }}

-- Every unit-level figure of every submission ever accepted, on the map of its period and with today's
-- province: the fact store. Incremental and append-only: a build adds the rows of newly accepted
-- submissions and touches nothing else, so a resubmission costs its own rows, not ten years of facts.
-- A superseded version's rows stay; which version counts is decided by the published fct_submission.
-- is_counted is false for a detail row: the file also gives its own figure for an ancestor of the unit
-- (ingestion/levels.py), and only that figure is added up. Rows stored before that rule have null: counted.
-- unit_map_version is the version of the unit map (int_unit_placements) that placed the row on today's unit
-- and province; when a reference refresh moves a unit, the pre-hook re-maps its rows (remap_facts).
-- Read by submission only (the totals, the gate, the publish's copy): one index. Those by province or
-- indicator and period were never used in a whole national-10y bench and cost 200 s of a first build;
-- warehouses built before drop them at their next build (a no-op once gone).
with submissions as (
    {{ new_accepted_submissions() }}
),

{% if is_incremental() %}
-- A few new files: their rows through raw's submission index, one file at a time (see the macro).
new_submissions as materialized (
    select submission_id from submissions
),

indicator_values as (
    {{ rows_by_submission(ref('stg_raw__indicator_value'), 'new_submissions') }}
),
{% else %}
indicator_values as (
    select * from {{ ref('stg_raw__indicator_value') }}
),
{% endif %}

units as (
    select * from {{ ref('int_units') }}
),

-- Each row with its submission first, then its unit. The fence (offset 0) keeps that order: the planner
-- cannot estimate how many units share a submission's map (unit_map is computed), and otherwise may pair
-- every submission with every unit of its map first (measured at 5.3M facts: 6.7M pairs hashed to disk
-- three times, 44 s instead of 11 s; at ten years the store's time hardly changed).
submitted_values as (
    select
        submissions.submission_id,
        submissions.province_code,
        submissions.unit_map,
        submissions.period_code,
        submissions.period_type,
        submissions.period_start,
        submissions.period_end,
        submissions.version,
        indicator_values.unit_code,
        indicator_values.indicator_code,
        indicator_values.category,
        indicator_values.value,
        indicator_values.numerator,
        indicator_values.denominator,
        indicator_values.is_detail,
        indicator_values.source_row
    from submissions
    inner join indicator_values on indicator_values.submission_id = submissions.submission_id
    offset 0  -- noqa: AM09
),

final as (
    select
        units.unit_key,
        units.unit_level,
        units.current_unit_key,
        units.current_province_code as province_code,
        submitted_values.province_code as reported_province_code,
        units.unit_map = 'legacy' as is_remapped,
        submitted_values.period_code,
        submitted_values.period_type,
        submitted_values.period_start,
        submitted_values.period_end,
        submitted_values.indicator_code,
        submitted_values.category,
        submitted_values.value,
        submitted_values.numerator,
        submitted_values.denominator,
        not submitted_values.is_detail as is_counted,
        submitted_values.source_row,
        submitted_values.submission_id,
        submitted_values.version as submission_version,
        {{ current_unit_map_version() }} as unit_map_version
    from submitted_values
    inner join units
        on
            units.unit_code = submitted_values.unit_code
            and units.unit_map = submitted_values.unit_map
            and units.valid_from <= submitted_values.period_end
            and (units.valid_to is null or units.valid_to >= submitted_values.period_end)
)

select * from final
