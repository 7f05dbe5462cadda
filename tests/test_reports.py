"""The ministry's report (reports/), written from a real warehouse: every number in the document is a published
figure traced to its mart row, Thanh Hóa's 2024 figures from the seed article come out in Vietnamese notation,
a provisional period says so, a province's report holds no other province's unit-level figure, the PDF opens,
and rendering needs no network.

The warehouse starts from three published months of all 34 provinces (conftest.national_template). Then every
province sends 2025-Q3 (the year before 2026-Q3; three of them with their models, as the XLSX template), Thanh
Hóa sends 2024 as the seed article gives it (its own totals, through the template), and Thanh Hóa and Hà Nội
send October 2026 (so 2026-Q4 is provisional); one publish run. The reports are written once, under a guard
that refuses every network connection.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
from collections import Counter
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import docx
import openpyxl
import psycopg
import pytest
import yaml
from docx.text.paragraph import Paragraph
from psycopg import sql
from psycopg.conninfo import make_conninfo

from core import notation
from core.security import analyst_schema
from ingestion.generator import current_province_codes, write_submission
from ingestion.loader import ingest_file
from ingestion.periods import parse_period
from reports import figures
from reports import pdf as report_pdf
from reports.document import SETTING_VARIABLES
from reports.figures import GROUPS, reader
from reports.report import write_report
from reports.text import TEXT_DIR, period_name
from tests.helpers import indicator_workbook, national_copy
from warehouse import pipeline

TODAY = date(2026, 12, 7)
# Thanh Hóa 2024, as the seed article (shared/seeds/000_*.txt) reports it: counts, and shares of its households
# (99% in ANXH teams, over 78% with a second member trained in fire safety, 100% with a second escape route,
# 98% with an extinguisher) as numerators over 1,000,000 households.
SEED_COUNTS = {
    "steering_committees": 558,
    "security_teams": 4351,
    "security_team_members": 8702,
    "anxh_teams": 34931,
    "models_launched": 165,
    "models_active": 909,
    "fire_safety_groups": 1120,
    "public_fire_points": 1670,
}
SEED_SHARES = {
    "households_in_anxh": 990_000,
    "households_second_member_trained_pccc": 781_000,
    "households_second_escape_route": 1_000_000,
    "households_with_extinguisher": 980_000,
}
SEED_SHOWN = ("558", "4.351", "8.702", "34.931", "165", "909", "1.120", "1.670", "99,0%", "78,1%", "100,0%", "98,0%")
# A number as a reader would count one: every run of digits, with its thousands or decimal marks.
DIGITS = r"\d+(?:[.,]\d+)*"


def numbers(text: str) -> list[str]:
    return re.findall(DIGITS, text)


@contextmanager
def no_network(folder: Path):
    """Refuse every network connection this process makes (a Unix socket, as the embedded Postgres's, stays
    allowed), and run LibreOffice in a network namespace of its own, with no interface but loopback, where this
    machine allows it (unshare)."""
    refused: list = []
    real = socket.socket.connect, socket.socket.connect_ex

    def refuse(original):
        def connect(self, address):
            if self.family in (socket.AF_INET, socket.AF_INET6):
                refused.append(address)
                raise ConnectionRefusedError(f"no network while a report renders: {address}")
            return original(self, address)

        return connect

    socket.socket.connect, socket.socket.connect_ex = refuse(real[0]), refuse(real[1])
    path = os.environ["PATH"]
    office = report_pdf.soffice()
    if office and shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], check=False).returncode == 0:
        shim = folder / "bin" / "soffice"
        shim.parent.mkdir()
        shim.write_text(f'#!/bin/sh\nexec unshare -n "{office}" "$@"\n')
        shim.chmod(0o755)
        os.environ["PATH"] = f"{shim.parent}:{path}"
    try:
        yield refused
    finally:
        socket.socket.connect, socket.socket.connect_ex = real
        os.environ["PATH"] = path


@pytest.fixture(scope="module")
def warehouse(server_url, smtp_server, tmp_path_factory, national_template):
    settings = national_copy(server_url, smtp_server, tmp_path_factory, national_template, "antq_reports")
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        with_models = ("38", "01", "79")
        for province in current_province_codes():
            path = write_submission(
                settings.landing_dir, province, "2025-Q3", file_format="xlsx" if province in with_models else "csv"
            )
            assert ingest_file(conn, path, settings).status == "accepted"
        for province in ("38", "01"):
            assert ingest_file(conn, write_submission(settings.landing_dir, province, "2026-10"), settings).status
        folder = settings.landing_dir / "38" / "2024"
        folder.mkdir(parents=True)
        rows = [["2024", "38", code, "", value, None, None] for code, value in SEED_COUNTS.items()]
        rows += [["2024", "38", code, "", None, households, 1_000_000] for code, households in SEED_SHARES.items()]
        result = ingest_file(conn, indicator_workbook(folder / "38_2024.xlsx", rows), settings)
        assert result.status == "accepted", result.problems
    assert pipeline.publish_new_figures(settings)["held"] == []
    smtp_server.take()
    return settings


@pytest.fixture(scope="module")
def reports(warehouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    with no_network(out) as refused:
        written = {
            "national": write_report(warehouse, "2026-Q3", out=out, today=TODAY),
            "thanh_hoa_2024": write_report(warehouse, "2024", "38", out=out, today=TODAY),
            "thanh_hoa_month": write_report(warehouse, "2026-09", "38", out=out, pdf=False, today=TODAY),
            "provisional": write_report(warehouse, "2026-Q4", out=out, pdf=False, today=TODAY),
            "national_en": write_report(warehouse, "2026-Q3", out=out, language="en", pdf=False, today=TODAY),
        }
    written["refused"] = refused
    return written


def paragraphs(path: Path) -> list[str]:
    """Every paragraph of a DOCX as a reader reads it, in the body and in every table cell, in order."""
    document = docx.Document(path)
    body = document.element.body
    found = [
        Paragraph(p, document).text
        for p in body.iter("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}p")
    ]
    for section in document.sections:
        for part in (section.header, section.footer):
            found += [p.text for p in part.paragraphs]
    return found


def citations(path: Path) -> list[dict]:
    """The annex's figures: what the document shows, where, and the mart row it comes from."""
    sheet = openpyxl.load_workbook(path).worksheets[1]
    names = ("shown", "kind", "how", "context", "relation", "key", "column", "value")
    return [dict(zip(names, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)]


def mart_value(conn, citation: dict):
    key = json.loads(citation["key"])
    schema, table = citation["relation"].split(".")
    where = sql.SQL(" and ").join(sql.SQL("{}::text = %s").format(sql.Identifier(column)) for column in key)
    query = (
        sql.SQL("select {} from {} where ").format(sql.Identifier(citation["column"]), sql.Identifier(schema, table))
        + where
    )
    found = conn.execute(query, list(key.values())).fetchall()
    assert len(found) == 1, f"{citation['relation']} {key}: {len(found)} rows"
    return found[0][0]


def written_as(language: str, how: str, value) -> str:
    if how == "count":
        return notation.number(language, int(abs(value)))
    if how == "percent":
        return notation.percent(language, float(abs(value)))
    assert how == "points", how
    return notation.decimal(language, float(abs(value)))


@pytest.mark.parametrize(
    ("report", "language"),
    [
        ("national", "vi"),
        ("thanh_hoa_2024", "vi"),
        ("thanh_hoa_month", "vi"),
        ("provisional", "vi"),
        ("national_en", "en"),
    ],
)
def test_every_number_in_the_document_is_a_published_figure_traced_to_its_mart_row(
    warehouse, reports, report, language
):
    written = reports[report]
    cited = citations(written.annex)
    in_document = Counter((text, n) for text in paragraphs(written.docx) for n in numbers(text))
    in_annex = Counter((c["context"], n) for c in cited for n in numbers(c["shown"]))
    uncited, absent = sorted(in_document - in_annex)[:5], sorted(in_annex - in_document)[:5]
    assert in_document == in_annex, f"in the document, not cited: {uncited}; cited, not there: {absent}"
    assert in_document, "the document shows figures"
    settings_of = {variable: name for name, variable in SETTING_VARIABLES.items()}
    period = written.docx.stem.split("_")[1]
    with psycopg.connect(warehouse.warehouse_url) as conn:
        for c in cited:
            if c["kind"] == "figure":
                value = mart_value(conn, c)
                assert Decimal(str(c["value"])) == value, c
                assert c["shown"] == written_as(language, c["how"], value), c
            elif c["kind"] == "name":
                value = mart_value(conn, c)
                assert value == c["value"] and c["shown"].lower() in value.lower(), c
            elif c["kind"] == "period":
                assert mart_value(conn, c) == c["value"] == period, c
                assert c["shown"] == period_name(language, parse_period(period)), c
            elif c["kind"] == "date":
                assert int(c["value"]) == getattr(TODAY, c["column"]), c
            elif c["kind"] == "setting":
                assert c["value"] == getattr(warehouse, settings_of[c["column"]]), c
            else:
                assert c["kind"] == "heading" and 1 <= int(c["value"]) <= len(GROUPS) + 1, c


def test_thanh_hoa_s_2024_figures_from_the_seed_article_are_in_its_sentences_in_vietnamese_notation(reports):
    written = reports["thanh_hoa_2024"]
    sentences = " ".join(text for text in paragraphs(written.docx) if text.endswith("."))
    shown = set(numbers(sentences)) | {f"{n}%" for n in numbers(sentences)}
    assert set(SEED_SHOWN) <= {s for s in shown if s in sentences}, set(SEED_SHOWN) - shown
    for phrase in ("Thanh Hóa có 558 ban chỉ đạo ANTT ở cơ sở", "4.351 tổ bảo vệ ANTT ở cơ sở", "8.702 thành viên"):
        assert phrase in sentences
    assert "Tỷ lệ hộ gia đình tham gia tổ ANXH của Thanh Hóa đạt 99,0%" in sentences
    assert "4351" not in sentences and "99.0" not in sentences


def test_a_provisional_period_s_report_says_so_where_its_figures_are(warehouse, reports):
    with psycopg.connect(warehouse.warehouse_url) as conn:
        statuses = dict(
            conn.execute(
                "select indicator_code, publication_status from marts.mart_national_indicator where period_code = %s",
                ["2026-Q4"],
            ).fetchall()
        )
        final = conn.execute(
            "select bool_and(publication_status = 'final') from marts.mart_national_indicator where period_code = %s",
            ["2026-Q3"],
        ).fetchone()[0]
    assert set(statuses.values()) == {"provisional"}, "two provinces of 34 sent October"
    cited = citations(reports["provisional"].annex)
    national_values = [
        c for c in cited if c["relation"] == "marts.mart_national_indicator" and c["column"] in ("value", "ratio_pct")
    ]
    assert national_values and all("tạm thời" in c["context"] for c in national_values)
    text = " ".join(paragraphs(reports["provisional"].docx))
    assert "2/34 tỉnh, thành phố" in text
    assert final, "every province sent July to September"
    assert "tạm thời" not in " ".join(paragraphs(reports["national"].docx)), "a final period is not called provisional"


def test_a_province_report_reads_its_own_schema_and_shows_no_other_province_s_unit_level_figure(warehouse, reports):
    written = reports["thanh_hoa_month"]
    cited = citations(written.annex)
    own = analyst_schema("38")
    assert {c["relation"].split(".")[0] for c in cited if c["relation"] and c["relation"] != "settings"} == {own}
    facts = [c for c in cited if c["relation"] == f"{own}.fct_indicator_value"]
    assert len({json.loads(c["key"])["unit_key"] for c in facts}) > 100, "the communes' table of Thanh Hóa"
    with psycopg.connect(warehouse.warehouse_url) as conn:
        submissions = {json.loads(c["key"])["submission_id"] for c in facts}
        provinces = conn.execute(
            "select distinct province_code from ingest.submission where submission_id = any(%s)",
            [[int(s) for s in submissions]],
        ).fetchall()
        assert provinces == [("38",)]
        others = {
            name
            for (name,) in conn.execute(
                "select distinct u.unit_name from marts.fct_indicator_value as f"
                " join marts.dim_unit as u using (unit_key) where f.period_code = '2026-09' and f.province_code <> '38'"
                " except select u.unit_name from marts.dim_unit as u where u.province_code = '38'"
            )
        }
    assert len(others) > 1000
    assert not others & set(paragraphs(written.docx)), "another province's commune is in Thanh Hóa's report"
    with reader(warehouse, "38") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select count(*) from marts.fct_indicator_value")


def test_the_pdf_opens_and_its_text_is_extractable(reports):
    import pypdf

    if reports["national"].pdf is None:
        pytest.skip(f"LibreOffice (soffice) is not installed here ({reports['national'].pdf_missing})")
    for name, expected in (("national", "BÁO CÁO"), ("thanh_hoa_2024", "4.351")):
        pages = pypdf.PdfReader(reports[name].pdf).pages
        text = " ".join(page.extract_text() for page in pages)
        assert len(pages) > 1 and expected in text and "Nơi nhận" in text, name


def test_rendering_needs_no_network(reports, tmp_path):
    assert reports["refused"] == [], "a report tried to reach the network"
    with no_network(tmp_path), pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", 9), timeout=1)


def test_without_libreoffice_the_docx_and_annex_are_written_and_the_pdf_said_missing(warehouse, tmp_path, monkeypatch):
    monkeypatch.setattr(report_pdf, "soffice", lambda: None)
    written = write_report(warehouse, "2026-Q3", out=tmp_path, today=TODAY)
    assert written.docx.exists() and written.annex.exists() and written.pdf is None
    assert "LibreOffice" in written.pdf_missing and "libreoffice-writer-nogui" in written.pdf_missing


def test_a_period_with_nothing_published_is_said_so(warehouse, tmp_path):
    from reports.figures import NotPublished

    with pytest.raises(NotPublished, match="2019-Q1"):
        write_report(warehouse, "2019-Q1", out=tmp_path, pdf=False)


def test_a_pipeline_user_that_made_the_readers_role_itself_reads_as_it(warehouse, monkeypatch):
    """docker-compose.yml's pipeline user (CREATEROLE, not a superuser) makes antq_bi_reader when it prepares
    the warehouse: from Postgres 16 it then administers that role but may not SET ROLE to it, until the report
    grants itself that (without inheriting the role's privileges)."""
    owner, made = f"antq_report_owner_{os.getpid()}", f"antq_report_reader_{os.getpid()}"
    with psycopg.connect(warehouse.warehouse_url, autocommit=True) as admin:
        for role in (made, owner):
            admin.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))
        admin.execute(sql.SQL("create role {} login createrole").format(sql.Identifier(owner)))
        try:
            as_owner = make_conninfo(warehouse.warehouse_url, user=owner)
            with psycopg.connect(as_owner, autocommit=True) as conn:
                conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(made)))
            monkeypatch.setattr(figures, "BI_READER", made)
            with reader(replace(warehouse, warehouse_url=as_owner)) as conn:
                assert conn.execute("select current_user as who").fetchone()["who"] == made
        finally:
            for role in (made, owner):
                admin.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))


def _keys(node, path=""):
    if isinstance(node, dict):
        return {f"{path}.{k}" for k in node} | {key for k, v in node.items() for key in _keys(v, f"{path}.{k}")}
    return set()


def _placeholders(node, path=""):
    import string

    if isinstance(node, dict):
        return {key: value for k, v in node.items() for key, value in _placeholders(v, f"{path}.{k}").items()}
    if isinstance(node, str):
        return {path: sorted(name for _, name, _, _ in string.Formatter().parse(node) if name)}
    return {}


def test_the_vietnamese_text_and_its_english_twin_have_the_same_keys_and_placeholders():
    vi, en = (yaml.safe_load((TEXT_DIR / f"{language}.yaml").read_text(encoding="utf-8")) for language in ("vi", "en"))
    assert _keys(vi) == _keys(en)
    assert _placeholders(vi) == _placeholders(en)
