{{ config(materialized='table') }}

-- Every reporting period from 2010 to 2035, with the periods it rolls up into and the same period a year
-- earlier (for year-over-year change).
with months as (
    select month_start::date as month_start
    from generate_series(date '2010-01-01', date '2035-12-01', interval '1 month') as month_start
),

month_parts as (
    select
        month_start,
        extract(year from month_start)::int as year,
        extract(month from month_start)::int as month,
        extract(quarter from month_start)::int as quarter,
        case when extract(month from month_start) <= 6 then 1 else 2 end as half
    from months
),

periods as (
    select distinct
        'month' as period_type,
        to_char(month_start, 'YYYY-MM') as period_code,
        month_start as period_start,
        (month_start + interval '1 month' - interval '1 day')::date as period_end,
        year,
        month,
        quarter,
        half
    from month_parts
    union all
    select distinct
        'quarter',
        year || '-Q' || quarter,
        make_date(year, quarter * 3 - 2, 1),
        (make_date(year, quarter * 3 - 2, 1) + interval '3 months' - interval '1 day')::date,
        year,
        null::int,
        quarter,
        half
    from month_parts
    union all
    select distinct
        'half_year',
        year || '-H' || half,
        make_date(year, half * 6 - 5, 1),
        (make_date(year, half * 6 - 5, 1) + interval '6 months' - interval '1 day')::date,
        year,
        null::int,
        null::int,
        half
    from month_parts
    union all
    select distinct
        'year',
        year::text,
        make_date(year, 1, 1),
        make_date(year, 12, 31),
        year,
        null::int,
        null::int,
        null::int
    from month_parts
),

final as (
    select
        period_code,
        period_type,
        period_start,
        period_end,
        (period_end - period_start + 1) as days,
        case period_type when 'month' then 1 when 'quarter' then 3 when 'half_year' then 6 else 12 end as months,
        year,
        half,
        quarter,
        month,
        case when period_type = 'month' then year || '-Q' || quarter end as quarter_code,
        case when period_type in ('month', 'quarter') then year || '-H' || half end as half_year_code,
        case when period_type <> 'year' then year::text end as year_code,
        case period_type
            when 'month' then (year - 1) || '-' || lpad(month::text, 2, '0')
            when 'quarter' then (year - 1) || '-Q' || quarter
            when 'half_year' then (year - 1) || '-H' || half
            else (year - 1)::text
        end as previous_year_period_code,
        {{ unit_map_at('period_end') }} = 'current' as on_current_map
    from periods
)

select * from final
