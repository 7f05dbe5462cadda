-- Rows reach raw.indicator_value only from the loader, in the transaction that registers their submission,
-- and submissions are never deleted. The foreign key re-checked that for every row, one trigger call per
-- row: it took longer than the rest of loading a file (measured in `make bench`). A unique index over
-- (submission, unit, indicator, category) was tried too and cost twice the insert itself; the loader
-- refuses repeated keys before inserting instead (ingestion/bulk.py).
alter table raw.indicator_value drop constraint indicator_value_submission_id_fkey;

-- A file's check looks up the units of its province on the map of its period.
create index unit_map_province on ref.unit (map, province_code);
