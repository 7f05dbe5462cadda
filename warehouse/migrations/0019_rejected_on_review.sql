-- A submission the data team rejected on review stays out of the marts (int_counted_submissions counts
-- rejected holds with open ones), but the officer's page showed it "accepted": portal.submissions() now says
-- so (refused_on_review), as dbt and the pipeline decide it.
drop function portal.submissions(bigint);
create function portal.submissions(wanted bigint default null)
returns table (
    submission_id bigint, file_name text, province_code text, period_code text, version integer,
    row_count integer, rejected_row_count integer, received_at timestamptz, status text,
    published boolean, held boolean, refused_on_review boolean
)
language sql stable security definer
set search_path = pg_catalog, portal
as $$
    with live as (
        select l.submission_ids from meta.publish_log l order by l.publish_id desc limit 1
    )
    select s.submission_id, s.file_name, s.province_code, s.period_code, s.version, s.row_count,
           s.rejected_row_count, s.received_at, s.status,
           coalesce(s.submission_id = any(live.submission_ids), false),
           exists (select from meta.hold h where h.submission_id = s.submission_id and h.status = 'open'),
           exists (select from meta.hold h where h.submission_id = s.submission_id and h.status = 'rejected')
    from ingest.submission s
    left join live on true
    where (s.province_code = portal.session_province() or portal.session_province() = '*')
      and (wanted is null or s.submission_id = wanted)
    order by s.submission_id desc
    limit 200
$$;
revoke execute on function portal.submissions(bigint) from public;
