{#
  Every table dbt builds is analyzed at once (a post-hook of every model, dbt_project.yml): the quality gate
  queries the tables seconds after the build, before autovacuum has sampled them, and a planner without
  statistics guesses a few hundred rows where there are 170k (at national-10y the first gate's
  reconciliation chose nested loops over 35k x 170k rows and ran past 10 minutes instead of about 2).

  An incremental model is analyzed when it was made, not at each run that adds to it: a publish run replaces one
  province's rows of many, its statistics still describe the table (the planner scales their row counts to the
  table's size as it grows), and autovacuum samples it again once a tenth of it has changed. Analyzing
  int_submission_totals and int_province_figures at every run took 0.5-1 s of each publish, on its critical path.

  A model may name the columns its readers pick rows by (meta: analyze_columns): only theirs are sampled.
  mart_province_indicator's 28 columns took 0.26 s of every build, its keys 0.09 s; BI and the gate filter, join
  and group it by those (its analysts' copies are analyzed on the same ones: publishing/access.py, PICKED_BY).
#}
{% macro analyze_built() %}
    {%- set columns = (config.get('meta') or {}).get('analyze_columns') -%}
    {%- if config.get('materialized') == 'table' -%}
        analyze {{ this }}{% if columns %} ({{ columns | join(', ') }}){% endif %}
    {%- elif config.get('materialized') == 'incremental' -%}
        do $analyze$ begin
            if (
                select coalesce(last_analyze, last_autoanalyze) is null
                from pg_stat_user_tables where relid = '{{ this }}'::regclass
            ) then
                analyze {{ this }};
            end if;
        end $analyze$
    {%- endif -%}
{% endmacro %}
