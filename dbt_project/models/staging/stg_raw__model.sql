with source as (
    select * from {{ source('raw', 'model') }}
),

renamed as (
    select
        submission_id,
        source_row,
        model_code,
        model_name,
        model_type,
        host_unit_code,
        level as model_level,
        launch_date,
        status as model_status,
        replicated_from_province,
        replicated_from_code
    from source
)

select * from renamed
