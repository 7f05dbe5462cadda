{{ config(
    materialized='incremental',
    post_hook=["create index if not exists int_submission_totals_submission on {{ this }} (submission_id)"]
) }}

-- One row per submission × indicator: its counted figures summed over units and categories, on today's
-- province. A detail row (below a unit the file gives its own figure for) is not added: each unit counts once.
-- Incremental like int_indicator_values, and read by everything above it instead of the unit-level rows.
with submissions as (
    {{ new_accepted_submissions() }}
),

{% if is_incremental() %}
-- A few new files: their rows through the fact store's submission index, one file at a time (see the macro).
new_submissions as materialized (
    select submission_id from submissions
),

facts as (
    {{ rows_by_submission(ref('int_indicator_values'), 'new_submissions') }}
),
{% else %}
facts as (
    select * from {{ ref('int_indicator_values') }}
),
{% endif %}

final as (
    select
        facts.submission_id,
        facts.province_code,
        facts.period_code,
        facts.indicator_code,
        sum(facts.value) as value,
        sum(facts.numerator) as numerator,
        sum(facts.denominator) as denominator,
        count(distinct facts.unit_key) as units_reporting,
        bool_or(facts.is_remapped) as is_remapped
    from facts
    inner join submissions on submissions.submission_id = facts.submission_id
    where facts.is_counted is not false
    group by facts.submission_id, facts.province_code, facts.period_code, facts.indicator_code
)

select * from final
