-- The models that spread: one row per model copied at least once, with how many copies, in how many
-- provinces, and its rank among all models.
with models as (
    select * from {{ ref('dim_model') }}
),

events as (
    select * from {{ ref('fct_model_event') }}
    where event_type = 'replicated'
),

provinces as (
    select * from {{ ref('dim_unit') }}
    where unit_level = 'province' and is_current
),

spread as (
    select
        events.model_key,
        count(*) as replicas,
        count(*) filter (where events.province_code <> models.province_code) as replicas_in_other_provinces,
        count(distinct events.province_code) as provinces_reached,
        min(events.event_date) as first_replica_date,
        max(events.event_date) as last_replica_date
    from events
    inner join models using (model_key)
    group by events.model_key
),

final as (
    select
        models.model_key,
        models.model_code,
        models.model_name,
        models.model_type,
        models.model_type_name_vi,
        models.model_level,
        models.province_code,
        provinces.unit_name as province_name,
        models.launch_date,
        spread.replicas,
        spread.replicas_in_other_provinces,
        spread.provinces_reached,
        spread.first_replica_date,
        spread.last_replica_date,
        rank() over (order by spread.replicas desc, spread.provinces_reached desc) as replication_rank
    from spread
    inner join models using (model_key)
    left join provinces on provinces.unit_code = models.province_code
)

select * from final
