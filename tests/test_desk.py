"""The data team's desk (/team, and `python -m warehouse status` in text), served for real on a warehouse of
three published months of all 34 provinces (conftest.national_template), with real ingestion, dbt, Great
Expectations and SMTP: what needs action comes first (a hold, a file refused today, provinces late), then what
was done (decisions, the publish log with its headers, the gate reports) and the alerts not delivered, counted
by kind."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from datetime import date

import psycopg
import pytest

from ingestion.generator import rewrite_submission, write_submission
from ingestion.loader import ingest_file
from notify import alerts
from review import holds
from tests.helpers import indicator_workbook, national_copy
from tests.test_portal import _browser, _logged_in, _sign_in, portal  # noqa: F401 (fixtures)
from warehouse import pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def quarter_past_its_deadline(today: date) -> str:
    """The quarter two before today's: it ended three months ago or more, past its 15-day deadline."""
    index = today.year * 4 + (today.month - 1) // 3 - 2
    return f"{index // 4}-Q{index % 4 + 1}"


@pytest.fixture(scope="module")
def warehouse(server_url, smtp_server, tmp_path_factory, national_template):
    """A hold on Hồ Chí Minh City's September (ten times its history), Thanh Hóa's report for a quarter past
    its deadline (so every other province is late for it), and Nghệ An's file refused today, as the pipeline
    made them; a contact for Thanh Hóa only; and three alerts the mail server never took (two of one kind,
    queued as the pipeline queues them: it delivers at once to the test's mail server)."""
    settings = national_copy(server_url, smtp_server, tmp_path_factory, national_template, "antq_desk")
    landing = settings.landing_dir
    original = write_submission(landing, "79", "2026-09")
    outlier = rewrite_submission(original, original.with_name("79_2026-09_v2.csv"), "security_teams", lambda v: v * 10)
    original.unlink()
    quarter = write_submission(landing, "38", quarter_past_its_deadline(date.today()))
    (landing / "40" / "2026-09").mkdir(parents=True)
    refused = indicator_workbook(
        landing / "40" / "2026-09" / "40_2026-09_ban-nhap.xlsx",
        [["2026-09", "Phường Không Có", "security_teams", None, 5, None, None]],
    )
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        conn.execute("insert into ref.province_contact values ('38', 'pv05@thanhhoa.antq.test')")
        assert ingest_file(conn, outlier, settings).status == "accepted"
        assert ingest_file(conn, quarter, settings).status == "accepted"
        assert ingest_file(conn, refused, settings).status == "rejected"
    assert pipeline.publish_new_figures(settings)["held"] == ["79 Thành phố Hồ Chí Minh 2026-09"]
    smtp_server.take()
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:  # waiting for the mail server
        for key, kind in (("a", "task_failed"), ("b", "task_failed"), ("c", "gate_warnings")):
            alert = alerts.Alert(kind, f"{kind}:{key}", ("data-team@antq.test",), f"[ANTQ] subject {key}", ())
            alerts.queue(conn, alert, settings)
    return settings


@pytest.fixture
def small_files(warehouse):
    """The portal of tests/test_portal.py, served on this module's warehouse."""
    return replace(warehouse, max_file_bytes=1024 * 1024)


def csrf(team) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', team.get("/team").text).group(1)


def section(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start : html.index("</section>", start)]


def test_the_desk_shows_the_hold_the_refused_file_and_late_provinces_above_the_publish_log(warehouse, portal):  # noqa: F811
    page = _logged_in(portal, "doidulieu").get("/team").text
    with psycopg.connect(warehouse.warehouse_url) as conn:
        (hold,) = holds.holds(conn, pending_only=True)
        refused_id = conn.execute("select submission_id from ingest.submission where status = 'rejected'").fetchone()[0]
    log = page.index('id="publish-log"')
    held = page.index(f'id="hold-{hold.hold_id}"')
    refused = page.index("40 Nghệ An · 2026-09 · 40_2026-09_ban-nhap.xlsx")
    late = page.index(f"{quarter_past_its_deadline(date.today())} · trễ hạn")
    assert "01 Thành phố Hà Nội" in page[late : page.index("</li>", late)]
    assert held < refused < late < log, "what needs action first, in that order"
    assert f"(hồ sơ #{refused_id}," in page and f"#{refused_id} 40_2026-09" not in page, "its number said as such"
    shown = section(page, "holds")
    assert hold.figure() in shown and f'href="/team/report/{hold.gate_report}"' in shown
    chart = shown[shown.index("<svg") : shown.index("</svg>")]
    assert chart.count("<rect") == 3 and chart.count('class="bar held"') == 1, "July, August, then the held September"
    assert "2026-09: " + f"{hold.detail['value']:,}".replace(",", ".") in chart
    completeness = section(page, "completeness")
    assert "trễ hạn" in completeness and "đã công bố" in completeness and "tạm giữ để xem xét" in completeness
    no_contact = page[page.index('id="no-contact"') :]
    no_contact = no_contact[: no_contact.index("</p>")]
    assert "Tỉnh chưa có người nhận thư" in no_contact and "79 Thành phố Hồ Chí Minh" in no_contact
    assert "38 Thanh Hóa" not in no_contact, "Thanh Hóa has a contact"


def test_the_publish_log_has_headers_and_the_alerts_are_counted_by_kind_with_each_behind_a_link(warehouse, portal):  # noqa: F811
    team = _logged_in(portal, "doidulieu")
    page = team.get("/team").text
    log = page[page.index('id="publish-log"') : page.index("</table>", page.index('id="publish-log"'))]
    headers = re.findall(r"<th>([^<]*)</th>", log)
    assert headers == [
        "#",
        "Thời gian",
        "Thao tác",
        "Số hồ sơ được tính",
        "Số kiểm tra đạt",
        "Báo cáo kiểm tra của lần chạy",
    ]
    with psycopg.connect(warehouse.warehouse_url) as conn:
        report = conn.execute("select gate_report from meta.publish_log order by publish_id desc limit 1").fetchone()[0]
    assert f'href="/team/report/{report}"' in log and team.get(f"/team/report/{report}").status_code == 200
    undelivered = page[page.index('id="undelivered"') :]
    assert '<td>task_failed</td><td class="number">2</td>' in undelivered
    assert '<td>gate_warnings</td><td class="number">1</td>' in undelivered
    assert "[ANTQ] subject" not in page and 'href="/team/alerts"' in undelivered
    listed = team.get("/team/alerts")
    assert listed.status_code == 200 and all(f"[ANTQ] subject {key}" in listed.text for key in "abc")
    assert _logged_in(portal, "nghean").get("/team/alerts").status_code == 403


def test_status_prints_the_desk_in_the_same_order_and_every_alert_with_all(warehouse):
    env = {**os.environ, "ANTQ_WAREHOUSE_URL": warehouse.warehouse_url, "ANTQ_DATA_DIR": str(warehouse.data_dir)}

    def status(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "warehouse", "status", *args], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    shown = status()
    order = [
        shown.index("hold #"),
        shown.index("1 file(s) refused today:\n- 40 Nghệ An · 2026-09 · 40_2026-09_ban-nhap.xlsx (submission #"),
        shown.index(f"- {quarter_past_its_deadline(date.today())} late"),
        shown.index("last publishes (#, when, action, submissions counted, checks passed, gate report):"),
        shown.index("3 alert(s) not delivered: gate_warnings 1, task_failed 2"),
    ]
    assert order == sorted(order), shown
    assert "no contact for alerts (the data team forwards theirs), 33: 01 Thành phố Hà Nội" in shown
    assert "38 Thanh Hóa" not in shown[shown.index("no contact for alerts") :]
    assert "[ANTQ] subject" not in shown and "status --all" in shown
    every = status("--all")
    assert all(f"[ANTQ] subject {key}" in every for key in "abc")


@pytest.mark.browser
def test_a_confirmed_hold_leaves_the_holds_and_is_kept_in_recent_decisions(warehouse, portal, tmp_path):  # noqa: F811
    """In Chromium: the desk shows the hold, the refused file and the late province above the publish log; the
    hold is confirmed with its reason from its own form; the decision is then in its history with the report
    of the run that made it, which lists the checks."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def wait(driver):
        # A page being replaced answers for its old elements with errors: no such element, a stale one, or (seen
        # in a fresh-clone run) Chromium's "unhandled inspector error" for a node of the page just left.
        return WebDriverWait(driver, 30, ignored_exceptions=(WebDriverException,))

    with psycopg.connect(warehouse.warehouse_url) as conn:
        (hold,) = holds.holds(conn, pending_only=True)
    driver = _browser(tmp_path)
    try:
        _sign_in(driver, portal, "doidulieu")
        driver.get(f"{portal}/team")
        shown = driver.find_element(By.TAG_NAME, "main").text
        places = [
            shown.index(hold.figure()),
            shown.index("40 Nghệ An · 2026-09 · 40_2026-09_ban-nhap.xlsx"),
            shown.index(f"{quarter_past_its_deadline(date.today())} · trễ hạn"),
            shown.index("Nhật ký công bố"),
        ]
        assert places == sorted(places), "the hold, the refused file, the late province, then the publish log"
        driver.find_element(By.ID, f"why-{hold.hold_id}").send_keys("Đã gọi điện cho tỉnh: số đúng")
        driver.find_element(By.CSS_SELECTOR, f"#hold-{hold.hold_id} button[value=confirm]").click()
        wait(driver).until(lambda d: "Chưa có." in d.find_element(By.ID, "holds").text)
        decided = driver.find_element(By.ID, "decisions").text
        assert "Đã xác nhận" in decided and "doidulieu" in decided and "Đã gọi điện cho tỉnh: số đúng" in decided
        driver.find_element(By.CSS_SELECTOR, f'#decisions a[href="/team/report/{hold.gate_report}"]').click()
        checks = ("outlier", "ratio_within_100", "version_keeps_most")

        def report_shown(d) -> bool:  # the report's page, loaded: its body may be read only then
            body = d.find_element(By.TAG_NAME, "body").text
            return "/team/report/" in d.current_url and all(check in body for check in checks)

        wait(driver).until(report_shown)
        report = driver.find_element(By.TAG_NAME, "body").text
        assert all(check in report for check in checks), report[:500]
    finally:
        driver.quit()
    team = _logged_in(portal, "doidulieu")
    decided = section(team.get("/team").text, "decisions")
    assert "đã công bố ở lần công bố" not in decided, "not published yet"

    pipeline.publish_new_figures(warehouse)
    with psycopg.connect(warehouse.warehouse_url) as conn:
        (published_in,) = conn.execute("select max(publish_id) from meta.publish_log").fetchone()
    assert f"đã công bố ở lần công bố #{published_in}" in section(team.get("/team").text, "decisions")
