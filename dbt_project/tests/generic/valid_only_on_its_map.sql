{# Units valid on a day of the other map (unit_map_at): the fact store finds a row's unit by its code and the
   period's end alone, so the validity of a unit must say its map. #}
{% test valid_only_on_its_map(model) %}
select unit_key, unit_map, valid_from, valid_to
from {{ model }}
where unit_map <> {{ unit_map_at('valid_from') }}
   or unit_map <> {{ unit_map_at("coalesce(valid_to, 'infinity'::date)") }}
{% endtest %}
