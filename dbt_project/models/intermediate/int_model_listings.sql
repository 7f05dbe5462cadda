-- Every listing of a model in the version of a province × period this build counts. A model is known by
-- the map, the province that lists it and the province's own code for it (model_key); after the 2025
-- reorganisation a merged province's models are new keys unless it keeps their codes and province code.
with submissions as (
    select * from {{ ref('int_counted_submissions') }}
    where submission_id is not null
),

models as (
    select * from {{ ref('stg_raw__model') }}
),

listings as (
    select
        md5(submissions.unit_map || '/' || submissions.province_code || '/' || models.model_code) as model_key,
        submissions.unit_map,
        submissions.province_code as reported_province_code,
        submissions.period_code,
        submissions.period_type,
        submissions.period_start,
        submissions.period_end,
        submissions.submission_id,
        models.model_code,
        models.model_name,
        models.model_type,
        models.host_unit_code,
        models.model_level,
        models.launch_date,
        models.model_status,
        case
            when models.replicated_from_code is not null then
                md5(
                    submissions.unit_map || '/' || models.replicated_from_province || '/' || models.replicated_from_code
                )
        end as replicated_from_key
    from models
    inner join submissions on submissions.submission_id = models.submission_id
)

select * from listings
