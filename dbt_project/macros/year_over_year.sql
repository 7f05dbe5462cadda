{# The same figure a year earlier and the change: in percentage points for a ratio, in units and per cent
   for a count. `current` is the relation of this year's figure; `previous_value` and `previous_ratio_pct`
   are the value and ratio of the period a year earlier (null when there is none). #}
{% macro year_over_year(current, previous_value, previous_ratio_pct, measure) %}
        {{ previous_value }} as previous_year_value,
        {{ previous_ratio_pct }} as previous_year_ratio_pct,
        case when {{ measure }} = 'ratio' then {{ current }}.ratio_pct - {{ previous_ratio_pct }}
            else {{ current }}.value - {{ previous_value }} end as yoy_change,
        case when {{ measure }} = 'count' and {{ previous_value }} > 0
            then round(100.0 * ({{ current }}.value - {{ previous_value }}) / {{ previous_value }}, 1)
        end as yoy_change_pct
{%- endmacro %}
