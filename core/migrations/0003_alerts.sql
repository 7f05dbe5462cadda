-- Every alert sent, keyed so that a retried task never sends the same alert twice.
create table meta.alert_log (
    alert_key   text primary key,
    kind        text not null,
    recipients  text[] not null,
    subject     text not null,
    sent_at     timestamptz not null default now()
);

-- Who receives a province's rejection reports and reminders; kept by the data team
-- (python -m warehouse set-contact <province code> <email>).
create table ref.province_contact (
    province_code  text primary key,
    email          text not null
);
