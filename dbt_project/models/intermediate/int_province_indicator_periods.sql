{{ config(materialized='table') }}

-- One row per province × indicator × period: the period as submitted, or rolled up from the finer periods
-- the province submitted. Flows are summed over all parts; stocks (ratios included) are taken from the
-- last part, never summed over time. A rolled-up value is complete only when the parts it needs are there.
with current_submissions as (
    select submission_id from {{ ref('stg_ingest__submission') }}
    where status = 'accepted'
),

totals as (
    select * from {{ ref('int_submission_totals') }}
),

indicators as (
    select * from {{ ref('dim_indicator') }}
),

periods as (
    select * from {{ ref('dim_period') }}
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
        bool_or(totals.is_remapped) as is_remapped
    from totals
    inner join current_submissions on current_submissions.submission_id = totals.submission_id
    group by totals.province_code, totals.period_code, totals.indicator_code
),

parts as (
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
        case when indicators.kind = 'flow' then sum(parts.value)
            else (array_agg(parts.value order by parts.part_start desc))[1] end as value,
        case when indicators.kind = 'flow' then sum(parts.numerator)
            else (array_agg(parts.numerator order by parts.part_start desc))[1] end as numerator,
        case when indicators.kind = 'flow' then sum(parts.denominator)
            else (array_agg(parts.denominator order by parts.part_start desc))[1] end as denominator,
        max(parts.units_reporting) as units_reporting,
        max(parts.submission_id) as submission_id,
        bool_or(parts.is_remapped) as is_remapped,
        case when indicators.kind = 'flow' then sum(parts.part_months) = max(parts.target_months)
            else max(parts.part_end) = max(parts.target_end) end as is_complete
    from parts
    inner join indicators on indicators.indicator_code = parts.indicator_code
    group by parts.province_code, parts.target_code, parts.indicator_code, parts.part_type, indicators.kind
),

candidates as (
    select
        province_code, period_code, indicator_code, value, numerator, denominator, units_reporting,
        submission_id, is_remapped, 'submitted' as source, true as is_complete, 0 as preference
    from submitted
    union all
    select
        province_code, period_code, indicator_code, value, numerator, denominator, units_reporting,
        submission_id, is_remapped, 'rolled_up_from_' || part_type, is_complete,
        case part_type when 'half_year' then 1 when 'quarter' then 2 else 3 end
    from rolled_up
),

ranked as (
    select
        candidates.*,
        row_number() over (
            partition by province_code, period_code, indicator_code order by preference
        ) as pick
    from candidates
),

final as (
    select
        province_code, period_code, indicator_code, value, numerator, denominator, units_reporting,
        submission_id, is_remapped, source, is_complete
    from ranked
    where pick = 1
)

select * from final
