-- What happened to models: launched (on the launch date), closed (by the end of the first period that
-- lists the model as closed) and replicated (on the source model, dated by the copy's launch).
with models as (
    select * from {{ ref('dim_model') }}
),

launched as (
    select
        'launched' as event_type,
        model_key,
        null::text as related_model_key,
        province_code,
        launch_date as event_date
    from models
),

closed as (
    select
        'closed' as event_type,
        model_key,
        null::text as related_model_key,
        province_code,
        closed_by as event_date
    from models
    where closed_by is not null
),

replicated as (
    select
        'replicated' as event_type,
        sources.model_key,
        copies.model_key as related_model_key,
        copies.province_code,
        copies.launch_date as event_date
    from models as copies
    inner join models as sources on sources.model_key = copies.replicated_from_key
),

events as (
    select * from launched
    union all
    select * from closed
    union all
    select * from replicated
)

select
    md5(event_type || '/' || model_key || '/' || coalesce(related_model_key, '')) as event_key,
    event_type,
    model_key,
    related_model_key,
    province_code,
    event_date,
    extract(year from event_date)::int as event_year
from events
