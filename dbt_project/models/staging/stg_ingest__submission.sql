with source as (
    select * from {{ source('ingest', 'submission') }}
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
        status,
        version,
        row_count,
        sheet,
        received_at
    from source
)

select * from renamed
