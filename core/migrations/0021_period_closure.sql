-- The data team closes a period for a province that will not report it: who, when and why, kept like a hold's
-- review and never deleted. A national figure is final only when every expected province is counted or closed
-- and no hold is open for the period (mart_national_indicator); a province that sends the period after all is
-- counted like any other.
create table meta.period_closure (
    closure_id     bigint generated always as identity primary key,
    period_code    text not null,
    province_code  text not null,
    closed_by      text not null check (length(btrim(closed_by)) > 0),
    closed_at      timestamptz not null default now(),
    reason         text not null check (length(btrim(reason)) > 0),
    unique (period_code, province_code)
);
comment on table meta.period_closure is
'a period the data team closed for a province that will not report it (who, when, why): the national figure can be final without it';
