{#
  Every table dbt builds is analyzed at once (a post-hook of every model, dbt_project.yml): the quality gate
  queries the tables seconds after the build, before autovacuum has sampled them, and a planner without
  statistics guesses a few hundred rows where there are 170k (at national-10y the first gate's
  reconciliation chose nested loops over 35k x 170k rows and ran past 10 minutes instead of about 2).
#}
{% macro analyze_built() %}
    {%- if config.get('materialized') in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- endif -%}
{% endmacro %}
