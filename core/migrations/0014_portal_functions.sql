-- What the portal's pages read and write for a signed-in officer, as functions that return only the rows of
-- the session the request carries (antq.session, portal.session_province()). The portal's database role
-- reaches these and nothing of ingest, meta or portal's tables itself (core/security.py): a predicate
-- on a table it could read (row-level security) let it count other provinces' rows with EXPLAIN ANALYZE.
-- Each function is opaque to its caller's plans (security definer: never inlined).

-- The login of the request's session, or null.
create function portal.session_login() returns text
language sql stable security definer
set search_path = pg_catalog, portal
as $$
    select s.login
    from portal.session s
    where s.token_hash = sha256(convert_to(coalesce(current_setting('antq.session', true), ''), 'UTF8'))
      and s.expires_at > now()
$$;
revoke execute on function portal.session_login() from public;

-- The session's submissions (the data team's: every province's), newest first, with what became of each: an
-- open hold keeps it out of the marts, and so does one rejected on review (as int_counted_submissions decides).
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

-- Why a submission the session may see was refused, row by row.
create function portal.rejections(wanted bigint)
returns table (
    file_name text, sheet text, row_number integer, column_name text, value text, reason_vi text, reason_en text
)
language sql stable security definer
set search_path = pg_catalog, portal
as $$
    select r.file_name, r.sheet, r.row_number, r.column_name, r.value, r.reason_vi, r.reason_en
    from ingest.rejection r
    join ingest.submission s using (submission_id)
    where r.submission_id = wanted
      and (s.province_code = portal.session_province() or portal.session_province() = '*')
    order by r.row_number nulls first, r.rejection_id
$$;
revoke execute on function portal.rejections(bigint) from public;

-- The latest submission of these bytes for the session's province and a period: what ingestion made of a
-- file the officer has just sent.
create function portal.submission_of(digest text, period text)
returns table (submission_id bigint, status text, version integer, row_count integer)
language sql stable security definer
set search_path = pg_catalog, portal
as $$
    select s.submission_id, s.status, s.version, s.row_count
    from ingest.submission s
    where s.sha256 = digest and s.period_code = period and s.province_code = portal.session_province()
    order by s.submission_id desc
    limit 1
$$;
revoke execute on function portal.submission_of(text, text) from public;

-- An upload by the session's officer (never the data team's, never another login's or province's).
create function portal.record_upload(period text, name text, bytes bigint, wanted_purpose text) returns bigint
language plpgsql volatile security definer
set search_path = pg_catalog, portal
as $$
declare
    who text := portal.session_login();
    province text := portal.session_province();
    made bigint;
begin
    if who is null or province is null or province = '*' then
        raise insufficient_privilege using message = 'no officer session';
    end if;
    insert into portal.upload (login, province_code, period_code, file_name, byte_size, purpose)
    values (who, province, period, name, bytes, wanted_purpose)
    returning upload_id into made;
    return made;
end
$$;
revoke execute on function portal.record_upload(text, text, bigint, text) from public;

-- What became of an upload of the session's own.
create function portal.record_upload_result(wanted bigint, verdict text, made bigint) returns void
language sql volatile security definer
set search_path = pg_catalog, portal
as $$
    update portal.upload set status = verdict, submission_id = made
    where upload_id = wanted and login = portal.session_login()
$$;
revoke execute on function portal.record_upload_result(bigint, text, bigint) from public;
