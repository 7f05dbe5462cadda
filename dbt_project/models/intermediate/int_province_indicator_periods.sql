-- The province figures (int_province_figures) with new_submission_ids: the counted submissions behind a
-- figure that the published marts do not count yet. The submission checks judge those figures and hold those
-- submissions. A view: every publish changes what is published, and the stored figures need not change.
-- Not materialized: read twice, a materialized CTE has no statistics, and the planner took the 106,080 new
-- figures of a first build for 284. The gate's reconciliation then joined them with their sums in a nested
-- loop (106k × 106k comparisons: over 17 minutes at national-10y instead of one).
with figures as not materialized (
    select * from {{ ref('int_province_figures') }}
),

unpublished as (
    select submission_id from {{ ref('int_counted_submissions') }}
    where submission_id is not null and not is_published
),

-- One join of every figure's submissions with the unpublished ones. Filtered row by row (a subquery per
-- figure), the planner read int_counted_submissions again for each of 170,612 figures: the first submission
-- checks at national-10y ran 53 minutes instead of 3.
new_behind as (
    select
        figures.province_code,
        figures.period_code,
        figures.indicator_code,
        array_agg(distinct behind.submission_id order by behind.submission_id) as new_submission_ids
    from figures
    cross join unnest(figures.submission_ids) as behind (submission_id)
    inner join unpublished on unpublished.submission_id = behind.submission_id
    group by figures.province_code, figures.period_code, figures.indicator_code
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
        coalesce(new_behind.new_submission_ids, '{}') as new_submission_ids,
        figures.is_remapped,
        figures.source,
        figures.is_complete,
        figures.source_periods,
        figures.median_last_6,
        figures.periods_in_median
    from figures
    left join new_behind
        on
            new_behind.province_code = figures.province_code
            and new_behind.period_code = figures.period_code
            and new_behind.indicator_code = figures.indicator_code
)

select * from final
