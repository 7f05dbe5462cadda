{{ config(materialized='view') }}

-- One row per published province figure × fact row it is made of: which file, version, sheet and row,
-- which unit (legacy units with the current unit they map to), and the value each row adds. The rows of a
-- figure add up to it exactly: the counted rows of the counted submissions of the periods it is made of
-- (itself if submitted; its parts if rolled up: every part for a flow, the last one for a stock). A view,
-- like fct_indicator_value, which it reads, never copying the facts. It reads only relations of its own
-- schema: a staging view is replaced at every build, and dropping the old one would drop a published view
-- that reads it; and each province's analysts get this view re-created over their own copies.
with figures as (
    select * from {{ ref('mart_province_indicator') }}
),

facts as (
    select * from {{ ref('fct_indicator_value') }}
),

submissions as (
    select * from {{ ref('fct_submission') }}
),

units as (
    select * from {{ ref('dim_unit') }}
)

select
    figures.province_code,
    figures.period_code,
    figures.indicator_code,
    figures.source as figure_source,
    facts.period_code as row_period_code,
    facts.submission_id,
    submissions.current_file_name as file_name,
    submissions.current_version as submission_version,
    submissions.current_received_at as received_at,
    submissions.current_sheet as sheet,
    facts.source_row,
    facts.unit_key,
    facts.unit_level,
    units.unit_name,
    facts.is_remapped,
    facts.current_unit_key,
    facts.category,
    facts.value,
    facts.numerator,
    facts.denominator
from figures
cross join unnest(figures.source_periods) as part (period_code)
inner join facts
    on
        facts.province_code = figures.province_code
        and facts.period_code = part.period_code
        and facts.indicator_code = figures.indicator_code
inner join submissions on submissions.current_submission_id = facts.submission_id
left join units on units.unit_key = facts.unit_key
where facts.is_counted is not false
