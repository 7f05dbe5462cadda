{# Where a unit's figures count: today's unit and province (int_units). The fact store stores each row's
   placement and the version of the unit map that placed it (int_unit_placements keeps every version), so a
   reference refresh that moves a unit is found and its facts re-mapped by the next build (remap_facts). #}

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

{# Submissions whose facts a build re-mapped, and when: the totals above the fact store and the published
   copy of the facts (warehouse/copies.py) redo those submissions. #}
{% macro remapped_submissions_relation() -%}
    {{ target.database }}.{{ env_var('ANTQ_INTERMEDIATE_SCHEMA') }}.remapped_submissions
{%- endmacro %}

{# Pre-hook of the fact store: move the facts of every unit whose placement differs between the version that
   placed them and today's, and record their submissions. Nothing to move (the usual build): one look at the
   small placements table, no read of the fact store. Rows stored before versions were recorded count as
   placed by the first version. #}
{% macro remap_facts() -%}
    {% set moved %}
        select placed.unit_map_version as placed_by, placed.unit_key, today.current_unit_key,
               today.current_province_code, today.unit_map_version
        from {{ ref('int_unit_placements') }} as placed
        inner join {{ ref('int_unit_placements') }} as today
            on today.unit_key = placed.unit_key and today.unit_map_version = {{ current_unit_map_version() }}
        where placed.unit_map_version <> today.unit_map_version
          and (placed.current_unit_key, placed.current_province_code)
              is distinct from (today.current_unit_key, today.current_province_code)
    {% endset %}
    create table if not exists {{ remapped_submissions_relation() }} (
        submission_id bigint not null,
        unit_map_version integer not null,
        remapped_at timestamptz not null default now()
    );
    {% if execute and is_incremental() and run_query(moved ~ ' limit 1') | length > 0 %}
    with moved as ({{ moved }}),
    remapped as (
        update {{ this }} as facts
        set current_unit_key = moved.current_unit_key,
            province_code = moved.current_province_code,
            unit_map_version = moved.unit_map_version
        from moved
        where facts.unit_key = moved.unit_key and coalesce(facts.unit_map_version, 1) = moved.placed_by
        returning facts.submission_id, moved.unit_map_version
    )
    insert into {{ remapped_submissions_relation() }} (submission_id, unit_map_version)
    select distinct submission_id, unit_map_version from remapped
    {% endif %}
{%- endmacro %}
