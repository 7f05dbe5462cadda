{{ config(
    post_hook=[
        "create index on {{ this }} (indicator_code, period_code)",
        "create index on {{ this }} (province_code, indicator_code)"
    ],
    meta={'analyze_columns': [
        'province_code', 'period_code', 'period_type', 'period_start', 'indicator_code', 'is_complete', 'source'
    ]}
) }}

-- Categories are summed into the indicator total; a ratio is Σ numerator / Σ denominator. median_last_6 is
-- the province's own recent history (int_province_figures), which the outlier check compares with.
with province_values as (
    select * from {{ ref('int_province_figures') }}
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

-- The figure a year earlier (dim_period's previous_year_period_code) is the row before in the province's
-- periods of the same type starting in the same month, when that row is the one a year earlier (a missing
-- year leaves it null): a window over one sort, where a join with itself sorted both sides (1.1 s of 3.7 s at
-- national-10y, 170,000 rows).
with_previous as (
    select
        with_periods.*,
        case
            when lag(with_periods.period_code) over by_year = with_periods.previous_year_period_code
                then lag(with_periods.value) over by_year
        end as previous_year_value,
        case
            when lag(with_periods.period_code) over by_year = with_periods.previous_year_period_code
                then lag(with_periods.ratio_pct) over by_year
        end as previous_year_ratio_pct
    from with_periods
    window by_year as (
        partition by
            with_periods.province_code,
            with_periods.indicator_code,
            with_periods.period_type,
            extract(month from with_periods.period_start)
        order by with_periods.period_start
    )
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
        {{ year_over_year(
            'current_year', 'current_year.previous_year_value', 'current_year.previous_year_ratio_pct',
            'indicators.measure'
        ) }},
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
    from with_previous as current_year
    inner join indicators on indicators.indicator_code = current_year.indicator_code
    left join provinces on provinces.unit_code = current_year.province_code
)

select * from final
