{{ config(post_hook=[
        "create index on {{ this }} (indicator_code, period_code)",
        "create index on {{ this }} (province_code, indicator_code)"
]) }}

-- Categories are summed into the indicator total; a ratio is Σ numerator / Σ denominator.
with facts as (
    select * from {{ ref('fct_indicator_value') }}
),

indicators as (
    select * from {{ ref('dim_indicator') }}
),

provinces as (
    select * from {{ ref('dim_unit') }}
    where unit_level = 'province' and is_current
),

by_province as (
    select
        province_code,
        period_code,
        period_type,
        period_start,
        indicator_code,
        sum(value) as value,
        sum(numerator) as numerator,
        sum(denominator) as denominator,
        count(distinct unit_key) as units_reporting,
        max(submission_id) as submission_id
    from facts
    group by province_code, period_code, period_type, period_start, indicator_code
),

final as (
    select
        by_province.province_code,
        provinces.unit_name as province_name,
        by_province.period_code,
        by_province.period_type,
        by_province.period_start,
        by_province.indicator_code,
        indicators.name_vi as indicator_name_vi,
        indicators.name_en as indicator_name_en,
        indicators.kind,
        indicators.measure,
        by_province.value,
        by_province.numerator,
        by_province.denominator,
        round(100.0 * by_province.numerator / nullif(by_province.denominator, 0), 2) as ratio_pct,
        by_province.units_reporting,
        by_province.submission_id
    from by_province
    inner join indicators on indicators.indicator_code = by_province.indicator_code
    left join provinces on provinces.unit_code = by_province.province_code
)

select * from final
