with catalogue as (
    select * from {{ ref('indicator_catalogue') }}
),

final as (
    select
        indicator_code,
        name_vi,
        name_en,
        kind,
        measure,
        nullif(categories, '') as categories,
        unit_of_measure,
        since,
        until,
        outlier_ratio
    from catalogue
)

select * from final
