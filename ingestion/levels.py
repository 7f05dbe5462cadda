"""Figures given at several levels of one file: the one rule, checked at the door.

A unit's figure for an indicator × category is its own row if the file gives one, otherwise the sum of its
children's figures, recursively (province → legacy district → commune → village, agency, school ...). A row
under a unit that has its own row in the file is detail: stored (raw.indicator_value.is_detail), queryable,
never added to its parent. Ratios follow the same rule for numerator and denominator separately.

The parts must fit the whole: the rows whose nearest reported ancestor is a given row (its reported
children, skipping levels the file leaves out) must not add up to more than it, for a count nor for either
part of a ratio. A file that breaks this is refused, every offending parent named with its figure, the
children's sum and their rows. Children that add up to less than the parent are accepted, even when every
child unit is reported: a province's or district's own figure may count what belongs to no commune below
it (provincial agencies, enterprises, teams of the province itself), so the parent's own figure wins.

Both steps run as SQL on the rows just loaded, inside the file's transaction. A file with rows at one level
only (the usual case) costs one query over its distinct units.
"""

from __future__ import annotations

import psycopg

from ingestion import rules
from ingestion.catalogue import TOTAL
from ingestion.periods import Period
from ingestion.rules import Problem

# Each unit of the file with the ancestors of it that the file also reports, and how many levels up.
REPORTED_ANCESTORS = """
with recursive file_units as (
    select distinct unit_code from raw.indicator_value where submission_id = %(submission_id)s
),
units as (  -- a unit's parents in every list that may describe the period's end (unit_history.eras)
    select distinct unit_code, parent_code from ref.unit_era
    where map = %(map)s and province_code = %(province)s
      and valid_from <= %(period_end)s and (valid_to is null or valid_to >= %(period_end)s)
),
ancestry (unit_code, ancestor_code, depth) as (
    select file_units.unit_code, units.parent_code, 1
    from file_units inner join units using (unit_code)
    where units.parent_code is not null
    union all
    select ancestry.unit_code, units.parent_code, ancestry.depth + 1
    from ancestry inner join units on units.unit_code = ancestry.ancestor_code
    where units.parent_code is not null and ancestry.depth < 10
)
select ancestry.unit_code, ancestry.ancestor_code, ancestry.depth
from ancestry inner join file_units on file_units.unit_code = ancestry.ancestor_code
"""

# Each row's nearest reported ancestor row (same indicator and category): the row it is detail of.
NEAREST_PARENT = """
with pairs as (
    select * from unnest(%(units)s::text[], %(ancestors)s::text[], %(depths)s::int[])
        as pairs (unit_code, ancestor_code, depth)
),
file_rows as (
    select source_row, unit_code, indicator_code, category, value, numerator, denominator
    from raw.indicator_value where submission_id = %(submission_id)s
)
select distinct on (child.source_row)
    child.source_row as child_row, parent.source_row as parent_row
from file_rows as child
inner join pairs on pairs.unit_code = child.unit_code
inner join file_rows as parent
    on parent.unit_code = pairs.ancestor_code
    and parent.indicator_code = child.indicator_code
    and parent.category is not distinct from child.category
order by child.source_row, pairs.depth
"""

MARK_DETAIL = """
update raw.indicator_value set is_detail = true
where submission_id = %(submission_id)s and source_row = any(%(rows)s)
"""

# Parents whose reported children add up to more than they do, for a count or either part of a ratio.
PARTS_OVER_WHOLE = """
with links as (
    select * from unnest(%(children)s::int[], %(parents)s::int[]) as links (child_row, parent_row)
),
file_rows as (
    select source_row, unit_code, indicator_code, category, value, numerator, denominator
    from raw.indicator_value where submission_id = %(submission_id)s
),
parts as (
    select
        links.parent_row,
        sum(child.value) as value,
        sum(child.numerator) as numerator,
        sum(child.denominator) as denominator,
        array_agg(child.source_row order by child.source_row) as child_rows
    from links inner join file_rows as child on child.source_row = links.child_row
    group by links.parent_row
)
select parent.source_row, parent.unit_code, unit.name, parent.indicator_code, parent.category,
       parent.value, parent.numerator, parent.denominator,
       parts.value, parts.numerator, parts.denominator, parts.child_rows
from parts
inner join file_rows as parent on parent.source_row = parts.parent_row
left join ref.unit as unit on unit.map = %(map)s and unit.unit_code = parent.unit_code
where parts.value > parent.value or parts.numerator > parent.numerator or parts.denominator > parent.denominator
order by parent.source_row
"""


def check_levels(
    conn: psycopg.Connection, submission_id: int, province_code: str, period: Period, file_name: str, sheet: str | None
) -> list[Problem]:
    """Mark the detail rows of the submission just loaded; return a problem for every parent its parts exceed."""
    params = {
        "submission_id": submission_id,
        "map": period.unit_map,
        "province": province_code,
        "period_end": period.end,
    }
    pairs = conn.execute(REPORTED_ANCESTORS, params).fetchall()
    if not pairs:
        return []
    units, ancestors, depths = ([pair[i] for pair in pairs] for i in range(3))
    links = conn.execute(
        NEAREST_PARENT, {**params, "units": units, "ancestors": ancestors, "depths": depths}
    ).fetchall()
    if not links:
        return []
    children, parents = ([link[i] for link in links] for i in range(2))
    conn.execute(MARK_DETAIL, {**params, "rows": children})
    found = conn.execute(PARTS_OVER_WHOLE, {**params, "children": children, "parents": parents}).fetchall()
    return [_problem(file_name, sheet, *row) for row in found]


def _problem(
    file_name: str,
    sheet: str | None,
    row: int,
    unit_code: str,
    unit_name: str | None,
    indicator_code: str,
    category: str | None,
    value: int | None,
    numerator: int | None,
    denominator: int | None,
    parts_value: int | None,
    parts_numerator: int | None,
    parts_denominator: int | None,
    child_rows: list[int],
) -> Problem:
    what = indicator_code + ("" if category in (None, TOTAL) else f" ({category})")
    unit = f"{unit_code} {unit_name or ''}".strip()
    rows = ", ".join(str(r) for r in child_rows)
    if value is not None:
        column, whole, parts = "value", f"{value}", f"{parts_value}"
    else:
        column = "numerator" if parts_numerator > numerator else "denominator"
        whole, parts = f"{numerator}/{denominator}", f"{parts_numerator}/{parts_denominator}"
    return rules.PARTS_EXCEED_WHOLE.problem(
        file_name,
        sheet=sheet,
        row=row,
        column=column,
        value=whole,
        unit=unit,
        whole=whole,
        what=what,
        parts=parts,
        rows=rows,
    )
