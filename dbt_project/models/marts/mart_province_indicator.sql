{{ config(post_hook=[
        "create index on {{ this }} (indicator_code, period_code)",
        "create index on {{ this }} (province_code, indicator_code)"
]) }}

-- Categories are summed into the indicator total; a ratio is Σ numerator / Σ denominator. median_last_6 is
-- the province's own recent history (int_province_indicator_periods), which the outlier check compares with.
with province_values as (
    select * from {{ ref('int_province_indicator_periods') }}
),

indicators as (
    select * from {{ ref('dim_indicator') }}
),

periods as (
    select * from {{ ref('dim_period') }}
),

provinces as (
    select * from {{ ref('dim_unit') }}
    where unit_level = 'province' and is_current
),

with_periods as (
    select
        province_values.*,
        periods.period_type,
        periods.period_start,
        periods.period_end,
        periods.previous_year_period_code,
        round(100.0 * province_values.numerator / nullif(province_values.denominator, 0), 2) as ratio_pct
    from province_values
    inner join periods on periods.period_code = province_values.period_code
),

final as (
    select
        current_year.province_code,
        provinces.unit_name as province_name,
        current_year.period_code,
        current_year.period_type,
        current_year.period_start,
        current_year.period_end,
        current_year.indicator_code,
        indicators.name_vi as indicator_name_vi,
        indicators.name_en as indicator_name_en,
        indicators.kind,
        indicators.measure,
        current_year.value,
        current_year.numerator,
        current_year.denominator,
        current_year.ratio_pct,
        {{ year_over_year('current_year', 'previous_year', 'indicators.measure') }},
        rank() over (
            partition by current_year.period_code, current_year.indicator_code
            order by coalesce(current_year.ratio_pct, current_year.value) desc nulls last
        ) as province_rank,
        current_year.source,
        current_year.source_periods,
        current_year.is_complete,
        current_year.is_remapped,
        current_year.units_reporting,
        current_year.submission_id,
        current_year.median_last_6,
        current_year.periods_in_median
    from with_periods as current_year
    inner join indicators on indicators.indicator_code = current_year.indicator_code
    left join provinces on provinces.unit_code = current_year.province_code
    left join with_periods as previous_year
        on
            previous_year.province_code = current_year.province_code
            and previous_year.indicator_code = current_year.indicator_code
            and previous_year.period_code = current_year.previous_year_period_code
)

select * from final
