{{ config(post_hook=["create index on {{ this }} (province_code, model_type)"]) }}

-- One row per self-management model, as its latest listing describes it.
with listings as (
    select * from {{ ref('int_model_listings') }}
),

model_types as (
    select * from {{ ref('model_types') }}
),

units as (
    select * from {{ ref('dim_unit') }}
),

latest as (
    select distinct on (model_key) *
    from listings
    order by model_key asc, period_end desc, submission_id desc
),

history as (
    select
        model_key,
        min(period_start) as first_listed_on,
        max(period_end) as last_listed_on,
        min(period_end) filter (where model_status = 'closed') as closed_by
    from listings
    group by model_key
),

final as (
    select
        latest.model_key,
        latest.model_code,
        latest.model_name,
        latest.model_type,
        model_types.name_vi as model_type_name_vi,
        model_types.name_en as model_type_name_en,
        latest.model_level,
        hosts.unit_key as host_unit_key,
        latest.host_unit_code,
        provinces.current_province_code as province_code,
        latest.reported_province_code,
        latest.unit_map = 'legacy' as is_remapped,
        latest.launch_date,
        latest.model_status,
        latest.replicated_from_key,
        history.first_listed_on,
        history.last_listed_on,
        history.closed_by
    from latest
    inner join history using (model_key)
    left join model_types using (model_type)
    left join units as hosts
        on hosts.unit_map = latest.unit_map and hosts.unit_code = latest.host_unit_code
    left join units as provinces
        on
            provinces.unit_map = latest.unit_map and provinces.unit_code = latest.reported_province_code
            and provinces.unit_level = 'province'
)

select * from final
