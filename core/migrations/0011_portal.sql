-- The submission portal (portal/): accounts of provincial officers and of the data team, their sessions,
-- login attempts (for the rate limit) and every file uploaded through it.
create schema portal;

create table portal.account (
    login          text primary key check (login ~ '^[a-z0-9._-]{3,64}$'),
    password_hash  text not null,              -- argon2id, never the password
    province_code  text,                       -- the officer's province; null: the data team (every province)
    full_name      text not null default '',
    created_at     timestamptz not null default now(),
    disabled       boolean not null default false
);

create table portal.session (
    token_hash     bytea primary key,          -- sha256 of the cookie's token: a stolen table gives no session
    login          text not null references portal.account on delete cascade,
    province_code  text,
    csrf_token     text not null,
    created_at     timestamptz not null default now(),
    expires_at     timestamptz not null
);

create table portal.login_attempt (
    login          text not null,
    client         text not null,
    attempted_at   timestamptz not null default now(),
    succeeded      boolean not null
);
create index on portal.login_attempt (login, attempted_at);

create table portal.upload (
    upload_id      bigserial primary key,
    login          text not null,
    province_code  text not null,
    period_code    text not null,
    file_name      text not null,
    byte_size      bigint not null,
    purpose        text not null check (purpose in ('check', 'submit')),
    uploaded_at    timestamptz not null default now(),
    submission_id  bigint,                     -- what ingestion made of a submitted file
    status         text                        -- accepted | rejected | duplicate, or the dry run's verdict
);

-- What the portal's database role may see is decided here, by the session the request carries, not by the
-- page code: the portal sets antq.session to the cookie's token in each transaction, and this function
-- (which the role cannot bypass: it cannot read portal.session itself) says whose session it is.
-- Returns the session's province, '*' for the data team, null for no valid session.
create function portal.session_province() returns text
language sql stable security definer
set search_path = pg_catalog, portal
as $$
    select coalesce(s.province_code, '*')
    from portal.session s
    where s.token_hash = sha256(convert_to(coalesce(current_setting('antq.session', true), ''), 'UTF8'))
      and s.expires_at > now()
$$;
revoke execute on function portal.session_province() from public;

-- Whether a submission's figures are in the live marts (the set of the last publish or rollback), for a
-- submission the calling session may see; null for any other.
create function portal.is_published(wanted bigint) returns boolean
language sql stable security definer
set search_path = pg_catalog, portal
as $$
    select wanted = any(l.submission_ids)
    from meta.publish_log l, ingest.submission s
    where s.submission_id = wanted
      and (s.province_code = portal.session_province() or portal.session_province() = '*')
    order by l.publish_id desc
    limit 1
$$;
revoke execute on function portal.is_published(bigint) from public;
