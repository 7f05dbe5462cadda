-- Each legacy unit (before 2025-07-01) and the current unit(s) it became. A split commune has one row per
-- target, with the official default target marked; a district or province maps to its current province.
create table ref.legacy_unit_map (
    legacy_level   text not null check (legacy_level in ('province', 'district', 'commune')),
    legacy_code    text not null,
    current_level  text not null check (current_level in ('province', 'commune')),
    current_code   text not null,
    is_default     boolean not null,
    source         text not null references ref.reference_source,
    primary key (legacy_level, legacy_code, current_level, current_code)
);
