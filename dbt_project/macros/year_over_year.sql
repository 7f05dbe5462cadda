{# The same figure a year earlier and the change: in percentage points for a ratio, in units and per cent
   for a count. `current` and `previous` are two aliases of the same relation, joined on the period a
   year earlier. #}
{% macro year_over_year(current, previous, measure) %}
        {{ previous }}.value as previous_year_value,
        {{ previous }}.ratio_pct as previous_year_ratio_pct,
        case when {{ measure }} = 'ratio' then {{ current }}.ratio_pct - {{ previous }}.ratio_pct
            else {{ current }}.value - {{ previous }}.value end as yoy_change,
        case when {{ measure }} = 'count' and {{ previous }}.value > 0
            then round(100.0 * ({{ current }}.value - {{ previous }}.value) / {{ previous }}.value, 1)
        end as yoy_change_pct
{%- endmacro %}
