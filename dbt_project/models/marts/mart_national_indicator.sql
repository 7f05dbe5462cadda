{{ config(post_hook=["create index on {{ this }} (period_code, indicator_code)"]) }}

-- The country as the sum of its provinces for every period, submitted or rolled up, published as soon as one
-- province is in. Final only when every expected province is counted or closed by the data team
-- (meta.period_closure: who, when, why), no hold is open for the period or a period inside it, and the
-- period has ended (a year rolled up from its months so far is not final); provisional otherwise, however
-- long past its deadline. The gate checks it
-- twice: against Σ mart_province_indicator, and, for periods every province submitted as such, against
-- the unit-level facts. is_complete says whether every province the period's map expects is in it, whole:
-- province analysts see only such figures (publishing/access.py), which no subtraction breaks into provinces.
with province_values as (
    select * from {{ ref('int_province_figures') }}
),

indicators as (
    select * from {{ ref('dim_indicator') }}
),

periods as (
    select * from {{ ref('dim_period') }}
),

closures as (
    select * from {{ ref('stg_meta__period_closure') }}
),

states as (
    select * from {{ ref('stg_ingest__submission_state') }}
),

submissions as (
    select * from {{ ref('stg_ingest__submission') }}
),

units as (
    select * from {{ ref('dim_unit') }}
),

expected as (
    select count(*) as provinces_expected
    from units
    where unit_level = 'province' and is_current
),

-- Before 2025-07 several legacy provinces may make up one of today's (int_province_figures adds up their
-- submissions): today's province is then whole for a period only if each of them sent it.
legacy_provinces as (
    select
        current_province_code as province_code,
        count(*) as legacy_provinces
    from units
    where unit_level = 'province' and unit_map = 'legacy'
    group by current_province_code
),

-- Each set of submissions a remapped figure adds up, judged once (many figures share one: every indicator of
-- a province's month): the legacy periods it has parts in, and the legacy province x period parts it holds.
-- A set holds only its own province's legacy provinces, so a figure lacks one of them in some part exactly
-- when its set holds fewer than parts x legacy_provinces. Judged per set, not per figure's unnested
-- submissions: 5.5k sets against 675k rows at national-10y (this model: 0.5 s, was 1.8 s).
part_sets as (
    select distinct submission_ids
    from province_values
    where is_remapped
),

part_set_sent as (
    select
        part_sets.submission_ids,
        count(distinct submissions.period_code) as parts,
        count(distinct submissions.period_code || ' ' || submissions.province_code) as parts_sent
    from part_sets
    cross join lateral unnest(part_sets.submission_ids) as parts (submission_id)
    inner join submissions on submissions.submission_id = parts.submission_id
    where submissions.unit_map = 'legacy'
    group by part_sets.submission_ids
),

parts_short as (
    select
        province_values.period_code,
        province_values.indicator_code,
        count(*) as parts_short
    from province_values
    inner join part_set_sent on part_set_sent.submission_ids = province_values.submission_ids
    inner join legacy_provinces on legacy_provinces.province_code = province_values.province_code
    where
        province_values.is_remapped
        and part_set_sent.parts_sent < part_set_sent.parts * legacy_provinces.legacy_provinces
    group by province_values.period_code, province_values.indicator_code
),

national as (
    select
        period_code,
        indicator_code,
        sum(value) as value,
        sum(numerator) as numerator,
        sum(denominator) as denominator,
        count(*) as provinces_reporting,
        count(*) filter (where is_complete) as provinces_complete,
        count(*) filter (where source <> 'submitted') as provinces_rolled_up,
        count(*) filter (where is_remapped) as provinces_remapped
    from province_values
    group by period_code, indicator_code
),

-- Provinces the data team closed the period for that have no figure of the indicator in it.
closed as (
    select
        national.period_code,
        national.indicator_code,
        count(*) as provinces_closed
    from national
    inner join closures on closures.period_code = national.period_code
    where
        not exists (
            select from province_values
            where
                province_values.period_code = national.period_code
                and province_values.indicator_code = national.indicator_code
                and province_values.province_code = closures.province_code
        )
    group by national.period_code, national.indicator_code
),

-- Provinces with a hold open on a submission of the period or of a period inside it (a month of a quarter):
-- the held submissions first (a few), then the periods they fall in.
held_submissions as materialized (
    select
        submissions.province_code,
        submissions.period_start,
        submissions.period_end
    from states
    inner join submissions on submissions.submission_id = states.submission_id
    where states.is_held
),

held as (
    select
        periods.period_code,
        count(distinct held_submissions.province_code) as provinces_held
    from held_submissions
    inner join periods
        on
            held_submissions.period_start >= periods.period_start
            and held_submissions.period_end <= periods.period_end
    group by periods.period_code
),

with_periods as (
    select
        national.*,
        periods.period_type,
        periods.period_start,
        periods.period_end,
        periods.previous_year_period_code,
        round(100.0 * national.numerator / nullif(national.denominator, 0), 2) as ratio_pct,
        expected.provinces_expected,
        (
            national.provinces_complete >= expected.provinces_expected and parts_short.parts_short is null
        ) as is_complete,
        coalesce(closed.provinces_closed, 0) as provinces_closed,
        coalesce(held.provinces_held, 0) as provinces_held,
        case
            when
                national.provinces_reporting + coalesce(closed.provinces_closed, 0) >= expected.provinces_expected
                and held.provinces_held is null
                and periods.period_end < current_date
                then 'final'
            else 'provisional'
        end as publication_status
    from national
    inner join periods on periods.period_code = national.period_code
    cross join expected
    left join parts_short
        on parts_short.period_code = national.period_code and parts_short.indicator_code = national.indicator_code
    left join closed
        on closed.period_code = national.period_code and closed.indicator_code = national.indicator_code
    left join held on held.period_code = national.period_code
),

final as (
    select
        current_year.period_code,
        current_year.period_type,
        current_year.period_start,
        current_year.period_end,
        current_year.indicator_code,
        indicators.name_vi as indicator_name_vi,
        indicators.name_en as indicator_name_en,
        indicators.kind,
        indicators.measure,
        current_year.value,
        current_year.numerator,
        current_year.denominator,
        current_year.ratio_pct,
        {{ year_over_year('current_year', 'previous_year.value', 'previous_year.ratio_pct', 'indicators.measure') }},
        current_year.provinces_reporting,
        current_year.provinces_expected,
        current_year.publication_status,
        current_year.provinces_closed,
        current_year.provinces_held,
        current_year.provinces_complete,
        current_year.provinces_rolled_up,
        current_year.provinces_remapped,
        current_year.is_complete,
        coalesce(previous_year.is_complete, false) as previous_year_is_complete
    from with_periods as current_year
    inner join indicators on indicators.indicator_code = current_year.indicator_code
    left join with_periods as previous_year
        on
            previous_year.indicator_code = current_year.indicator_code
            and previous_year.period_code = current_year.previous_year_period_code
)

select * from final
