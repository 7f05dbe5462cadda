{# Statistics for a table just filled in bulk (a first build of the fact store): without them the next build
   planned its "which submissions are new" check over 47M rows blind and took 54 s instead of 0.5 s. Costs one
   catalog look on every other build. #}
{% macro analyze_if_never_analyzed(relation) -%}
    do $$
    begin
        if exists (
            select 1 from pg_stat_user_tables
            where relid = '{{ relation }}'::regclass and last_analyze is null and last_autoanalyze is null
        ) then
            analyze {{ relation }};
        end if;
    end
    $$
{%- endmacro %}
