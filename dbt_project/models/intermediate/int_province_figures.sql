{{ config(
    materialized='incremental',
    on_schema_change='sync_all_columns',
    pre_hook=["""
        {% if is_incremental() %}
        delete from {{ this }} as stored
        where not exists (
            select 1 from ({{ province_figure_inputs() }}) as inputs
            where inputs.province_code = stored.province_code and inputs.inputs_fingerprint = stored.inputs_fingerprint
        )
        {% endif %}"""],
    post_hook=[
        "create unique index if not exists int_province_figures_key on {{ this }}"
        " (province_code, indicator_code, period_code)"
    ]
) }}

-- One row per province × indicator × period: the period as submitted, or rolled up from the finer periods
-- the province submitted. Flows are summed over all parts; stocks (ratios included) are taken from the
-- last part, never summed over time. A rolled-up value is complete only when the parts it needs are there.
-- Built from the submissions this build counts (int_counted_submissions); submission_ids names them all.
-- Stored per province and made again only for a province whose inputs changed (macro province_figure_inputs:
-- its counted submissions, their totals, the indicators' kinds, the periods, this model's code): the pre-hook
-- deletes such a province's rows and the select adds them. One resubmission then costs its province, not the
-- 170,612 figures of ten years (5.9 s at national-10y, on the critical path of every build). Whether a figure
-- is published yet is not stored here (int_province_indicator_periods): every publish would change it.
with inputs as (
    {{ province_figure_inputs() }}
),

changed as (
    select
        inputs.province_code,
        inputs.inputs_fingerprint
    from inputs
    {% if is_incremental() %}
    where
        not exists (
            select 1 from {{ this }} as stored
            where stored.province_code = inputs.province_code
        )
    {% endif %}
),

counted as (
    select * from {{ ref('int_counted_submissions') }}
    where submission_id is not null
),

totals as (
    select * from {{ ref('int_submission_totals') }}
),

indicators as (
    select * from {{ ref('int_indicators') }}
),

periods as (
    select * from {{ ref('int_periods') }}
),

-- Before 2025-07 several legacy provinces may make up one of today's: their submissions add up.
submitted as (
    select
        totals.province_code,
        totals.period_code,
        totals.indicator_code,
        sum(totals.value) as value,
        sum(totals.numerator) as numerator,
        sum(totals.denominator) as denominator,
        sum(totals.units_reporting) as units_reporting,
        max(totals.submission_id) as submission_id,
        array_agg(totals.submission_id order by totals.submission_id) as submission_ids,
        bool_or(totals.is_remapped) as is_remapped
    from totals
    inner join counted on counted.submission_id = totals.submission_id
    inner join changed on changed.province_code = totals.province_code
    group by totals.province_code, totals.period_code, totals.indicator_code
),

parts as not materialized (
    select
        submitted.*,
        part.period_type as part_type,
        part.period_start as part_start,
        part.period_end as part_end,
        part.months as part_months,
        target.period_code as target_code,
        target.period_end as target_end,
        target.months as target_months
    from submitted
    inner join periods as part on part.period_code = submitted.period_code
    inner join periods as target
        on target.period_code in (part.quarter_code, part.half_year_code, part.year_code)
),

rolled_up as (
    select
        parts.province_code,
        parts.target_code as period_code,
        parts.indicator_code,
        parts.part_type,
        case
            when indicators.kind = 'flow' then sum(parts.value)
            else (array_agg(parts.value order by parts.part_start desc))[1]
        end as value,
        case
            when indicators.kind = 'flow' then sum(parts.numerator)
            else (array_agg(parts.numerator order by parts.part_start desc))[1]
        end as numerator,
        case
            when indicators.kind = 'flow' then sum(parts.denominator)
            else (array_agg(parts.denominator order by parts.part_start desc))[1]
        end as denominator,
        max(parts.units_reporting) as units_reporting,
        max(parts.submission_id) as submission_id,
        -- Every part's submissions, in the same pass (unnested and grouped again, they took a second sort of
        -- 550k rows at national-10y); a submission behind two parts appears twice.
        string_to_array(
            string_agg(array_to_string(parts.submission_ids, ','), ','), ','
        )::bigint[] as submission_ids,  -- noqa: LT01
        bool_or(parts.is_remapped) as is_remapped,
        case
            when indicators.kind = 'flow' then sum(parts.part_months) = max(parts.target_months)
            else max(parts.part_end) = max(parts.target_end)
        end as is_complete,
        case
            when indicators.kind = 'flow' then array_agg(parts.period_code order by parts.part_start)
            else array[(array_agg(parts.period_code order by parts.part_start desc))[1]]
        end as source_periods
    from parts
    inner join indicators on indicators.indicator_code = parts.indicator_code
    group by parts.province_code, parts.target_code, parts.indicator_code, parts.part_type, indicators.kind
),

candidates as (
    select
        province_code,
        period_code,
        indicator_code,
        value,
        numerator,
        denominator,
        units_reporting,
        submission_id,
        submission_ids,
        is_remapped,
        'submitted' as source,
        true as is_complete,
        array[period_code] as source_periods,
        0 as preference
    from submitted
    union all
    select
        rolled_up.province_code,
        rolled_up.period_code,
        rolled_up.indicator_code,
        rolled_up.value,
        rolled_up.numerator,
        rolled_up.denominator,
        rolled_up.units_reporting,
        rolled_up.submission_id,
        rolled_up.submission_ids,
        rolled_up.is_remapped,
        'rolled_up_from_' || rolled_up.part_type,
        rolled_up.is_complete,
        rolled_up.source_periods,
        case rolled_up.part_type when 'half_year' then 1 when 'quarter' then 2 else 3 end
    from rolled_up
),

-- One candidate per province × period × indicator: the submitted figure, else the finest roll-up. The period's
-- attributes are joined before picking: joined after a row_number() filter, the planner expected ~300 rows
-- (there are 170,000 at ten years) and compared every row with every period (84M comparisons, 20 s a build).
picked as (
    select distinct on (candidates.province_code, candidates.period_code, candidates.indicator_code)
        candidates.province_code,
        candidates.period_code,
        candidates.indicator_code,
        candidates.value,
        candidates.numerator,
        candidates.denominator,
        candidates.units_reporting,
        candidates.submission_id,
        candidates.submission_ids,
        candidates.is_remapped,
        candidates.source,
        candidates.is_complete,
        candidates.source_periods,
        periods.period_type,
        periods.period_start,
        periods.on_current_map
    from candidates
    inner join periods on periods.period_code = candidates.period_code
    order by candidates.province_code, candidates.period_code, candidates.indicator_code, candidates.preference
),

-- The province's own recent history: the values of its last 6 periods of the same type before this one,
-- on the same map. The 2025 reorganisation merged ~10,000 communes into 3,321, so counts made per commune
-- (steering committees, communes without drug users) fell by two thirds at once: comparing across it would
-- call every province an outlier. A period belongs to the map in force at its end.
with_history as (
    select
        picked.*,
        array_agg(picked.value) over (
            partition by picked.province_code, picked.indicator_code, picked.period_type, picked.on_current_map
            order by picked.period_start
            rows between 6 preceding and 1 preceding
        ) as last_6_values
    from picked
),

final as (
    select
        with_history.province_code,
        with_history.period_code,
        with_history.indicator_code,
        with_history.value,
        with_history.numerator,
        with_history.denominator,
        with_history.units_reporting,
        with_history.submission_id,
        with_history.submission_ids,
        with_history.is_remapped,
        with_history.source,
        with_history.is_complete,
        with_history.source_periods,
        history.median_last_6,
        history.periods_in_median,
        changed.inputs_fingerprint
    from with_history
    inner join changed on changed.province_code = with_history.province_code
    cross join lateral (
        select
            percentile_cont(0.5) within group (order by previous.value) as median_last_6,
            count(previous.value) as periods_in_median
        from unnest(with_history.last_6_values) as previous (value)
    ) as history
)

select * from final
