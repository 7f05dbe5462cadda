-- Models by current province, type and level: how many exist, are active or closed, and how often
-- they were copied elsewhere.
with models as (
    select * from {{ ref('dim_model') }}
),

events as (
    select * from {{ ref('fct_model_event') }}
),

provinces as (
    select * from {{ ref('dim_unit') }}
    where unit_level = 'province' and is_current
),

replicas as (
    select
        model_key,
        count(*) as replicas
    from events
    where event_type = 'replicated'
    group by model_key
),

final as (
    select
        models.province_code,
        provinces.unit_name as province_name,
        models.model_type,
        min(models.model_type_name_vi) as model_type_name_vi,
        models.model_level,
        count(*) as models,
        count(*) filter (where models.model_status = 'active') as models_active,
        count(*) filter (where models.model_status = 'closed') as models_closed,
        count(*) filter (where models.replicated_from_key is not null) as models_replicated_from_others,
        coalesce(sum(replicas.replicas), 0) as replicas_made,
        min(models.launch_date) as first_launch_date,
        max(models.launch_date) as last_launch_date
    from models
    left join replicas using (model_key)
    left join provinces on provinces.unit_code = models.province_code
    group by models.province_code, provinces.unit_name, models.model_type, models.model_level
)

select * from final
