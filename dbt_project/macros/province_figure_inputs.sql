{# What a province's figures (int_province_figures) are made from, as one fingerprint per province: which
   submissions count and when each was summed (int_submission_totals sums a re-mapped submission again), the
   indicators' kinds, the periods and the model's own code. A province whose fingerprint is not the one stored
   with its figures has them made again; a change to this project's SQL elsewhere that changes the figures
   (not the totals, which are summed again on their own) wants `dbt build --full-refresh`. #}
{% macro province_figure_inputs() -%}
    select
        counted_totals.province_code,
        md5(
            (
                select md5(string_agg(concat_ws(':', indicators.indicator_code, indicators.kind), ','
                    order by indicators.indicator_code))
                from {{ ref('int_indicators') }} as indicators
            )
            || (
                select md5(string_agg(periods::text, ',' order by periods.period_code))
                from {{ ref('int_periods') }} as periods
            )
            || '{{ model.checksum.checksum }}'
            || string_agg(concat_ws('@', counted_totals.submission_id, counted_totals.summed_at), ','
                order by counted_totals.submission_id)
        ) as inputs_fingerprint
    from (
        select totals.province_code, totals.submission_id, max(totals.summed_at) as summed_at
        from {{ ref('int_submission_totals') }} as totals
        inner join {{ ref('int_counted_submissions') }} as counted on counted.submission_id = totals.submission_id
        group by totals.province_code, totals.submission_id
    ) as counted_totals
    group by counted_totals.province_code
{%- endmacro %}
