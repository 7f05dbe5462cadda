{# The administrative map in force on a date: 'current' (34 provinces, 3,321 communes) from 2025-07-01,
   'legacy' (63 provinces) before. A period is on the map in force at its end, as in ingestion/periods.py. #}
{% macro unit_map_at(date_column) -%}
    case when {{ date_column }} >= date '2025-07-01' then 'current' else 'legacy' end
{%- endmacro %}
