{{ config(materialized='table') }}

-- The national figure computed a second way, straight from the unit-level facts, for the periods every
-- province submitted as such (no roll-ups). The quality gate compares mart_national_indicator with it.
with facts as (
    select * from {{ ref('fct_indicator_value') }}
)

select
    period_code,
    indicator_code,
    sum(value) as value,
    sum(numerator) as numerator,
    sum(denominator) as denominator
from facts
group by period_code, indicator_code
