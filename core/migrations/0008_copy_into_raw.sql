-- A plainly written CSV is copied straight into raw.indicator_value and checked there (ingestion/bulk.py), so
-- raw takes the file's rows as COPY reads them: the period each row states, and no category for the total
-- (an empty cell). Rows loaded earlier are brought to the same shape.
alter table raw.indicator_value add column period text;
alter table raw.indicator_value alter column category drop not null;
update raw.indicator_value r
set period = s.period_code,
    category = nullif(r.category, 'total')
from ingest.submission s
where s.submission_id = r.submission_id;
comment on column raw.indicator_value.category is 'null for the total';
comment on column raw.indicator_value.period is 'the period the row states, which the loader checked is the file''s';
