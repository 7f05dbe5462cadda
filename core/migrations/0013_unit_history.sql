-- Units as they were in every year (ingestion/unit_history.py). What each dated list says of each unit, for the
-- days that list is taken to describe; ref.unit keeps one row per unit, valid over all of them.
create table ref.unit_era (
    like ref.unit including constraints,
    primary key (map, unit_level, unit_code, source),
    foreign key (source) references ref.reference_source
);
create index unit_era_map_province on ref.unit_era (map, province_code);

-- How a legacy unit's figures reach today's map: the official 2025 conversion, merged before 2025 into a
-- unit of 2025-06-30 (via_code) and then its conversion, or (absorber unknown) its province only.
alter table ref.legacy_unit_map
    add column basis text not null default 'conversion_2025'
        check (basis in ('conversion_2025', 'merged_into', 'district_of_the_time')),
    add column via_code text;

-- Newer lists of today's map, each applied by a reviewed change (python -m warehouse reference-change):
-- what it changed, recorded before it applied.
create table ref.reference_change (
    version     text primary key,
    source      text not null,
    as_of       date not null,
    added       integer not null,
    renamed     integer not null,
    retired     integer not null,
    changes     jsonb not null,
    applied_at  timestamptz not null default now(),
    applied_by  text not null default current_user
);
