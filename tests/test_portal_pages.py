"""Pages that lead somewhere, tried as a new officer would (issue 39), served for real (uvicorn) on the test's
warehouse: the period lists open on a period the province owes; a file of another period is taken for its
own, with one message; Send says what was received, its version and when it is published, and so does the
submission's page; the header names the province; the dry run shows what the file would publish and how it
compares with the last published period; numbers are written the Vietnamese way. And the template's guide:
first, Vietnamese throughout, speaking of the portal."""

from __future__ import annotations

import html
import re
from datetime import date

import httpx
import openpyxl
import psycopg

from core import security
from ingestion.contract import MODEL_SHEET, sheet_title
from ingestion.template import CATALOGUE, GUIDE, UNITS, build_workbook
from tests.helpers import indicator_workbook
from tests.test_portal import _csrf, _logged_in, portal, small_files  # noqa: F401 (fixtures)
from warehouse import pipeline

THANH_HOA_COMMUNES = ("14797", "14758")


def _selected(page: str, select_id: str) -> str | None:
    """The option a <select> opens on, as the browser shows it: the one marked selected, else the first."""
    select = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', page, re.S).group(1)
    chosen = re.search(r"<option selected>([^<]+)</option>", select) or re.search(r"<option>([^<]+)</option>", select)
    return chosen.group(1)


def _upload(client: httpx.Client, path, period: str, action: str = "check") -> httpx.Response:
    return client.post(
        "/upload",
        data={"period": period, "action": action, "csrf": _csrf(client)},
        files={"file": (path.name, path.read_bytes())},
        timeout=120,
    )


def _figures(page: str) -> dict[str, list[str]]:
    """The figures table: indicator code -> its cells' text."""
    table = re.search(r'<table id="figures">(.*?)</table>', page, re.S)
    assert table, "the page shows the province's figures"
    rows = re.findall(r'<tr id="figure-([^"]+)">(.*?)</tr>', table.group(1), re.S)
    return {
        code: [html.unescape(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)]
        for code, cells in rows
    }


def test_the_period_lists_open_on_the_earliest_period_the_province_owes(settings, portal):  # noqa: F811
    from notify.reminders import due_submissions

    nghe_an = _logged_in(portal, "nghean")  # the first quarter received: from it on, quarters are due
    typed = {"csrf": _csrf(nghe_an), "period": "2026-Q2", "action": "submit", "value.security_teams.total": "9"}
    assert "Đã nhận tệp" in nghe_an.post("/form", data=typed).text
    with psycopg.connect(settings.warehouse_url) as conn:
        owed = [d.period for d in due_submissions(conn, date.today(), settings) if d.province_code == "38"]
    earliest = min(owed, key=lambda p: (p.end, p.start)).code
    assert earliest == "2026-Q2", [p.code for p in owed]
    client = _logged_in(portal, "thanhhoa")
    home = client.get("/").text
    assert _selected(home, "period") == earliest, "the upload's list opens on the period due first"
    assert _selected(home, "template-period") == earliest, "so does the template's"
    assert _selected(client.get("/form").text, "form-period") == earliest, "and the form's"


def test_a_file_of_another_period_is_taken_for_its_own_and_told_once(portal, tmp_path):  # noqa: F811
    client = _logged_in(portal, "thanhhoa")
    rows = [["2026-Q3", code, "security_teams", None, 12, None, None] for code in THANH_HOA_COMMUNES]
    named = indicator_workbook(tmp_path / "38_2026-Q3.xlsx", rows)
    checked = _upload(client, named, "2026-12")
    assert checked.status_code == 200
    note = html.unescape(re.search(r'<p class="error" id="period-note">(.*?)</p>', checked.text).group(1))
    assert note.startswith("Tệp ghi kỳ báo cáo 2026-Q3, bạn đã chọn kỳ 2026-12"), note
    assert "khác với kỳ của tệp" not in checked.text, "no reason on every row"
    assert "Tệp hợp lệ" in checked.text and "Kỳ báo cáo 2026-Q3" in checked.text
    english = client.post(
        "/upload",
        data={"period": "2026-12", "action": "check", "csrf": _csrf(client)},
        files={"file": (named.name, named.read_bytes())},
        cookies={"antq_lang": "en"},
    ).text
    assert "The file is for 2026-Q3, you chose 2026-12" in english
    unnamed = indicator_workbook(tmp_path / "bao-cao.xlsx", rows)  # its rows name the period
    assert "Tệp ghi kỳ báo cáo 2026-Q3, bạn đã chọn kỳ 2026-12" in html.unescape(
        _upload(client, unnamed, "2026-12").text
    )
    stale = indicator_workbook(tmp_path / "38_2026-Q2.xlsx", rows)  # last quarter's file, its rows changed
    assert "Tệp ghi kỳ báo cáo 2026-Q3, bạn đã chọn kỳ 2026-Q2" in html.unescape(_upload(client, stale, "2026-Q2").text)
    mixed = [rows[0], ["2026-Q2", *rows[1][1:]]]
    refused = _upload(client, indicator_workbook(tmp_path / "hai-ky.xlsx", mixed), "2026-Q3").text
    assert 'id="period-note"' not in refused and "Tệp có 1 lỗi" in refused, "two periods: the rows' reasons"
    by_name = html.unescape(_upload(client, indicator_workbook(tmp_path / "38_2026-Q3.xlsx", mixed), "2026-12").text)
    assert "Tệp ghi kỳ báo cáo 2026-Q3, bạn đã chọn kỳ 2026-12" in by_name, "rows of two periods: the name's"
    assert "Tệp có 1 lỗi" in by_name and "kỳ báo cáo khác với kỳ của tệp 2026-Q3" in by_name


def test_after_send_the_page_says_sent_with_the_figures_its_version_and_when_it_is_published(settings, portal):  # noqa: F811
    client = _logged_in(portal, "thanhhoa")
    typed = {
        "value.security_teams.total": "24037",
        "numerator.households_in_anxh.total": "975",
        "denominator.households_in_anxh.total": "1000",
    }
    sent = client.post("/form", data={"csrf": _csrf(client), "period": "2026-Q3", "action": "submit", **typed})
    text = html.unescape(sent.text)
    assert re.search(r"<h1>Đã gửi: form-thanhhoa-2026-Q3-\d+\.json", text), "titled as sent, not as a check"
    assert "bản 1" in text and "lần công bố tiếp theo" in text
    figures = _figures(sent.text)
    assert figures["security_teams"][1] == "24.037"
    assert figures["households_in_anxh"][1] == "97,5% (975/1.000)"
    with psycopg.connect(settings.warehouse_url) as conn:
        (submission_id,) = conn.execute("select submission_id from ingest.submission").fetchone()
    assert f'<a href="/submission/{submission_id}" id="see-submission">' in sent.text, "the page leads on"
    page = client.get(f"/submission/{submission_id}").text
    assert "<h1>Đã gửi: #" in page and "Bản 1" in page and "lần công bố tiếp theo" in html.unescape(page)
    assert _figures(page) == figures, "the submission's page shows what was received"
    pipeline.publish_new_figures(settings)
    assert "Số liệu của bản này đã được công bố" in html.unescape(client.get(f"/submission/{submission_id}").text)
    assert _logged_in(portal, "nghean").get(f"/submission/{submission_id}").status_code == 404
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        conn.execute(f"set role {security.PORTAL}")
        conn.execute("select set_config('antq.session', 'not-a-session', false)")
        assert conn.execute("select count(*) from portal.submission_figures(%s)", [submission_id]).fetchone() == (0,)
        conn.execute("select set_config('antq.session', %s, false)", [client.cookies["antq_session"]])
        assert conn.execute("select count(*) from portal.submission_figures(%s)", [submission_id]).fetchone() == (2,)


def test_the_header_names_the_province(portal):  # noqa: F811
    page = _logged_in(portal, "thanhhoa").get("/").text
    assert '<span id="province-name">Thanh Hóa</span>' in page
    assert "Tỉnh/thành phố 38" not in page


def test_the_dry_run_shows_what_the_file_would_publish_against_the_last_published_period(settings, portal, tmp_path):  # noqa: F811
    client = _logged_in(portal, "thanhhoa")
    earlier = {
        "value.security_teams.total": "24000",
        "value.steering_committees.total": "500",
        "numerator.households_in_anxh.total": "900",
        "denominator.households_in_anxh.total": "1000",
    }
    client.post("/form", data={"csrf": _csrf(client), "period": "2026-Q2", "action": "submit", **earlier})
    pipeline.publish_new_figures(settings)
    rows = [
        ["2026-Q3", "38", "security_teams", None, 24037, None, None],  # the province's own figure counts ...
        ["2026-Q3", "14797", "security_teams", None, 20000, None, None],  # ... its communes are detail
        ["2026-Q3", "14758", "steering_committees", None, 12, None, None],  # no province row: communes add up
        ["2026-Q3", "14797", "steering_committees", None, 5, None, None],
        ["2026-Q3", "14797", "households_in_anxh", None, None, 975, 1000],
        ["2026-Q3", "14797", "weapons_surrendered", "homemade_gun", 3, None, None],
    ]
    checked = _upload(client, indicator_workbook(tmp_path / "38_2026-Q3.xlsx", rows), "2026-Q3")
    assert "Tệp hợp lệ" in checked.text
    assert "Số liệu toàn tỉnh sẽ được công bố nếu gửi tệp này" in checked.text
    figures = _figures(checked.text)
    assert figures["security_teams"][1:] == ["24.037", "2026-Q2: 24.000", "+37"]
    assert figures["steering_committees"][1:] == ["17", "2026-Q2: 500", "-483"]
    assert figures["households_in_anxh"][1:] == ["97,5% (975/1.000)", "2026-Q2: 90,0%", "+7,5 điểm %"]
    assert figures["weapons_surrendered"][1:] == ["3", "", ""], "never published: nothing to compare"
    with psycopg.connect(settings.warehouse_url) as conn:
        assert conn.execute("select count(*) from ingest.submission where period_code = '2026-Q3'").fetchone() == (0,)


def test_numbers_are_written_the_vietnamese_way_in_the_demo_print_out():
    from warehouse.demo import _figure

    assert _figure("count", 24037, None) == "24.037"
    assert _figure("ratio", 975, 97.5) == "97,5%"


def test_the_templates_guide_comes_first_in_vietnamese_and_speaks_of_the_portal(tmp_path):
    path = tmp_path / "t.xlsx"
    build_workbook("38", "2026-Q3").save(path)
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames[:3] == [GUIDE, sheet_title(), sheet_title(MODEL_SHEET)]
    assert workbook.active.title == GUIDE, "the workbook opens on its instructions"
    guide = "\n".join(str(row[0]) for row in workbook[GUIDE].iter_rows(values_only=True) if row[0])
    assert "landing" not in guide and "cổng" in guide
    assert "đang hoạt động" in guide, "the models' statuses are explained in Vietnamese"
    catalogue = list(workbook[CATALOGUE].iter_rows(min_row=2, values_only=True))
    kinds, measures = {row[2] for row in catalogue if row[0]}, {row[3] for row in catalogue if row[0]}
    assert all(not re.fullmatch(r"[a-z_]+", text) for text in kinds | measures), (kinds, measures)
    assert any(text.startswith("Tỷ lệ") for text in measures)
    levels = {row[2] for row in workbook[UNITS].iter_rows(min_row=2, values_only=True)}
    assert all(not re.fullmatch(r"[a-z_]+", text) for text in levels), levels
