-- Publishing per province × period (expectations/suites.py, submission checks): a check that judges one
-- province's figures holds back only the submission it found them in. The hold is kept with what was
-- found, and the data team reviews it: confirm publishes the figure, reject keeps it out. A newer
-- version of the file replaces the hold (the held submission is then superseded).
create table meta.hold (
    hold_id         bigserial primary key,
    submission_id   bigint not null references ingest.submission,
    province_code   text not null,
    period_code     text not null,             -- the submission's period
    check_name      text not null,             -- the check's word (expectations/severity.yaml)
    finding_key     text not null,             -- check, figure period, indicator: what "the same finding" means
    indicator_code  text,
    figure_period   text,                      -- the period of the figure that failed (a roll-up may differ)
    rule            text not null,             -- the check's description
    detail          jsonb not null,            -- the figure as the check saw it (value, median, ratio ...)
    status          text not null default 'open' check (status in ('open', 'confirmed', 'rejected')),
    held_at         timestamptz not null default now(),
    reviewed_by     text,
    reviewed_at     timestamptz,
    review_reason   text,
    unique (submission_id, finding_key)
);
create index on meta.hold (status);

-- Which submissions each publish counts (not every accepted one: a held submission keeps its previous
-- version published). A rollback records the set of the marts it restores.
comment on column meta.publish_log.submission_ids is 'the submissions whose figures that version of marts counts';
