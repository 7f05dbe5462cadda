-- A publish run judges, builds and checks the registry as it stood when the run began (its horizon): every
-- relation of one run reads the same submissions, whatever arrives meanwhile. Before, dbt's models and the
-- gate read ingest.submission_state live, so a file accepted between two of a run's steps was counted by the
-- views read last but not by the tables built first: the gate's reconciliations failed, and on deadline day
-- (100 officers sending) 16 publishes in 10 minutes were blocked. A file accepted after the horizon waits for
-- the next run; before, it could also be counted without the submission checks having judged it.
--
-- The portal and the pipeline read the registry live (ingest.submission_state, a horizon of null);
-- meta.build_horizon holds the horizon of the publish run under way, which dbt's staging reads
-- (warehouse/pipeline.py sets it as a run begins).
create table meta.build_horizon (
    one          boolean primary key default true check (one),
    horizon      bigint,                  -- the last submission the run counts with; null: none (live)
    set_at       timestamptz not null default now()
);
comment on table meta.build_horizon is
'the last submission the publish run under way counts with (warehouse/pipeline.py sets it as the run begins)';

-- Each submission's status as it stood when `horizon` was the last one: later submissions left out, and a
-- version one of them superseded accepted again (null: today's).
--
-- Both functions run with their owner's rights (security definer), as a view reads its relations: the marts'
-- views reach them through dbt's staging, and a reader of a mart has no right on ingest or meta (a function
-- runs with its caller's rights otherwise). Only that is reachable: no reader may use the ingest schema, so
-- none can call them by name.
create function ingest.submission_status_until(horizon bigint)
returns table (submission_id bigint, status text)
language sql stable security definer
set search_path = pg_catalog
as $$
    select
        s.submission_id,
        case
            when s.status = 'superseded' and horizon is not null and s.superseded_by > horizon then 'accepted'
            else s.status
        end
    from ingest.submission as s
    where horizon is null or s.submission_id <= horizon
$$;

-- 0020's rule, as of a horizon: the one home of what became of each submission. The live publish's
-- submissions are joined as a set, not looked for in its array (`= any(submission_ids)`): at ten years that
-- array holds 7,067 ids, and every read compared each submission with each of them (0.38 s; now 0.016 s).
create function ingest.submission_state_until(horizon bigint)
returns table (
    submission_id bigint, province_code text, period_code text, status text, is_published boolean,
    is_held boolean, is_refused_on_review boolean, is_superseded boolean, counts boolean, state text
)
language sql stable security definer
set search_path = pg_catalog
as $$
with live as (
    select distinct unnest(l.submission_ids) as submission_id
    from (select submission_ids from meta.publish_log order by publish_id desc limit 1) as l
),

judged as (
    select
        s.submission_id,
        s.province_code,
        s.period_code,
        st.status,
        live.submission_id is not null as is_published,
        exists (select from meta.hold as h where h.submission_id = s.submission_id and h.status = 'open')
            as is_held,
        exists (select from meta.hold as h where h.submission_id = s.submission_id and h.status = 'rejected')
            as is_refused_on_review
    from ingest.submission as s
    inner join ingest.submission_status_until(horizon) as st on st.submission_id = s.submission_id
    left join live on live.submission_id = s.submission_id
),

kept_out as (
    select province_code, period_code from judged
    where status = 'accepted' and (is_held or is_refused_on_review)
)

select
    judged.submission_id,
    judged.province_code,
    judged.period_code,
    judged.status,
    judged.is_published,
    judged.is_held,
    judged.is_refused_on_review,
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
from judged
$$;

create or replace view ingest.submission_state as
select * from ingest.submission_state_until(null);
