-- Figures at several levels of one file (ingestion/levels.py): a row under a unit that has its own row in
-- the file is detail, stored but never added to its parent. Rows loaded before this rule count as before.
alter table raw.indicator_value add column is_detail boolean not null default false;
comment on column raw.indicator_value.is_detail is
    'the file also gives a figure for an ancestor of this unit (same indicator and category): detail, not counted';

-- The sheet a submission's indicator rows were read from (XLSX), so a figure can name its sheet and row.
alter table ingest.submission add column sheet text;
