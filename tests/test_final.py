"""Final means final: a period's national figures are final only when every expected province is counted or
closed by the data team (who, when, why, kept), and no hold is open for the period or a period inside it;
everything else is provisional, however long past its deadline.

The module starts from three months of all 34 provinces, published (conftest.national_template).
"""

from __future__ import annotations

import re
from dataclasses import replace

import psycopg
import pytest

from ingestion.generator import current_province_codes, rewrite_submission, write_submission
from ingestion.loader import ingest_file
from review import closures, holds
from tests.helpers import national_copy
from tests.test_portal import _logged_in, portal  # noqa: F401 (fixtures)
from warehouse import pipeline

QUARTER = "2026-Q2"  # long past its deadline: the old rule made it final 30 days after, whoever was missing


@pytest.fixture(scope="module")
def warehouse(server_url, smtp_server, tmp_path_factory, national_template):
    """2026-Q2 from every province but Hà Nội (01); Hồ Chí Minh City's September sent again, ten times its
    history (held); published."""
    settings = national_copy(server_url, smtp_server, tmp_path_factory, national_template, "antq_final")
    original = write_submission(settings.landing_dir, "79", "2026-09")
    outlier = rewrite_submission(original, original.with_name("79_2026-09_v2.csv"), "security_teams", lambda v: v * 10)
    original.unlink()
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        for province in current_province_codes():
            if province != "01":
                assert ingest_file(conn, write_submission(settings.landing_dir, province, QUARTER), settings).status
        assert ingest_file(conn, outlier, settings).status == "accepted"
    assert pipeline.publish_new_figures(settings)["held"] == ["79 Thành phố Hồ Chí Minh 2026-09"]
    smtp_server.take()
    return settings


@pytest.fixture
def small_files(warehouse):
    return replace(warehouse, max_file_bytes=1024 * 1024)


def status(settings, period: str, indicator: str = "security_teams") -> tuple:
    with psycopg.connect(settings.warehouse_url) as conn:
        return conn.execute(
            """select publication_status, provinces_reporting, provinces_closed, provinces_held
               from marts.mart_national_indicator where period_code = %s and indicator_code = %s""",
            [period, indicator],
        ).fetchone()


def test_a_period_with_a_province_missing_or_a_hold_open_stays_provisional(warehouse):
    assert status(warehouse, QUARTER) == ("provisional", 33, 0, 0), "past its deadline, still missing Hà Nội"
    assert status(warehouse, "2026-09") == ("provisional", 34, 0, 1), "every province in, one held"
    assert status(warehouse, "2026-Q3") == ("provisional", 34, 0, 1), "a month inside it is held"
    assert status(warehouse, "2026-08") == ("final", 34, 0, 0)


def test_closing_is_refused_without_a_reason_or_for_a_province_that_sent(warehouse):
    with psycopg.connect(warehouse.warehouse_url, autocommit=True) as conn:
        with pytest.raises(closures.CloseError, match="say why"):
            closures.close(conn, QUARTER, "01", "  ", "ms.lan")
        with pytest.raises(closures.CloseError, match="sent 2026-Q2"):
            closures.close(conn, QUARTER, "38", "no report", "ms.lan")
        with pytest.raises(closures.CloseError, match="not a province"):
            closures.close(conn, QUARTER, "99", "no report", "ms.lan")
        with pytest.raises(closures.CloseError, match="not a period|period"):
            closures.close(conn, "2026-Q7", "01", "no report", "ms.lan")
        assert closures.closures(conn) == []


def test_the_data_team_closes_the_missing_province_on_the_desk_and_the_period_turns_final(warehouse, portal, mailbox):  # noqa: F811, E501
    team = _logged_in(portal, "doidulieu")
    desk = team.get("/team").text
    assert 'action="/team/close"' in desk, "the desk offers to close a period"
    token = re.search(r'name="csrf" value="([^"]+)"', desk).group(1)
    officer = _logged_in(portal, "thanhhoa")
    refused = officer.post("/team/close", data={"csrf": token, "period": QUARTER, "province": "01", "reason": "x"})
    assert refused.status_code == 403, "the data team's decision only"
    closed = team.post(
        "/team/close",
        data={"csrf": token, "period": QUARTER, "province": "01", "reason": "Hà Nội báo cáo gộp vào kỳ sau"},
    )
    assert closed.status_code == 303
    again = team.post("/team/close", data={"csrf": token, "period": QUARTER, "province": "01", "reason": "again"})
    assert again.status_code == 400 and "already closed" in again.text
    shown = team.get("/team").text
    assert "Hà Nội báo cáo gộp vào kỳ sau" in shown and "doidulieu" in shown, "who and why, on the desk"
    assert status(warehouse, QUARTER)[0] == "provisional", "until the next publish"
    pipeline.publish_new_figures(warehouse)
    assert status(warehouse, QUARTER) == ("final", 33, 1, 0)
    assert pipeline.write_final_reports(warehouse) == [QUARTER], "the publish that made it final writes its report"
    [told] = [m for m in mailbox.take() if "report" in m["Subject"]]
    body = told.get_body(("plain",)).get_content()
    docx = warehouse.reports_dir / "national" / re.search(r"national/(\S+\.docx)", body).group(1)
    assert docx.exists() and told["To"] == "data-team@antq.test" and QUARTER in told["Subject"]
    assert pipeline.write_final_reports(warehouse) == [], "until the next publish makes another final"


def test_confirming_the_last_hold_makes_the_period_final(warehouse):
    with psycopg.connect(warehouse.warehouse_url) as conn:
        (held,) = [h for h in holds.holds(conn, pending_only=True) if h.province_code == "79"]
    pipeline.review_hold(held.hold_id, holds.CONFIRMED, "the province phoned: new teams", "ms.lan", warehouse)
    pipeline.publish_new_figures(warehouse)
    assert status(warehouse, "2026-09") == ("final", 34, 0, 0)
    assert status(warehouse, "2026-Q3") == ("final", 34, 0, 0)
    assert pipeline.write_final_reports(warehouse) == ["2026-Q3"], "a quarter's report; a month has none"


def test_close_from_the_command_line(warehouse, monkeypatch, capsys):
    from warehouse.__main__ import main

    monkeypatch.setenv("ANTQ_WAREHOUSE_URL", warehouse.warehouse_url)
    monkeypatch.setenv("ANTQ_DATA_DIR", str(warehouse.data_dir))
    assert main(["close", "2026-10", "01", "--reason", "no report this month", "--by", "mr.hai"]) == 0
    assert "2026-10 closed for 01 Thành phố Hà Nội by mr.hai" in capsys.readouterr().out
    assert main(["close", "2026-10", "01", "--reason", "twice", "--by", "mr.hai"]) == 1
    assert "already closed" in capsys.readouterr().err
