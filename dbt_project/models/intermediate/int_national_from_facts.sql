{{ config(materialized='table') }}

-- The national figure computed a second way, from what each counted submission's unit-level rows add up
-- to rather than through the province marts and their roll-ups. The quality gate compares
-- mart_national_indicator with it for the periods no province rolled up.
with current_submissions as (
    select submission_id from {{ ref('int_counted_submissions') }}
    where submission_id is not null
),

totals as (
    select * from {{ ref('int_submission_totals') }}
)

select
    totals.period_code,
    totals.indicator_code,
    sum(totals.value) as value,
    sum(totals.numerator) as numerator,
    sum(totals.denominator) as denominator
from totals
inner join current_submissions on current_submissions.submission_id = totals.submission_id
group by totals.period_code, totals.indicator_code
