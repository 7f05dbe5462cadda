{# The rows of `relation` that belong to the submissions listed in the CTE `submissions`, read one submission
   at a time through the relation's submission_id index. For an incremental build's few new files: joined as a
   set, the planner misjudges how many files are new and reads every row (47M at ten years). #}
{% macro rows_by_submission(relation, submissions) -%}
    select stored.*
    from {{ submissions }}
    cross join lateral (
        select * from {{ relation }} as stored_rows
        where stored_rows.submission_id = {{ submissions }}.submission_id
        offset 0
    ) as stored
{%- endmacro %}
