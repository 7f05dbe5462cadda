"""The ministry's reports from the portal: the data team writes the national report or any province's, an
officer only their own province's, and each downloads only what is theirs.

The module starts from three months of all 34 provinces, published (conftest.national_template)."""

from __future__ import annotations

import re
from dataclasses import replace

import httpx
import pytest

from tests.helpers import national_copy
from tests.test_portal import _logged_in, portal  # noqa: F401 (fixtures)

PERIOD = "2026-Q3"


@pytest.fixture(scope="module")
def warehouse(server_url, smtp_server, tmp_path_factory, national_template):
    return national_copy(server_url, smtp_server, tmp_path_factory, national_template, "antq_portal_reports")


@pytest.fixture
def small_files(warehouse):
    return replace(warehouse, max_file_bytes=1024 * 1024)


def written(client: httpx.Client) -> list[str]:
    return re.findall(r'<a href="(/reports/[^"]+)">', client.get("/reports").text)


def token(client: httpx.Client) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/reports").text).group(1)


def test_the_data_team_writes_the_national_report_and_a_provinces_and_downloads_them(portal):  # noqa: F811
    team = _logged_in(portal, "doidulieu")
    page = team.get("/reports").text
    assert 'id="write-report"' in page and '<option value="38">38 Thanh Hóa</option>' in page
    assert (
        team.post("/reports", data={"csrf": token(team), "period": PERIOD, "province": ""}, timeout=120).status_code
        == 303
    )
    assert (
        team.post("/reports", data={"csrf": token(team), "period": PERIOD, "province": "38"}, timeout=120).status_code
        == 303
    )
    links = written(team)
    national = [link for link in links if link.startswith("/reports/national/")]
    assert {link.rsplit(".", 1)[1] for link in national} >= {"docx", "xlsx"}, links
    assert any(link.startswith("/reports/38/") and link.endswith(".docx") for link in links), links
    docx = team.get(next(link for link in national if link.endswith(".docx")))
    assert docx.status_code == 200 and docx.content[:2] == b"PK"
    assert docx.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
    refused = team.post("/reports", data={"csrf": token(team), "period": "2031-Q1", "province": ""}, timeout=120)
    assert refused.status_code == 400 and "Chưa viết được báo cáo" in refused.text, "nothing published for it"
    assert team.post("/reports", data={"csrf": "forged", "period": PERIOD}, timeout=120).status_code == 403


def test_an_officer_writes_and_reads_only_their_own_provinces_report(portal):  # noqa: F811
    team = _logged_in(portal, "doidulieu")
    team.post("/reports", data={"csrf": token(team), "period": PERIOD, "province": ""}, timeout=120)
    team.post("/reports", data={"csrf": token(team), "period": PERIOD, "province": "40"}, timeout=120)
    officer = _logged_in(portal, "thanhhoa")
    assert 'id="report-province"' not in officer.get("/reports").text, "no choice of province"
    asked = officer.post("/reports", data={"csrf": token(officer), "period": PERIOD, "province": "40"}, timeout=120)
    assert asked.status_code == 303
    mine = written(officer)
    assert mine and all(link.startswith("/reports/38/") for link in mine), "Thanh Hóa's, whatever was asked"
    assert officer.get(mine[0]).status_code == 200
    others = [link for link in written(team) if not link.startswith("/reports/38/")]
    assert others, "the national report and Nghệ An's are there"
    for link in others:
        assert officer.get(link).status_code == 404, link
    for forged in ("/reports/38/..%2Fnational%2Fx.docx", "/reports/38/missing.docx", "/reports/national/"):
        assert officer.get(forged).status_code == 404, forged
    assert httpx.Client(base_url=portal).get("/reports").status_code == 303, "signed in only"
