-- One row per province × period that was expected (by the calendar in seeds/expected_submissions.csv)
-- or received (any file, whatever its status). current_submission_id is the version the marts count: the
-- latest accepted one, or while a check holds that one, the version published before it (if any).
with calendar as (
    select * from {{ ref('expected_submissions') }}
),

periods as (
    select * from {{ ref('dim_period') }}
),

provinces as (
    select
        unit_code as province_code,
        unit_name as province_name
    from {{ ref('dim_unit') }}
    where unit_level = 'province' and is_current
),

submissions as (
    select * from {{ ref('stg_ingest__submission') }}
),

expected as (
    select
        provinces.province_code,
        periods.period_code,
        periods.period_end + calendar.due_days as deadline
    from calendar
    inner join periods
        on
            periods.period_type = calendar.period_type
            and periods.period_start
            >= (
                select p.period_start from periods as p
                where p.period_code = calendar.since_period
            )
            and periods.period_start <= current_date
    cross join provinces
),

received as (
    select
        province_code,
        period_code,
        count(*) as files_received,
        count(*) filter (where status = 'rejected') as files_rejected,
        min(received_at) filter (where status in ('accepted', 'superseded')) as first_accepted_at,
        max(submission_id) filter (where status = 'accepted') as latest_submission_id
    from submissions
    where province_code is not null and period_code is not null
    group by province_code, period_code
),

counted as (
    select * from {{ ref('int_counted_submissions') }}
),

final as (
    select
        coalesce(expected.province_code, received.province_code) as province_code,
        coalesce(expected.period_code, received.period_code) as period_code,
        expected.province_code is not null as is_expected,
        expected.deadline,
        coalesce(received.files_received, 0) as files_received,
        coalesce(received.files_rejected, 0) as files_rejected,
        received.first_accepted_at,
        counted.version as current_version,
        counted.submission_id as current_submission_id,
        counted.file_name as current_file_name,
        counted.received_at as current_received_at,
        counted.sheet as current_sheet,
        case when counted.is_held then counted.latest_submission_id end as held_submission_id,
        case
            when counted.is_held then 'held'
            when counted.submission_id is not null then 'accepted'
            when received.files_received > 0 then 'rejected'
            when expected.deadline < current_date then 'missing'
            else 'not_yet_due'
        end as status,
        received.first_accepted_at is not null
        and (expected.deadline is null or received.first_accepted_at::date <= expected.deadline) as on_time
    from expected
    full outer join received
        on received.province_code = expected.province_code and received.period_code = expected.period_code
    left join counted on counted.latest_submission_id = received.latest_submission_id
)

select * from final
