create table meta.publish_log (
    publish_id      bigserial primary key,
    published_at    timestamptz not null default now(),
    action          text not null check (action in ('publish', 'rollback')),
    submission_ids  bigint[] not null default '{}',
    checks_passed   integer,
    note            text not null default ''
);
