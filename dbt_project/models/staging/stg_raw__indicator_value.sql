with source as (
    select * from {{ source('raw', 'indicator_value') }}
),

renamed as (
    select
        submission_id,
        source_row,
        unit_code,
        indicator_code,
        category,
        value,
        numerator,
        denominator
    from source
)

select * from renamed
