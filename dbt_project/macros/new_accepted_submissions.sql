{# The accepted submissions an incremental model has not stored yet (all of them on a full build). #}
{% macro new_accepted_submissions() -%}
    select * from {{ ref('stg_ingest__submission') }} as submission
    where status = 'accepted'
    {% if is_incremental() %}
        and not exists (select 1 from {{ this }} as stored where stored.submission_id = submission.submission_id)
    {% endif %}
{%- endmacro %}
