-- Every submission the publish run under way counts with, with its status as it stood at the run's horizon
-- (macros/at_horizon.sql): a later one is left out, and a version it superseded is accepted again.
with source as (
    select
        submissions.*,
        at_horizon.status as status_at_horizon
    from {{ source('ingest', 'submission') }} as submissions
    inner join {{ at_horizon('submission_status_until') }} as at_horizon
        on at_horizon.submission_id = submissions.submission_id
),

renamed as (
    select
        submission_id,
        file_name,
        province_code,
        period_code,
        period_type,
        period_start,
        period_end,
        {{ unit_map_at('period_end') }} as unit_map,
        status_at_horizon as status,
        version,
        row_count,
        sheet,
        received_at
    from source
)

select * from renamed
