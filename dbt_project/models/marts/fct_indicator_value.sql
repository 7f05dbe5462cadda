{{ config(post_hook=[
        "create index on {{ this }} (province_code, period_code)",
        "create index on {{ this }} (indicator_code, period_code)"
]) }}

with indicator_values as (
    select * from {{ ref('int_indicator_values_current') }}
),

units as (
    select * from {{ ref('dim_unit') }}
),

final as (
    select
        units.unit_key,
        units.current_unit_key,
        units.current_province_code as province_code,
        indicator_values.province_code as reported_province_code,
        units.unit_map = 'legacy' as is_remapped,
        indicator_values.period_code,
        indicator_values.period_type,
        indicator_values.period_start,
        indicator_values.period_end,
        indicator_values.indicator_code,
        indicator_values.category,
        indicator_values.value,
        indicator_values.numerator,
        indicator_values.denominator,
        indicator_values.submission_id,
        indicator_values.submission_version
    from indicator_values
    inner join units
        on units.unit_code = indicator_values.unit_code
        and units.unit_map = case when indicator_values.period_start >= date '2025-07-01' then 'current' else 'legacy' end
        and units.valid_from <= indicator_values.period_end
        and (units.valid_to is null or units.valid_to >= indicator_values.period_end)
)

select * from final
