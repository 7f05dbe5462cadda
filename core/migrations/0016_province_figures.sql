-- A submission's figures for its province, per indicator: the rows the warehouse counts summed over units and
-- categories, as int_submission_totals sums them (a detail row, under a unit the file gives its own figure
-- for, is not added: ingestion/levels.py). One home for what the portal shows of a file: the dry run reads it
-- in its rolled-back transaction (ingestion/figures.py), an officer's pages through portal.submission_figures.
-- Security invoker: whoever calls it reads only what it may read of raw.
create function ingest.province_figures(wanted bigint)
returns table (indicator_code text, value bigint, numerator bigint, denominator bigint)
language sql stable
set search_path = pg_catalog
as $$
    select v.indicator_code, sum(v.value)::bigint, sum(v.numerator)::bigint, sum(v.denominator)::bigint
    from raw.indicator_value v
    where v.submission_id = wanted and not v.is_detail
    group by v.indicator_code
$$;

-- The figures of an accepted (or since replaced) submission the session may see: what the officer sent.
create function portal.submission_figures(wanted bigint)
returns table (indicator_code text, value bigint, numerator bigint, denominator bigint)
language sql stable security definer
set search_path = pg_catalog, portal
as $$
    select f.indicator_code, f.value, f.numerator, f.denominator
    from ingest.submission s
    cross join lateral ingest.province_figures(s.submission_id) f
    where s.submission_id = wanted and s.status in ('accepted', 'superseded')
      and (s.province_code = portal.session_province() or portal.session_province() = '*')
$$;
revoke execute on function portal.submission_figures(bigint) from public;
