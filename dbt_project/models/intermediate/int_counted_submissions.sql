-- One row per province × period with an accepted file: which version this build counts. The rule lives
-- here and nowhere else. The latest accepted version counts unless a check holds it (a hold still open,
-- or rejected on review); then the version the published marts count keeps counting, so BI goes on
-- seeing the last good figures (none, if none was ever published). A confirmed hold no longer holds.
with submissions as (
    select * from {{ ref('stg_ingest__submission') }}
),

holds as (
    select * from {{ ref('stg_meta__hold') }}
),

publish_log as (
    select * from {{ ref('stg_meta__publish_log') }}
),

-- What the live marts count: the submissions of the latest publish or rollback.
published as (
    select distinct unnest(publish_log.submission_ids) as submission_id
    from publish_log
    where publish_log.publish_id = (select max(latest.publish_id) from publish_log as latest)
),

published_versions as (
    select
        submissions.province_code,
        submissions.period_code,
        submissions.submission_id
    from submissions
    inner join published on published.submission_id = submissions.submission_id
),

held as (
    select submission_id
    from holds
    where hold_status in ('open', 'rejected')
    group by submission_id
),

latest as (
    select * from submissions
    where status = 'accepted'
),

decided as (
    select
        latest.province_code,
        latest.period_code,
        latest.submission_id as latest_submission_id,
        held.submission_id is not null as is_held,
        case
            when held.submission_id is null then latest.submission_id
            else published_versions.submission_id
        end as submission_id
    from latest
    left join held on held.submission_id = latest.submission_id
    left join published_versions
        on
            published_versions.province_code = latest.province_code
            and published_versions.period_code = latest.period_code
),

final as (
    select
        decided.submission_id,
        decided.province_code,
        decided.period_code,
        counted.period_type,
        counted.period_start,
        counted.period_end,
        counted.unit_map,
        counted.version,
        counted.received_at,
        counted.file_name,
        counted.sheet,
        decided.latest_submission_id,
        decided.is_held,
        published.submission_id is not null as is_published
    from decided
    left join submissions as counted on counted.submission_id = decided.submission_id
    left join published on published.submission_id = decided.submission_id
)

select * from final
