"""The portal's data-entry form, served for real (uvicorn) on the test's warehouse: an officer with no file
types the province's totals, and they go the way an uploaded file goes (the same dry run and reasons, the
same landing, ingest, versions and upload record), named so that the registry says they came from the form."""

from __future__ import annotations

import html
import json
import re

import httpx
import psycopg
import pytest

from ingestion.catalogue import load_catalogue
from ingestion.periods import parse_period
from tests.test_portal import _browser, _csrf, _logged_in, portal, small_files  # noqa: F401 (fixtures)

PERIOD = "2026-Q3"
TYPED = {  # a count, a ratio and a count by category; everything else left empty
    "value.security_teams.total": "4351",
    "numerator.households_in_anxh.total": "900",
    "denominator.households_in_anxh.total": "1000",
    "value.weapons_surrendered.homemade_gun": "3",
}
# The rows of raw.indicator_value the typed figures make: (unit, indicator, category, value, numerator, denominator)
STORED = {
    ("38", "security_teams", "total", 4351, None, None),
    ("38", "households_in_anxh", "total", None, 900, 1000),
    ("38", "weapons_surrendered", "homemade_gun", 3, None, None),
}


def _inputs(page: str) -> dict[str, str]:
    """The form's figure fields as the page fills them in: name -> value."""
    return {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'<input id="[^"]+" name="([^"]+)" value="([^"]*)"', page)
    }


def _hidden(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))


def _send(client: httpx.Client, figures: dict[str, str], action: str, grid: str = "", **extra: str) -> httpx.Response:
    """The form's page as the officer opens it (its token and the version it starts from), sent with `figures`."""
    opened = _hidden(client.get("/form", params={"period": PERIOD, "grid": grid}).text)
    form = opened | {"action": action, **figures, **extra}
    return client.post("/form", data=form, timeout=120)


def _stored(conn: psycopg.Connection, submission_id: int) -> set[tuple]:
    rows = conn.execute(
        """select unit_code, indicator_code, coalesce(category, 'total'), value, numerator, denominator
           from raw.indicator_value where submission_id = %s""",
        [submission_id],
    )
    return set(rows)


def test_the_form_lists_the_indicators_collected_in_the_period_with_their_labels(portal):  # noqa: F811
    client = _logged_in(portal, "thanhhoa")
    response = client.get("/form", params={"period": PERIOD})
    assert response.status_code == 200
    period = parse_period(PERIOD)
    expected = {i.code: i for i in load_catalogue().values() if i.collected_in(period.start, period.end)}
    shown = dict(re.findall(r'<fieldset id="([^"]+)">\s*<legend>([^<]+)</legend>', response.text))
    assert shown.keys() == expected.keys()
    for code, legend in shown.items():
        assert html.unescape(legend) == expected[code].name_vi, "the catalogue's Vietnamese name is the label"
        assert f'id="hint-{code}">{code} · {html.escape(expected[code].name_en)}' in response.text
    labelled = set(re.findall(r'<label for="([^"]+)">', response.text))
    fields = set(_inputs(response.text))
    assert fields <= labelled, "every field has its label"
    assert "value.security_teams.total" in fields and "value.households_in_anxh.total" not in fields
    assert {"numerator.households_in_anxh.total", "denominator.households_in_anxh.total"} <= fields
    assert {f"value.key_areas.{c}" for c in ("stable", "contained", "complex")} <= fields
    assert all(value == "" for value in _inputs(response.text).values()), "nothing sent yet: nothing filled in"
    assert 'href="/form"' in client.get("/").text, "the province's page leads to the form"
    assert client.get("/form").status_code == 200, "with no period chosen, the form opens on one"
    english = client.get("/form", params={"period": PERIOD}, cookies={"antq_lang": "en"}).text
    assert "<legend>Grassroots security teams</legend>" in english


def test_check_gives_a_typed_figure_the_reasons_a_file_gets_and_stores_nothing(settings, portal, tmp_path):  # noqa: F811
    client = _logged_in(portal, "thanhhoa")
    figures = {"value.steering_committees.total": "558", "value.security_teams.total": "-3"}
    checked = _send(client, figures, "check")
    assert checked.status_code == 200
    assert "Tệp có 1 lỗi, chưa lưu gì" in checked.text and "không được là số âm" in checked.text
    empty = {"category": None, "numerator": None, "denominator": None}
    rows = [
        {"period": PERIOD, "unit_code": "38", "indicator_code": "steering_committees", **empty, "value": "558"},
        {"period": PERIOD, "unit_code": "38", "indicator_code": "security_teams", **empty, "value": "-3"},
    ]
    as_file = client.post(
        "/upload",
        data={"period": PERIOD, "action": "check", "csrf": _csrf(client)},
        files={"file": ("38.json", json.dumps({"indicators": rows}).encode())},
    )
    table = re.compile(r'<table id="problems">.*?</table>', re.S)
    assert table.search(checked.text).group(0) == table.search(as_file.text).group(0), "the same reasons"
    with psycopg.connect(settings.warehouse_url) as conn:
        assert conn.execute("select count(*) from ingest.submission").fetchone()[0] == 0
        assert conn.execute("select login from portal.upload where file_name like 'form-%'").fetchall() == [
            ("thanhhoa",)
        ]
    assert not list(settings.landing_dir.rglob("*.json")), "nothing landed"
    again = re.search(r'<form method="post" action="/form" id="edit-again">.*?</form>', checked.text, re.S).group(0)
    back = client.post("/form", data=_hidden(again))
    assert _inputs(back.text)["value.security_teams.total"] == "-3", "the officer goes on from what was typed"


def test_send_stores_the_typed_figures_as_a_submission_from_the_form(settings, portal):  # noqa: F811
    client = _logged_in(portal, "thanhhoa")
    sent = _send(client, TYPED, "submit")
    assert "Đã nhận tệp: bản 1, 3 dòng" in sent.text
    with psycopg.connect(settings.warehouse_url) as conn:
        submission_id, name, status, version = conn.execute(
            "select submission_id, file_name, status, version from ingest.submission where province_code = '38'"
        ).fetchone()
        upload = conn.execute(
            "select login, province_code, purpose, status, submission_id, file_name from portal.upload"
        ).fetchone()
        stored = _stored(conn, submission_id)
    assert re.fullmatch(rf"form-thanhhoa-{PERIOD}-\d{{14}}\.json", name), name
    assert (status, version) == ("accepted", 1)
    assert upload == ("thanhhoa", "38", "submit", "accepted", submission_id, name)
    assert stored == STORED


def test_a_correction_starts_from_the_last_version_sent(settings, portal):  # noqa: F811
    client = _logged_in(portal, "thanhhoa")
    _send(client, TYPED, "submit")
    form = client.get("/form", params={"period": PERIOD}).text
    assert "Đã điền sẵn số liệu của bản 1" in form
    filled = {name: value for name, value in _inputs(form).items() if value}
    assert filled == TYPED, "pre-filled with version 1's figures"
    corrected = _send(client, filled | {"value.security_teams.total": "4352"}, "submit")
    assert "Đã nhận tệp: bản 2, 3 dòng" in corrected.text
    with psycopg.connect(settings.warehouse_url) as conn:
        versions = conn.execute(
            "select submission_id, version, status from ingest.submission where province_code = '38' order by 1"
        ).fetchall()
        stored = _stored(conn, versions[-1][0])
    assert [(v, s) for _, v, s in versions] == [(1, "superseded"), (2, "accepted")]
    assert stored == STORED - {("38", "security_teams", "total", 4351, None, None)} | {
        ("38", "security_teams", "total", 4352, None, None)
    }
    assert _inputs(client.get("/form", params={"period": PERIOD}).text)["value.security_teams.total"] == "4352"


def test_only_an_officer_uses_the_form_and_only_for_the_sessions_province(settings, portal):  # noqa: F811
    anonymous = httpx.Client(base_url=portal)
    assert anonymous.get("/form", params={"period": PERIOD}).status_code == 303
    assert anonymous.post("/form", data={"period": PERIOD, **TYPED}).status_code == 303
    team = _logged_in(portal, "doidulieu")
    assert team.get("/form", params={"period": PERIOD}).status_code == 403
    csrf = re.search(r'name="csrf" value="([^"]+)"', team.get("/team").text).group(1)
    assert team.post("/form", data={"csrf": csrf, "period": PERIOD, "action": "submit", **TYPED}).status_code == 403
    officer = _logged_in(portal, "thanhhoa")
    forged = {"csrf": "forged", "period": PERIOD, "action": "submit", **TYPED}
    assert officer.post("/form", data=forged).status_code == 403
    sent = _send(officer, TYPED, "submit", province="40", unit_code="40", province_code="40")
    assert "Đã nhận tệp: bản 1" in sent.text
    with psycopg.connect(settings.warehouse_url) as conn:
        found = conn.execute("select submission_id, province_code from ingest.submission").fetchone()
        submission_id, province = found
        assert province == "38"
        assert {row[0] for row in _stored(conn, submission_id)} == {"38"}
    assert not (settings.landing_dir / "40").exists()
    nghe_an = _logged_in(portal, "nghean").get("/form", params={"period": PERIOD}).text
    assert "Đã điền sẵn" not in nghe_an and not any(_inputs(nghe_an).values()), "no other province's figures"


@pytest.mark.e2e
@pytest.mark.browser
def test_an_officer_sends_and_corrects_the_form_with_the_keyboard_in_a_browser(settings, portal, tmp_path):  # noqa: F811
    """The issue's journey: figures typed with the keyboard (Tab from field to field, Enter on a button) are
    accepted, then published; one is corrected from the pre-filled form (version 2), and `explain` names the
    form's file, with the officer's login, its version and its row."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.wait import WebDriverWait

    from publishing.lineage import explain
    from tests.test_portal import PASSWORD, SCREENSHOTS
    from warehouse import pipeline

    driver = _browser(tmp_path)
    wait = WebDriverWait(driver, 60)
    try:
        driver.get(f"{portal}/login")
        driver.find_element(By.ID, "login").send_keys("thanhhoa")
        driver.find_element(By.ID, "password").send_keys(PASSWORD + Keys.ENTER)
        wait.until(lambda d: "Các lần gửi" in d.page_source)
        driver.find_element(By.ID, "form-link").click()
        wait.until(lambda d: "Số liệu toàn tỉnh" in d.page_source)
        driver.get(f"{portal}/form?period={PERIOD}")
        first = driver.find_element(By.ID, "value.steering_committees.total")
        first.click()
        first.send_keys("558" + Keys.TAB)  # the next field in the page's order is the next indicator's
        assert driver.switch_to.active_element.get_attribute("id") == "value.security_teams.total"
        driver.switch_to.active_element.send_keys("4351")
        driver.save_screenshot(str(SCREENSHOTS / "portal-form.png"))
        driver.find_element(By.ID, "send").send_keys(Keys.ENTER)
        wait.until(lambda d: "Đã nhận tệp" in d.page_source)
        assert "Đã nhận tệp: bản 1, 2 dòng" in driver.find_element(By.ID, "verdict").text

        pipeline.publish_new_figures(settings)  # what the antq_publish DAG does next
        driver.get(portal)
        assert "đã công bố" in driver.find_element(By.ID, "submissions").text

        driver.get(f"{portal}/form?period={PERIOD}")
        assert "Đã điền sẵn số liệu của bản 1" in driver.find_element(By.ID, "prefilled").text
        field = driver.find_element(By.ID, "value.security_teams.total")
        assert field.get_attribute("value") == "4351"
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys("4352")
        driver.find_element(By.ID, "send").send_keys(Keys.ENTER)
        wait.until(lambda d: "Đã nhận tệp" in d.page_source)
        assert "Đã nhận tệp: bản 2, 2 dòng" in driver.find_element(By.ID, "verdict").text
    finally:
        driver.quit()
    pipeline.publish_new_figures(settings)
    with psycopg.connect(settings.warehouse_url) as conn:
        submission_id, name = conn.execute(
            "select submission_id, file_name from ingest.submission where version = 2"
        ).fetchone()
        assert _stored(conn, submission_id) == {
            ("38", "steering_committees", "total", 558, None, None),
            ("38", "security_teams", "total", 4352, None, None),
        }
        explained = explain(conn, "38", PERIOD, "security_teams")
    assert explained.startswith(f"38 Thanh Hóa {PERIOD} security_teams: 4,352"), explained
    assert f"{name} v2" in explained and name.startswith("form-thanhhoa-") and "row 3" in explained, explained


def _communes(page: str) -> list[str]:
    """The grid's rows below the province: their unit codes, in the page's order."""
    return re.findall(r'<th scope="row" id="unit-(\d{3,})">', page)


def test_the_grid_lists_the_provinces_communes_of_the_period_each_field_labelled(settings, portal):  # noqa: F811
    from ingestion.reference import units_of_period

    client = _logged_in(portal, "thanhhoa")
    page = client.get("/form", params={"period": PERIOD, "grid": "units_meeting_antt_standard"}).text
    communes = {u.unit_code for u in units_of_period(parse_period(PERIOD)) if u.province_code == "38"} - {"38"}
    assert re.findall(r'<th scope="row" id="unit-(\d+)">', page)[0] == "38", "the province's own row first"
    assert set(_communes(page)) == communes and len(communes) == 166, "Thanh Hóa's communes since 2025-07-01"
    fields = re.findall(
        r'<input id="([^"]+)" name="[^"]+" value="" inputmode="numeric" autocomplete="off"'
        r' aria-labelledby="([^"]+)"',
        page,
    )
    assert len(fields) == 167 * 12, "a ratio in 6 categories: 12 figures a unit"
    ids = set(re.findall(r' id="([^"]+)"', page))
    assert all(set(labels.split()) <= ids for _, labels in fields), "each field named by its row and column"
    assert "numerator.units_meeting_antt_standard.kdc.38" not in dict(fields), "the province's own: no suffix"
    legacy = client.get("/form", params={"period": "2024-Q3", "grid": "security_teams"}).text
    assert len(_communes(legacy)) == 559, "before the reorganisation: the communes of the old map"
    assert client.get("/form", params={"period": PERIOD, "grid": "no_such_indicator"}).status_code == 404


def test_the_grid_sends_the_communes_figures_and_keeps_every_other_figure_sent(settings, portal):  # noqa: F811
    """Version 1 from the totals page; version 2 from the security teams' grid (the province's figure and two
    communes'); version 3 from the totals page again: each version has its page's figures and every other
    figure of the one before it."""
    client = _logged_in(portal, "thanhhoa")
    _send(client, TYPED, "submit")
    grid = client.get("/form", params={"period": PERIOD, "grid": "security_teams"}).text
    assert _inputs(grid)["value.security_teams.total"] == "4351", "the province's figure from version 1"
    first, second = _communes(grid)[:2]
    typed = {"value.security_teams.total": "4351"}
    too_many = typed | {f"value.security_teams.total.{first}": "4000", f"value.security_teams.total.{second}": "400"}
    refused = _send(client, too_many, "check", grid="security_teams")
    assert "parts_exceed_whole" in refused.text or "không được lớn hơn số của đơn vị cấp trên" in refused.text
    communes = typed | {f"value.security_teams.total.{first}": "30", f"value.security_teams.total.{second}": "25"}
    sent = _send(client, communes, "submit", grid="security_teams")
    assert "Đã nhận tệp: bản 2, 5 dòng" in sent.text, sent.text
    back = client.get("/form", params={"period": PERIOD, "grid": "security_teams"}).text
    assert {k: v for k, v in _inputs(back).items() if v} == communes, "the grid opens on version 2"
    totals = {name: value for name, value in _inputs(client.get("/form", params={"period": PERIOD}).text).items()}
    assert {k: v for k, v in totals.items() if v} == TYPED, "the totals page shows no commune"
    third = _send(client, TYPED | {"numerator.households_in_anxh.total": "950"}, "submit")
    assert "Đã nhận tệp: bản 3, 5 dòng" in third.text, third.text
    with psycopg.connect(settings.warehouse_url) as conn:
        latest = conn.execute(
            "select max(submission_id) from ingest.submission where province_code = '38' and status = 'accepted'"
        ).fetchone()[0]
        stored = _stored(conn, latest)
    ratio = ("38", "households_in_anxh", "total", None, 900, 1000)
    assert stored == STORED - {ratio} | {("38", "households_in_anxh", "total", None, 950, 1000)} | {
        (first, "security_teams", "total", 30, None, None),
        (second, "security_teams", "total", 25, None, None),
    }


def test_a_form_opened_before_another_send_is_refused_and_stores_nothing(settings, portal):  # noqa: F811
    client = _logged_in(portal, "thanhhoa")
    _send(client, TYPED, "submit")
    opened = _hidden(client.get("/form", params={"period": PERIOD}).text)
    _send(client, TYPED | {"value.security_teams.total": "4352"}, "submit")  # another tab, or a colleague
    late = client.post("/form", data=opened | {"action": "submit", **TYPED}, timeout=120)
    assert late.status_code == 409 and "không còn là bản mới nhất" in late.text
    with psycopg.connect(settings.warehouse_url) as conn:
        versions = conn.execute("select version, status from ingest.submission order by 1").fetchall()
        last = conn.execute("select count(*) from portal.upload where purpose = 'submit'").fetchone()[0]
    assert versions == [(1, "superseded"), (2, "accepted")] and last == 2


def test_a_form_sent_over_a_file_keeps_the_files_communes_and_models(settings, portal):  # noqa: F811
    """A province that sent a full file (communes and models) corrects its own total in the form: the new
    version is the file with that one figure changed."""
    from ingestion.generator import province_models, province_rows
    from warehouse import pipeline

    path = settings.landing_dir / "38" / PERIOD / "38.json"  # a third of a full file: the portal's limit is 1 MB
    path.parent.mkdir(parents=True)
    rows, models = (
        list(province_rows("38", parse_period(PERIOD)))[::3],
        list(province_models("38", parse_period(PERIOD))),
    )
    path.write_text(json.dumps({"indicators": rows, "models": models}, default=str), encoding="utf-8")
    pipeline.ingest(str(path), settings)
    with psycopg.connect(settings.warehouse_url) as conn:
        (first,) = conn.execute("select submission_id from ingest.submission where status = 'accepted'").fetchone()
        before = _stored(conn, first)
        models = conn.execute("select count(*) from raw.model where submission_id = %s", [first]).fetchone()[0]
    assert models > 0 and len({row[0] for row in before}) > 100, "the file has communes and models"
    client = _logged_in(portal, "thanhhoa")
    shown = _inputs(client.get("/form", params={"period": PERIOD}).text)
    own = {r for r in before if r[0] == "38"}
    assert {k for k, v in shown.items() if v} == {f"value.{r[1]}.{r[2]}" for r in own if r[3] is not None} | {
        f"{m}.{r[1]}.{r[2]}" for r in own for m, figure in (("numerator", r[4]), ("denominator", r[5])) if figure
    }
    field, code, category = "value.steering_committees.total", "steering_committees", "total"
    communes = sum(r[3] for r in before if r[1] == code)
    more = str(communes + 5)  # the province's own: no less than its communes
    sent = _send(client, {k: v for k, v in shown.items() if v} | {field: more}, "submit")
    assert "Đã nhận tệp: bản 2" in sent.text, sent.text
    with psycopg.connect(settings.warehouse_url) as conn:
        (second,) = conn.execute("select submission_id from ingest.submission where status = 'accepted'").fetchone()
        after = _stored(conn, second)
        kept = conn.execute(
            """select count(*) from raw.model a join raw.model b using (model_code, model_name, model_type,
               host_unit_code, level, launch_date, status) where a.submission_id = %s and b.submission_id = %s
               and a.replicated_from_code is not distinct from b.replicated_from_code""",
            [first, second],
        ).fetchone()[0]
    changed = {r for r in before if r[:3] == ("38", code, category)}
    assert after == before - changed | {("38", code, category, int(more), None, None)}
    assert kept == models, "every model of the file, as the file gave it"
