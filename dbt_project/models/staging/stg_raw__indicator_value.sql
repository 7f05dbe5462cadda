with source as (
    select * from {{ source('raw', 'indicator_value') }}
),

renamed as (
    select
        submission_id,
        source_row,
        period,
        unit_code,
        indicator_code,
        coalesce(category, 'total') as category,
        value,
        numerator,
        denominator,
        is_detail
    from source
)

select * from renamed
