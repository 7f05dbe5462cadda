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
    post_hook=[
        "drop index if exists {{ this.schema }}.int_submission_totals_submission",
        "create unique index if not exists int_submission_totals_key on {{ this }} (submission_id, indicator_code)"
    ]
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

-- One submission at a time, through raw's submission index, on a full build as on a few new files (joined
-- as a set, the planner misjudges how many files are new and reads every row): each submission's few
-- thousand rows are grouped in memory, per unit and then per indicator (subqueries: a CTE cannot read the
-- lateral submission), so counting its units needs no sort. At national-10y (49M rows) 205 s; grouping ten
-- years at once sorted every row in one process (the planner cannot know how many rows the store's join
-- keeps), in more than 8 minutes.
final as (
    select
        submissions.submission_id,
        totals.province_code,
        totals.period_code,
        totals.indicator_code,
        totals.value,
        totals.numerator,
        totals.denominator,
        totals.units_reporting,
        totals.is_remapped,
        totals.unit_map_version,
        now() as summed_at
    from submissions
    cross join lateral (  -- noqa: ST05
        select
            units.province_code,
            units.period_code,
            units.indicator_code,
            sum(units.value) as value,
            sum(units.numerator) as numerator,
            sum(units.denominator) as denominator,
            count(*) as units_reporting,
            bool_or(units.is_remapped) as is_remapped,
            max(units.unit_map_version) as unit_map_version
        from (
            select
                facts.province_code,
                facts.period_code,
                facts.indicator_code,
                sum(facts.value) as value,
                sum(facts.numerator) as numerator,
                sum(facts.denominator) as denominator,
                bool_or(facts.is_remapped) as is_remapped,
                max(facts.unit_map_version) as unit_map_version
            from {{ ref('int_indicator_values') }} as facts
            where facts.submission_id = submissions.submission_id and facts.is_counted is not false
            group by facts.province_code, facts.period_code, facts.indicator_code, facts.unit_key
        ) as units
        group by units.province_code, units.period_code, units.indicator_code
    ) as totals
)

select * from final
