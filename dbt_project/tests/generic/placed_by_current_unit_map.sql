{# Copied facts (the published ones) whose today's unit or province is not where the unit map now places their
   unit: a reference refresh moved the unit and no publish has copied them again yet. The next build and
   publish do (macro record_remapped_submissions, publishing/published_facts.py): the antq_publish DAG, or
   `python -m warehouse build` then `publish`. Compares each row with int_units directly, an independent
   second path to the versions the build compares. #}
{% test placed_by_current_unit_map(model, units) %}
select
    facts.unit_key,
    facts.current_unit_key as stored_current_unit_key,
    facts.province_code as stored_province_code,
    units.current_unit_key,
    units.current_province_code,
    count(*) as fact_rows,
    count(distinct facts.submission_id) as submissions
from {{ model }} as facts
inner join {{ units }} as units on units.unit_key = facts.unit_key
where (facts.current_unit_key, facts.province_code)
    is distinct from (units.current_unit_key, units.current_province_code)
group by 1, 2, 3, 4, 5
{% endtest %}
