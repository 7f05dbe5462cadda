-- What became of each submission, decided here and nowhere else: dbt (int_counted_submissions, through
-- stg_ingest__submission_state), the pipeline (waiting_to_publish) and the portal (portal.submissions(), the
-- data team's pages) read this view.
--   is_published          the live marts count it (the latest publish or rollback in meta.publish_log)
--   is_held               a check holds it and no one has reviewed the hold yet
--   is_refused_on_review  the data team rejected a hold of it
--   is_superseded         a later version of the province's period came
--   counts                the next build counts it: the latest accepted version of its province × period,
--                         unless a hold (open, or rejected on review) keeps it out; then the version the live
--                         marts count goes on counting (none, if none was ever published)
--   state                 what its officer is told: a registry status, or for an accepted file held,
--                         refused_on_review, published or accepted (waiting for the next publish)
create view ingest.submission_state as
with live as (
    select l.submission_ids from meta.publish_log as l order by l.publish_id desc limit 1
),

judged as (
    select
        s.submission_id,
        s.province_code,
        s.period_code,
        s.status,
        coalesce(s.submission_id = any(live.submission_ids), false) as is_published,
        exists (select from meta.hold as h where h.submission_id = s.submission_id and h.status = 'open')
            as is_held,
        exists (select from meta.hold as h where h.submission_id = s.submission_id and h.status = 'rejected')
            as is_refused_on_review
    from ingest.submission as s
    left join live on true
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

comment on view ingest.submission_state is
'what became of each submission: published, held, refused on review, superseded, counted by the next build';

-- The officer's list reads the view (the columns as before, and the state it decides).
drop function portal.submissions(bigint);
create function portal.submissions(wanted bigint default null)
returns table (
    submission_id bigint, file_name text, province_code text, period_code text, version integer,
    row_count integer, rejected_row_count integer, received_at timestamptz, status text,
    published boolean, held boolean, refused_on_review boolean, state text
)
language sql stable security definer
set search_path = pg_catalog, portal
as $$
    select s.submission_id, s.file_name, s.province_code, s.period_code, s.version, s.row_count,
           s.rejected_row_count, s.received_at, s.status,
           st.is_published, st.is_held, st.is_refused_on_review, st.state
    from ingest.submission s
    join ingest.submission_state st using (submission_id)
    where (s.province_code = portal.session_province() or portal.session_province() = '*')
      and (wanted is null or s.submission_id = wanted)
    order by s.submission_id desc
    limit 200
$$;
revoke execute on function portal.submissions(bigint) from public;
