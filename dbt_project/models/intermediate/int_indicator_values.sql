{{ config(
    materialized='incremental',
    on_schema_change='append_new_columns',
    pre_hook=["{{ remap_facts() }}"],
    post_hook=[
        "create index if not exists int_indicator_values_submission on {{ this }} (submission_id)",
        "create index if not exists int_indicator_values_province_period on {{ this }} (province_code, period_code)",
        "create index if not exists int_indicator_values_indicator_period on {{ this }} (indicator_code, period_code)"
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
        submissions.submission_id,
        submissions.version as submission_version,
        {{ current_unit_map_version() }} as unit_map_version
    from submissions
    inner join indicator_values on indicator_values.submission_id = submissions.submission_id
    inner join units
        on
            units.unit_code = indicator_values.unit_code
            and units.unit_map = submissions.unit_map
            and units.valid_from <= submissions.period_end
            and (units.valid_to is null or units.valid_to >= submissions.period_end)
)

select * from final
