-- The province figures (int_province_figures) with new_submission_ids: the counted submissions behind a
-- figure that the published marts do not count yet. The submission checks judge those figures and hold those
-- submissions. A view: every publish changes what is published, and the stored figures need not change.
with figures as (
    select * from {{ ref('int_province_figures') }}
),

unpublished as (
    select submission_id from {{ ref('int_counted_submissions') }}
    where submission_id is not null and not is_published
),

final as (
    select
        figures.province_code,
        figures.period_code,
        figures.indicator_code,
        figures.value,
        figures.numerator,
        figures.denominator,
        figures.units_reporting,
        figures.submission_id,
        array(
            select distinct behind.submission_id
            from unnest(figures.submission_ids) as behind (submission_id)
            where behind.submission_id in (select unpublished.submission_id from unpublished)
            order by behind.submission_id
        ) as new_submission_ids,
        figures.is_remapped,
        figures.source,
        figures.is_complete,
        figures.source_periods,
        figures.median_last_6,
        figures.periods_in_median
    from figures
)

select * from final
