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
        -- each submission's totals in one row first, then the counted ones: joined first, the 26 rows of each of
        -- the 7,000 counted submissions were sorted to be grouped (0.19 s at national-10y, twice a publish; 0.09 s)
        select totals.province_code, totals.submission_id, totals.summed_at
        from (
            select province_code, submission_id, max(summed_at) as summed_at
            from {{ ref('int_submission_totals') }}
            group by province_code, submission_id
        ) as totals
        inner join {{ ref('int_counted_submissions') }} as counted on counted.submission_id = totals.submission_id
    ) as counted_totals
    group by counted_totals.province_code
{%- endmacro %}
