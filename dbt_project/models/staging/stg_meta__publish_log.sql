with source as (
    select * from {{ source('meta', 'publish_log') }}
),

renamed as (
    select
        publish_id,
        published_at,
        action as publish_action,
        submission_ids
    from source
)

select * from renamed
