-- Reference data, the submission registry and the raw tables that ingestion writes.
create schema if not exists ref;
create schema if not exists ingest;
create schema if not exists raw;

create table ref.reference_source (
    source         text primary key,
    version        text not null,
    row_count      integer not null,
    loaded_at      timestamptz not null default now()
);

-- Every administrative unit of both maps. The same code can mean different units in the two maps,
-- so the map is part of the key.
create table ref.unit (
    map            text not null check (map in ('legacy', 'current')),
    unit_code      text not null,
    unit_level     text not null check (unit_level in ('province', 'district', 'commune')),
    name           text not null,
    division_type  text not null,
    parent_code    text,
    province_code  text not null,
    valid_from     date not null,
    valid_to       date,
    source         text not null references ref.reference_source,
    primary key (map, unit_level, unit_code)
);

create table ingest.submission (
    submission_id      bigserial primary key,
    file_name          text not null,
    stored_path        text not null,
    sha256             text not null,
    byte_size          bigint not null,
    province_code      text,
    period_code        text,
    period_type        text,
    period_start       date,
    period_end         date,
    status             text not null check (status in ('accepted', 'rejected', 'superseded')),
    version            integer,
    row_count          integer not null default 0,
    rejected_row_count integer not null default 0,
    received_at        timestamptz not null default now(),
    superseded_by      bigint references ingest.submission
);
-- The latest accepted version wins: at most one accepted submission per province and period.
create unique index submission_one_accepted
    on ingest.submission (province_code, period_code) where status = 'accepted';

create index submission_sha256 on ingest.submission (sha256);

create table ingest.rejection (
    rejection_id   bigserial primary key,
    submission_id  bigint not null references ingest.submission,
    file_name      text not null,
    sheet          text,
    row_number     integer,
    column_name    text,
    value          text,
    reason_code    text not null,
    reason_en      text not null,
    reason_vi      text not null
);
create index on ingest.rejection (submission_id);

create table raw.indicator_value (
    submission_id   bigint not null references ingest.submission,
    source_row      integer not null,
    unit_code       text not null,
    indicator_code  text not null,
    category        text not null,
    value           bigint,
    numerator       bigint,
    denominator     bigint
);
create index on raw.indicator_value (submission_id);
