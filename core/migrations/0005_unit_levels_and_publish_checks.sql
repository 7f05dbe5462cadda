-- Room for units below the commune: villages / residential areas (thôn, bản, tổ dân phố, KDC) and the
-- agencies, enterprises, schools and health stations that the ANTT standard is assessed for; each belongs
-- to a commune (parent_code).
alter table ref.unit drop constraint unit_unit_level_check;
alter table ref.unit add constraint unit_unit_level_check check (unit_level in
    ('province', 'district', 'commune', 'village', 'agency', 'enterprise', 'school', 'health_station'));

-- Which checks a publish passed (the gate's summary), not only how many.
alter table meta.publish_log add column checks text not null default '';
