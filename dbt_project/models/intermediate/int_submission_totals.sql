{{ config(
    materialized='incremental',
    on_schema_change='append_new_columns',
    pre_hook=[
        "{{ record_remapped_submissions() }}",
        """
        {% if is_incremental() and 'summed_at' in adapter.get_columns_in_relation(this) | map(attribute='name') %}
        delete from {{ this }} as totals using {{ remapped_submissions_relation() }} as remapped
        where remapped.submission_id = totals.submission_id
          and remapped.remapped_at > coalesce(totals.summed_at, '-infinity')
        {% endif %}"""],
    post_hook=["create index if not exists int_submission_totals_submission on {{ this }} (submission_id)"]
) }}

-- depends_on: {{ ref('int_unit_placements') }}, {{ ref('int_units') }} (read by the pre-hook)
-- One row per submission × indicator: its counted figures summed over units and categories, on today's
-- province. A detail row (below a unit the file gives its own figure for) is not added: each unit counts once.
-- Incremental: a build sums the newly stored submissions and touches nothing else; everything above it
-- reads these rows instead of the unit-level ones. unit_map_version is the unit map that placed the rows
-- summed; a submission with rows on a unit a reference refresh moved since is summed again (the pre-hooks).
with submissions as (
    {{ new_accepted_submissions() }}
),

{% if is_incremental() %}
-- A few new files: their rows through raw's submission index, one file at a time (see the macro).
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
        bool_or(facts.is_remapped) as is_remapped,
        max(facts.unit_map_version) as unit_map_version,
        now() as summed_at
    from facts
    inner join submissions on submissions.submission_id = facts.submission_id
    where facts.is_counted is not false
    group by facts.submission_id, facts.province_code, facts.period_code, facts.indicator_code
)

select * from final
