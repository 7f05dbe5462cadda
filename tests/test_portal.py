"""The submission portal, served for real (uvicorn) on the test's warehouse: its security over HTTP, the
database's row-level security behind it, and an officer's whole journey in a real headless Chromium with
the network cut off from everything but this machine."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx
import psycopg
import pytest
import uvicorn

from core import security
from notify import alerts
from portal.app import create_app
from portal.auth import MAX_FAILURES, create_account
from tests.helpers import free_port, indicator_workbook
from tests.test_ingest import HEADER
from warehouse import pipeline

PASSWORD = "mat-khau-thu-nghiem"
SCREENSHOTS = Path(__file__).resolve().parent.parent / ".data" / "screenshots"


@pytest.fixture
def small_files(settings):
    """The test's settings with a 1 MB file size limit."""
    return replace(settings, max_file_bytes=1024 * 1024)


@pytest.fixture
def portal(small_files):
    """The portal on a free port, with officers of Thanh Hóa (38) and Nghệ An (40) and a data team account."""
    settings = small_files
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        create_account(conn, "thanhhoa", PASSWORD, "38", "Lê Văn Thanh")
        create_account(conn, "nghean", PASSWORD, "40", "Trần Thị Nghệ")
        create_account(conn, "doidulieu", PASSWORD, None, "Nhóm dữ liệu")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _logged_in(base: str, login: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=False)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    response = client.post("/login", data={"login": login, "password": PASSWORD, "csrf": csrf})
    assert response.status_code == 303, response.text
    return client


def _csrf(client: httpx.Client) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/").text).group(1)


def test_a_form_without_its_csrf_token_is_refused(portal):
    client = _logged_in(portal, "thanhhoa")
    files = {"file": ("a.csv", b"period,unit_code\n")}
    response = client.post("/upload", data={"period": "2026-09", "action": "submit"}, files=files)
    assert response.status_code == 403
    response = client.post("/upload", data={"period": "2026-09", "action": "submit", "csrf": "forged"}, files=files)
    assert response.status_code == 403
    fresh = httpx.Client(base_url=portal)
    assert fresh.post("/login", data={"login": "thanhhoa", "password": PASSWORD}).status_code == 403


def test_five_wrong_passwords_slow_the_account_down(portal):
    client = httpx.Client(base_url=portal)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    for _ in range(MAX_FAILURES):
        assert client.post("/login", data={"login": "nghean", "password": "sai", "csrf": csrf}).status_code == 401
    refused = client.post("/login", data={"login": "nghean", "password": PASSWORD, "csrf": csrf})
    assert refused.status_code == 429, "even the right password waits until the window has passed"
    assert "Đăng nhập sai quá nhiều lần" in refused.text
    assert _logged_in(portal, "thanhhoa"), "another account is not slowed down"


def test_an_upload_over_the_size_limit_is_refused_before_it_is_read(small_files, portal):
    client = _logged_in(portal, "thanhhoa")
    too_big = {"file": ("b.csv", b"x" * (small_files.max_file_bytes + 128 * 1024))}
    form = {"period": "2026-09", "action": "check", "csrf": _csrf(client)}
    response = client.post("/upload", data=form, files=too_big)
    assert response.status_code == 413
    with psycopg.connect(small_files.warehouse_url) as conn:
        assert conn.execute("select count(*) from portal.upload").fetchone()[0] == 0


def test_the_portal_role_reaches_only_functions_that_return_its_sessions_rows(settings, portal, tmp_path):
    """Behind the pages: the portal's database role reads no table of submissions, refusals, holds or uploads,
    not even through EXPLAIN ANALYZE (a row-level security predicate let it count another province's rows:
    `value = '950'` against `'951'`); its functions give Nghệ An's session none of Thanh Hóa's rows, give a
    request with no session nothing, and record an upload only for the session's own login and province."""
    thanh_hoa = _logged_in(portal, "thanhhoa")
    rows = [["2026-09", "14797", "security_teams", None, -1, None, None]]
    bad = indicator_workbook(tmp_path / "38_2026-09.xlsx", rows)
    thanh_hoa.post(
        "/upload",
        data={"period": "2026-09", "action": "submit", "csrf": _csrf(thanh_hoa)},
        files={"file": (bad.name, bad.read_bytes())},
    )
    nghe_an = _logged_in(portal, "nghean")
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        (refused_id,) = conn.execute(
            "select submission_id from ingest.submission where province_code = '38'"
        ).fetchone()
        conn.execute(f"set role {security.PORTAL}")
        for session in (nghe_an.cookies["antq_session"], "not-a-session", thanh_hoa.cookies["antq_session"]):
            conn.execute("select set_config('antq.session', %s, false)", [session])
            for table in ("ingest.submission", "ingest.rejection", "meta.hold", "portal.upload", "portal.session"):
                for query in (f"select count(*) from {table}", f"explain analyze select 1 from {table}"):
                    with pytest.raises(psycopg.errors.InsufficientPrivilege):
                        conn.execute(query)
        conn.execute("select set_config('antq.session', %s, false)", [nghe_an.cookies["antq_session"]])
        assert conn.execute("select count(*) from portal.submissions(null)").fetchone()[0] == 0
        assert conn.execute("select count(*) from portal.rejections(%s)", [refused_id]).fetchone()[0] == 0
        upload = conn.execute("select portal.record_upload('2026-09', 'x.csv', 1, 'submit')").fetchone()[0]
        conn.execute("select set_config('antq.session', 'not-a-session', false)")
        assert conn.execute("select count(*) from portal.submissions(null)").fetchone()[0] == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select portal.record_upload('2026-09', 'x.csv', 1, 'submit')")
        conn.execute("select set_config('antq.session', %s, false)", [thanh_hoa.cookies["antq_session"]])
        assert conn.execute("select count(*) from portal.rejections(%s)", [refused_id]).fetchone()[0] == 1
        conn.execute("select portal.record_upload_result(%s, 'accepted', null)", [upload])  # not Thanh Hóa's own
        conn.execute("reset role")
        recorded = conn.execute("select login, province_code, status from portal.upload where upload_id = %s", [upload])
        assert recorded.fetchone() == ("nghean", "40", None), "recorded as the session's, changed by no other"


# --- in a real browser -------------------------------------------------------------------------------------


def _sign_in(driver, base: str, login: str) -> None:
    """Sign in through the login page in the browser (every test account's password is PASSWORD), and wait
    until the login has answered: a page asked for sooner goes out without the session's cookie."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{base}/login")
    driver.find_element(By.ID, "login").send_keys(login)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "submit").click()
    WebDriverWait(driver, 30).until(lambda d: not d.current_url.endswith("/login"))


def _browser(downloads: Path):
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("no chromium/chromedriver: make test installs Debian's chromium and chromium-driver as root")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=420,900",  # a phone's width
        # The network is cut off from everything but this machine: no name resolves, any other address
        # goes to a proxy that does not exist.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=127.0.0.1;localhost",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-features=OptimizationHints,MediaRouter,Translate",
    ):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads)})
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


def _requested(driver) -> list[str]:
    """Every URL the page asked for since the last call (Chromium's DevTools network events)."""
    urls = []
    for entry in driver.get_log("performance"):
        event = json.loads(entry["message"])["message"]
        if event["method"] == "Network.requestWillBeSent":
            urls.append(event["params"]["request"]["url"])
    return urls


def _local_only(urls: list[str], base: str) -> list[str]:
    return [u for u in urls if not (u.startswith(base) or u.startswith(("file://", "data:", "about:")))]


@pytest.mark.e2e
@pytest.mark.browser
def test_an_officer_checks_fixes_and_sends_a_file_in_a_browser_offline(settings, portal, tmp_path):
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.expected_conditions import staleness_of
    from selenium.webdriver.support.wait import WebDriverWait

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = _browser(downloads)
    seen: list[str] = []
    try:

        def click_and_load(element) -> None:
            """Click what leads to a new page, and wait until the new page replaced the old one."""
            old = driver.find_element(By.TAG_NAME, "html")
            element.click()

            def replaced(driver) -> bool:
                # Chromium sometimes answers for a node of the page just left with an inspector error instead
                # of a stale element (seen once in a fresh-clone run): that node is gone too.
                try:
                    return staleness_of(old)(driver)
                except WebDriverException as error:
                    if "does not belong to the document" in str(error):
                        return True
                    raise

            WebDriverWait(driver, 30).until(replaced)

        def log_in(login: str) -> None:
            driver.get(f"{portal}/login")
            driver.find_element(By.ID, "login").send_keys(login)
            driver.find_element(By.ID, "password").send_keys(PASSWORD)
            click_and_load(driver.find_element(By.ID, "submit"))

        for _ in range(MAX_FAILURES):  # someone guessing Thanh Hóa's password
            driver.get(f"{portal}/login")
            driver.find_element(By.ID, "login").send_keys("thanhhoa")
            driver.find_element(By.ID, "password").send_keys("doan-mo")
            click_and_load(driver.find_element(By.ID, "submit"))
            assert "Sai tên đăng nhập hoặc mật khẩu" in driver.page_source
        log_in("thanhhoa")
        assert "Đăng nhập sai quá nhiều lần" in driver.page_source, "the right password waits too"
        with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:  # the window has passed
            conn.execute("update portal.login_attempt set attempted_at = attempted_at - interval '1 hour'")
        log_in("thanhhoa")
        assert "Các lần gửi" in driver.page_source
        css = driver.execute_script("return getComputedStyle(document.querySelector('header')).backgroundColor")
        assert css == "rgb(122, 13, 13)", "the portal's own stylesheet is applied"
        driver.save_screenshot(str(SCREENSHOTS / "portal-province.png"))

        driver.find_element(By.CSS_SELECTOR, "#template select").send_keys("2026-09")
        driver.find_element(By.CSS_SELECTOR, "#template button").click()
        for _ in range(100):
            if list(downloads.glob("*.xlsx")):
                break
            time.sleep(0.1)
        (template,) = downloads.glob("*.xlsx")
        assert template.name == "antq-38-2026-09.xlsx"

        faulty = indicator_workbook(
            tmp_path / "38_2026-09.xlsx",
            [
                ["2026-09", "14797", "security_teams", None, 12, None, None],
                ["2026-09", "Phường Không Có", "security_teams", None, 5, None, None],
                ["2026-09", "14758", "security_teams", None, "4.351", None, None],
            ],
        )

        def upload(path: Path, button: str) -> None:
            driver.find_element(By.ID, "period").send_keys("2026-09")
            driver.find_element(By.ID, "file").send_keys(str(path))
            click_and_load(driver.find_element(By.ID, button))

        upload(faulty, "check")
        problems = driver.find_element(By.ID, "problems").text
        assert "Tệp có 2 lỗi, chưa lưu gì" in driver.find_element(By.ID, "verdict").text
        assert "Phường Không Có" in problems and "không phải tên đơn vị thuộc tỉnh 38" in problems
        assert "4.351" in problems and "phải là số nguyên" in problems
        driver.save_screenshot(str(SCREENSHOTS / "portal-check-refused.png"))
        click_and_load(driver.find_element(By.LINK_TEXT, "English"))
        assert "Check or send a file" in driver.page_source, "in English"
        click_and_load(driver.find_element(By.LINK_TEXT, "Tiếng Việt"))

        driver.get(portal)  # a form posted without its CSRF token (as another site's page would) is refused
        driver.execute_script("document.querySelector('#upload input[name=csrf]').remove()")
        upload(faulty, "send")
        assert "Biểu mẫu đã hết hạn hoặc không hợp lệ" in driver.page_source
        driver.get(portal)
        upload(faulty, "send")
        assert "Tệp bị từ chối (2 lỗi)" in driver.find_element(By.ID, "verdict").text
        fixed = indicator_workbook(
            tmp_path / "38_2026-09_sua.xlsx",
            [
                ["2026-09", "14797", "security_teams", None, 12, None, None],
                ["2026-09", "14758", "security_teams", None, 4351, None, None],
            ],
        )
        driver.get(portal)
        upload(fixed, "send")
        assert "Đã nhận tệp: bản 1, 2 dòng" in driver.find_element(By.ID, "verdict").text
        driver.get(portal)
        assert "đã nhận, chờ công bố" in driver.find_element(By.ID, "submissions").text

        pipeline.publish_new_figures(settings)  # what the antq_publish DAG does next
        driver.get(portal)
        table = driver.find_element(By.ID, "submissions").text
        assert "đã công bố" in table and "bị từ chối" in table
        driver.save_screenshot(str(SCREENSHOTS / "portal-published.png"))
        with psycopg.connect(settings.warehouse_url) as conn:
            ids = [r[0] for r in conn.execute("select submission_id from ingest.submission order by 1")]
            landed = conn.execute("select count(*) from portal.upload where purpose = 'submit'").fetchone()[0]
        assert landed == 2 and len(ids) == 2
        seen += _requested(driver)

        driver.delete_all_cookies()
        log_in("nghean")
        assert "Lê Văn Thanh" not in driver.page_source and "38_2026-09" not in driver.page_source
        for submission_id in ids:
            driver.get(f"{portal}/submission/{submission_id}")
            # A 404 page: under load Chromium was seen to give an empty source for a moment after get().
            WebDriverWait(driver, 30).until(lambda d: "Không tìm thấy" in d.page_source)
            assert "38_2026-09" not in driver.page_source
        driver.get(f"{portal}/team")
        assert "Không có quyền truy cập" in driver.page_source

        with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:  # waiting for the mail server
            late = alerts.Alert("task_failed", "task_failed:x", ("data-team@antq.test",), "[ANTQ] Task failed: x", ())
            alerts.queue(conn, late, settings)
        driver.delete_all_cookies()
        log_in("doidulieu")
        assert "Tình hình nộp báo cáo" in driver.page_source
        assert "task_failed 1" in driver.find_element(By.ID, "undelivered").text, "counted by kind on the desk"
        click_and_load(driver.find_element(By.LINK_TEXT, "Xem từng thư chưa gửi được"))
        assert "[ANTQ] Task failed: x" in driver.find_element(By.ID, "undelivered").text, "each behind the link"
        driver.get(f"{portal}/team")
        assert "đã công bố" in driver.find_element(By.ID, "completeness").text
        driver.save_screenshot(str(SCREENSHOTS / "portal-team.png"))
        seen += _requested(driver)
        assert _local_only(seen, portal) == [], "no request leaves the machine"
        assert any(url.endswith("/static/portal.css") for url in seen)

        (report,) = [p for p in (settings.data_dir / "gx").glob("report-*.html") if "build" in p.name]
        driver.get(report.as_uri())
        assert "Passed" in driver.page_source and "Checks run" in driver.page_source
        driver.save_screenshot(str(SCREENSHOTS / "gate-report.png"))
        assert _local_only(_requested(driver), portal) == [], "the gate report needs nothing from the internet"
    finally:
        driver.quit()


def test_checking_a_file_already_received_names_the_submission_it_was(settings, portal):
    with psycopg.connect(settings.warehouse_url) as conn:
        commune = conn.execute(
            "select unit_code from ref.unit where map = 'current' and unit_level = 'commune' and province_code = '38'"
            " order by 1 limit 1"
        ).fetchone()[0]
    data = f"{','.join(HEADER)}\n2026-09,{commune},security_teams,,12,,\n".encode()
    client = _logged_in(portal, "thanhhoa")

    def upload(action: str) -> httpx.Response:
        form = {"period": "2026-09", "action": action, "csrf": _csrf(client)}
        return client.post("/upload", data=form, files={"file": ("38_2026-09.csv", data)})

    submission = re.search(r'href="/submission/(\d+)"', upload("submit").text).group(1)
    checked = upload("check").text
    assert f"Tệp này đã được nhận trước đó (lần gửi #{submission})." in checked, checked
    assert "#None" not in checked


def test_a_landing_copy_that_fails_leaves_nothing_in_landing(tmp_path, monkeypatch):
    """The disk fills while the portal copies a sent file into landing: the send fails, and no part of the file
    stays there (a `.part` file was left behind for ever)."""
    import errno

    from portal import officer

    sent = tmp_path / "38_2026-09.csv"
    sent.write_bytes(b"x" * 100_000)
    landing = tmp_path / "landing" / "38" / "2026-09"

    def half_then_full(source, target):
        Path(target).write_bytes(Path(source).read_bytes()[:4096])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(officer.shutil, "copyfile", half_then_full)
    with pytest.raises(OSError, match="No space left"):
        officer._land(sent, landing)
    assert list(landing.iterdir()) == []
