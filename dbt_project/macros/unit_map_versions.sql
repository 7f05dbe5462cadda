{# Where a unit's figures count: today's unit and province (int_units). The fact store places each row when it
   is read; what copies placed rows (the per-submission totals, the published facts) records the version of
   the unit map that placed them (int_unit_placements keeps every version), so a reference refresh that moves
   a unit is found and those copies redone by the next build (record_remapped_submissions). #}

{# One text that changes whenever any unit's placement changes: the version's identity. #}
{% macro unit_map_fingerprint(units) -%}
    select md5(string_agg(concat_ws('|', unit_key, current_unit_key, current_province_code), ',' order by unit_key))
    from {{ units }}
{%- endmacro %}

{# The version of the unit map in force: the stored version whose placements are today's. #}
{% macro current_unit_map_version() -%}
    (select max(unit_map_version) from {{ ref('int_unit_placements') }}
     where fingerprint = ({{ unit_map_fingerprint(ref('int_units')) }}))
{%- endmacro %}

{# Submissions a build found re-mapped, and when: the totals (int_submission_totals) and the published copy of
   the facts (publishing/published_facts.py) redo those submissions. #}
{% macro remapped_submissions_relation() -%}
    {{ target.database }}.{{ env_var('ANTQ_INTERMEDIATE_SCHEMA') }}.remapped_submissions
{%- endmacro %}

{# Pre-hook of the totals: when some totals were summed under a version of the unit map other than today's,
   record the submissions summed with rows on a unit that version places elsewhere, then count every total as
   summed under today's version (those recorded are summed again; the others have nothing on a moved unit).
   The usual build (no new version): one look at the totals. A new version: one read of raw, keeping the rows
   of the moved units (62 s at national-10y). Totals summed before versions were recorded count as summed
   under the first. #}
{% macro record_remapped_submissions() -%}
    create table if not exists {{ remapped_submissions_relation() }} (
        submission_id bigint not null,
        unit_map_version integer not null,
        remapped_at timestamptz not null default now()
    );
    {% if execute and is_incremental() and 'unit_map_version' in adapter.get_columns_in_relation(this) | map(attribute='name') %}
    {% set earlier_versions %}
        select distinct coalesce(unit_map_version, 1) from {{ this }}
        where unit_map_version is distinct from {{ current_unit_map_version() }}
    {% endset %}
    {% if run_query(earlier_versions) | length > 0 %}
    -- The moved units as one array: a filter on the units the store joins, so raw is read once, whatever the
    -- planner guesses of how many units moved.
    insert into {{ remapped_submissions_relation() }} (submission_id, unit_map_version)
    select distinct facts.submission_id, {{ current_unit_map_version() }}
    from {{ ref('int_indicator_values') }} as facts
    where facts.unit_key = any(array(
        select placed.unit_key
        from {{ ref('int_unit_placements') }} as placed
        inner join {{ ref('int_unit_placements') }} as today
            on today.unit_key = placed.unit_key and today.unit_map_version = {{ current_unit_map_version() }}
        where placed.unit_map_version in ({{ earlier_versions }})
          and (placed.current_unit_key, placed.current_province_code)
              is distinct from (today.current_unit_key, today.current_province_code)
    ))
      and exists (select 1 from {{ this }} as totals where totals.submission_id = facts.submission_id);
    update {{ this }} set unit_map_version = {{ current_unit_map_version() }}
    where unit_map_version is distinct from {{ current_unit_map_version() }}
    {% endif %}
    {% endif %}
{%- endmacro %}
