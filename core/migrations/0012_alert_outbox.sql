-- Alerts wait in an outbox until delivered (notify/alerts.py). An alert is written in the transaction of
-- the event that causes it (a refusal, a hold, a failed gate, a due reminder), so an event that happened
-- has its alert, and one rolled back has none; deliver() sends what is due, with retries and backoff, and
-- gives up after a bounded time keeping the error. meta.alert_log (what was sent) becomes its 'sent' rows.
create table meta.alert_outbox (
    alert_key        text primary key,
    kind             text not null,
    recipients       text[] not null,
    subject          text not null,
    message          bytea not null,  -- the whole email as sent, CRLF lines (its Message-ID derives from the key)
    queued_at        timestamptz not null default now(),
    status           text not null default 'pending' check (status in ('pending', 'sent', 'given_up')),
    attempts         integer not null default 0,
    next_attempt_at  timestamptz not null default now(),
    last_error       text,
    sent_at          timestamptz
);
create index alert_outbox_due on meta.alert_outbox (next_attempt_at) where status = 'pending';

insert into meta.alert_outbox (alert_key, kind, recipients, subject, message, queued_at, status, attempts, sent_at)
select alert_key, kind, recipients, subject, '', sent_at, 'sent', 1, sent_at from meta.alert_log;
drop table meta.alert_log;
