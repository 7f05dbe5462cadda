{#
    One of the registry's functions (core/migrations/0024: submission_status_until, submission_state_until)
    called at the horizon of the publish run under way (meta.build_horizon, set by warehouse/pipeline.py as the
    run begins; none: the registry today): every model and check of one run reads the same submissions,
    whatever arrives meanwhile.
#}
{% macro at_horizon(function) -%}
{{ source('ingest', 'submission_state').schema }}.{{ function }}(
    (select horizon from {{ source('meta', 'build_horizon') }})
)
{%- endmacro %}
