with source as (
    select * from {{ source('meta', 'hold') }}
),

renamed as (
    select
        hold_id,
        submission_id,
        province_code,
        period_code,
        check_name,
        finding_key,
        indicator_code,
        figure_period,
        rule,
        status as hold_status,
        held_at,
        reviewed_by,
        reviewed_at,
        review_reason
    from source
)

select * from renamed
