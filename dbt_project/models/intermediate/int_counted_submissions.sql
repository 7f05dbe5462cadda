-- One row per province × period with an accepted file: which version this build counts. The rule is the
-- view ingest.submission_state's (core/migrations/0020), which the pipeline and the portal read too:
-- the latest accepted version counts unless a check holds it (a hold still open, or rejected on review);
-- then the version the published marts count keeps counting, so BI goes on seeing the last good figures
-- (none, if none was ever published). A confirmed hold no longer holds.
with submissions as (
    select * from {{ ref('stg_ingest__submission') }}
),

states as (
    select * from {{ ref('stg_ingest__submission_state') }}
),

latest as (
    select * from states
    where status = 'accepted'
),

counted as (
    select * from states
    where counts
),

final as (
    select
        counted.submission_id,
        latest.province_code,
        latest.period_code,
        submissions.period_type,
        submissions.period_start,
        submissions.period_end,
        submissions.unit_map,
        submissions.version,
        submissions.received_at,
        submissions.file_name,
        submissions.sheet,
        latest.submission_id as latest_submission_id,
        (latest.is_held or latest.is_refused_on_review) as is_held,
        coalesce(counted.is_published, false) as is_published
    from latest
    left join counted
        on
            counted.province_code = latest.province_code
            and counted.period_code = latest.period_code
    left join submissions on submissions.submission_id = counted.submission_id
)

select * from final
