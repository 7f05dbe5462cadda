-- ingest.submission_state as 0020 decides it, with the live marts' submissions read as a set joined by key
-- rather than each submission looked for in the live publish's array (`= any(submission_ids)`): at ten years
-- that array holds 7,067 ids, and every read of the view compared each submission with each of them (50
-- million comparisons, 0.38 s). dbt reads the view in several models and tests of every publish run, and the
-- portal in every page that lists submissions.
create or replace view ingest.submission_state as
with live as (
    select distinct unnest(l.submission_ids) as submission_id
    from (select submission_ids from meta.publish_log order by publish_id desc limit 1) as l
),

judged as (
    select
        s.submission_id,
        s.province_code,
        s.period_code,
        s.status,
        live.submission_id is not null as is_published,
        exists (select from meta.hold as h where h.submission_id = s.submission_id and h.status = 'open')
            as is_held,
        exists (select from meta.hold as h where h.submission_id = s.submission_id and h.status = 'rejected')
            as is_refused_on_review
    from ingest.submission as s
    left join live on live.submission_id = s.submission_id
),

kept_out as (
    select province_code, period_code from judged
    where status = 'accepted' and (is_held or is_refused_on_review)
)

select
    judged.*,
    judged.status = 'superseded' as is_superseded,
    case
        when judged.status = 'accepted' then not (judged.is_held or judged.is_refused_on_review)
        else judged.is_published and exists (
            select from kept_out
            where kept_out.province_code = judged.province_code and kept_out.period_code = judged.period_code
        )
    end as counts,
    case
        when judged.status <> 'accepted' then judged.status
        when judged.is_held then 'held'
        when judged.is_refused_on_review then 'refused_on_review'
        when judged.is_published then 'published'
        else 'accepted'
    end as state
from judged;
