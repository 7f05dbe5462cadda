-- The self-management models a province lists in a submission (sheet "Mô hình tự quản"): the full list at
-- the end of the period. replicated_from_* name the model this one was copied from, possibly another
-- province's.
create table raw.model (
    submission_id             bigint not null,
    source_row                integer not null,
    model_code                text not null,
    model_name                text not null,
    model_type                text not null,
    host_unit_code            text not null,
    level                     text not null,
    launch_date               date not null,
    status                    text not null,
    replicated_from_province  text,
    replicated_from_code      text,
    primary key (submission_id, model_code)
);

alter table ingest.submission add column model_count integer;
