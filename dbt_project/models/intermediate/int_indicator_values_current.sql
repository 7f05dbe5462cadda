-- Only the latest accepted version of each province × period counts; superseded rows stay in raw.
with submissions as (
    select * from {{ ref('stg_ingest__submission') }}
    where status = 'accepted'
),

indicator_values as (
    select * from {{ ref('stg_raw__indicator_value') }}
),

current_values as (
    select
        submissions.province_code,
        submissions.period_code,
        submissions.period_type,
        submissions.period_start,
        submissions.period_end,
        submissions.submission_id,
        submissions.version as submission_version,
        indicator_values.unit_code,
        indicator_values.indicator_code,
        indicator_values.category,
        indicator_values.value,
        indicator_values.numerator,
        indicator_values.denominator
    from indicator_values
    inner join submissions on indicator_values.submission_id = submissions.submission_id
)

select * from current_values
