{{ config(post_hook=[
        "create index on {{ this }} (period_code, indicator_code)"
]) }}

-- Computed from the facts, not from mart_province_indicator, so that the gate's reconciliation
-- (national = Σ provinces) compares two independent sums.
with facts as (
    select * from {{ ref('fct_indicator_value') }}
),

indicators as (
    select * from {{ ref('dim_indicator') }}
),

national as (
    select
        period_code,
        period_type,
        period_start,
        period_end,
        indicator_code,
        sum(value) as value,
        sum(numerator) as numerator,
        sum(denominator) as denominator,
        count(distinct province_code) as provinces_reporting
    from facts
    group by period_code, period_type, period_start, period_end, indicator_code
),

final as (
    select
        national.period_code,
        national.period_type,
        national.period_start,
        national.period_end,
        national.indicator_code,
        indicators.name_vi as indicator_name_vi,
        indicators.name_en as indicator_name_en,
        indicators.kind,
        indicators.measure,
        national.value,
        national.numerator,
        national.denominator,
        round(100.0 * national.numerator / nullif(national.denominator, 0), 2) as ratio_pct,
        national.provinces_reporting
    from national
    inner join indicators on indicators.indicator_code = national.indicator_code
)

select * from final
