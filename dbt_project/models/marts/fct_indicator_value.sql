{{ config(
    materialized='view',
    post_hook=["alter view {{ this }} set (security_barrier = true)"]
) }}

-- The unit-level facts of the submissions this build counts (fct_submission's current versions), read
-- from the append-only fact store. A view, so a build never copies ten years of facts: the published
-- version keeps pointing at the submissions it was checked with, whatever is added to the store later.
-- Being a view, it applies the province analysts' row rule itself (tables get it as row-level security).
with facts as (
    select * from {{ ref('int_indicator_values') }}
),

current_submissions as (
    select current_submission_id as submission_id from {{ ref('fct_submission') }}
    where current_submission_id is not null
)

select facts.*
from facts
inner join current_submissions on current_submissions.submission_id = facts.submission_id
where {{ visible_to_current_user('facts.province_code') }}
