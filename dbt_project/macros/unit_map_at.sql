{# The administrative map in force on a date: 'current' (34 provinces, 3,321 communes) from the reorganisation,
   'legacy' (63 provinces) before. A period is on the map in force at its end. The date has one home,
   ingestion/periods.py (REORGANISATION_DATE), which publishing/transform.py gives dbt as ANTQ_REORGANISATION_DATE
   (the var reorganisation_date of dbt_project.yml). #}
{% macro unit_map_at(date_column) -%}
    case when {{ date_column }} >= date '{{ var("reorganisation_date") }}' then 'current' else 'legacy' end
{%- endmacro %}
