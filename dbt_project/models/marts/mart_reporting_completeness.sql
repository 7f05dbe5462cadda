-- One row per current province × expected period: did the report arrive, on time, in which version, or is it
-- missing, late or held by a check (then the version published before it is what the marts count).
with submissions as (
    select * from {{ ref('fct_submission') }}
),

provinces as (
    select
        unit_code as province_code,
        unit_name as province_name
    from {{ ref('dim_unit') }}
    where unit_level = 'province' and is_current
),

periods as (
    select * from {{ ref('dim_period') }}
),

final as (
    select
        submissions.province_code,
        provinces.province_name,
        submissions.period_code,
        periods.period_type,
        periods.period_start,
        submissions.deadline,
        submissions.status,
        submissions.on_time,
        submissions.deadline < current_date and not submissions.on_time as is_late,
        submissions.held_submission_id,
        submissions.first_accepted_at,
        submissions.current_version,
        submissions.files_received,
        submissions.files_rejected
    from submissions
    inner join provinces on provinces.province_code = submissions.province_code
    inner join periods on periods.period_code = submissions.period_code
    where submissions.is_expected
)

select * from final
