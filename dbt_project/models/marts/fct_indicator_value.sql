{{ config(materialized='view') }}

-- The unit-level facts of the submissions this build counts (fct_submission's current versions), read
-- from the fact store (a view over raw). A view, so a build never copies ten years of facts. On publishing, the
-- live view is re-pointed at `published.fct_indicator_value`, which holds only the published submissions'
-- facts (publishing/published_facts.py): BI never reads the fact store, where unpublished versions are kept too.
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
