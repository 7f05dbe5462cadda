"""The portal's web layer attacked as a stranger, a guesser and a signed-in officer would (issue 43): the
lockout counted atomically, password checks bounded in number and per address, a body never read for a
request that may not be answered, security headers, Secure cookies, logout whole or not at all, and a 4xx
for every hostile input that gave a 500. Real Postgres, real HTTP (uvicorn, or the ASGI app in process)."""

from __future__ import annotations

import contextlib
import gc
import os
import re
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from urllib.parse import urlsplit

import httpx
import openpyxl
import psycopg
import pytest
from fastapi.testclient import TestClient

from portal import auth
from portal.app import create_app
from portal.auth import MAX_FAILURES, TooManyAttempts, create_account, log_in
from tests import test_portal
from tests.helpers import indicator_workbook
from tests.test_portal import PASSWORD, _csrf, _logged_in

# test_portal.py's fixtures: the portal served by uvicorn on the test's warehouse, with three accounts.
portal, small_files = test_portal.portal, test_portal.small_files
MIB = 1024 * 1024


def _attempt(url: str, login: str, password: str, client: str = "203.0.113.7"):
    """One login on its own connection, as the portal makes it: the session, None, or the refusal raised."""
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            return log_in(conn, login, password, client)
        except (TooManyAttempts, auth.Busy) as refused:
            return refused


def _attempts_recorded(url: str, login: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("select count(*) from portal.login_attempt where login = %s", [login]).fetchone()[0]


def _waiting_on_locks(url: str) -> int:
    """Sessions of the test's database waiting for a lock (a table's or an advisory one)."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            """select count(*) from pg_stat_activity
               where datname = current_database() and wait_event_type = 'Lock'"""
        ).fetchone()[0]


def _until(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_forty_wrong_passwords_at_once_get_at_most_five_checks(settings):
    url = settings.warehouse_url
    with psycopg.connect(url, autocommit=True) as conn:
        create_account(conn, "nghean", PASSWORD, "40")
    start = threading.Barrier(40)

    def wrong(_):
        start.wait()
        return _attempt(url, "nghean", "doan-mo-sai")

    with ThreadPoolExecutor(40) as pool:
        results = list(pool.map(wrong, range(40)))
    checked = [r for r in results if r is None]  # a wrong password was checked and said so
    assert 1 <= len(checked) <= MAX_FAILURES, f"{len(checked)} passwords checked"
    # The others were refused unchecked: by the lockout, or (on a loaded machine) for want of a free check.
    assert all(r is None or isinstance(r, (TooManyAttempts, auth.Busy)) for r in results)
    assert _attempts_recorded(url, "nghean") == len(checked), "every check is recorded, no refusal is"


def test_the_right_password_behind_39_wrong_ones_in_flight_gets_no_session(settings, monkeypatch):
    """39 wrong passwords arrive, and while they are still in flight (held here at the attempts' table), the
    right one: it comes after five failures whatever their passwords' checks have said yet, so it waits. An
    attempt is in flight only while it holds a password check: 40 checks at once, as 20 portal processes
    would have between them."""
    monkeypatch.setattr(auth, "password_checks", threading.BoundedSemaphore(40))
    url = settings.warehouse_url
    with psycopg.connect(url, autocommit=True) as conn:
        create_account(conn, "nghean", PASSWORD, "40")
    holder = psycopg.connect(url)
    holder.execute("lock table portal.login_attempt in share mode")  # reads go on, writes wait
    try:
        with ThreadPoolExecutor(40) as pool:
            wrong = [pool.submit(_attempt, url, "nghean", "doan-mo-sai") for _ in range(39)]
            _until(lambda: _waiting_on_locks(url) == 39)
            right = pool.submit(_attempt, url, "nghean", PASSWORD)
            _until(lambda: _waiting_on_locks(url) == 40)
            holder.rollback()
            results = [f.result(60) for f in wrong]
            outcome = right.result(60)
    finally:
        holder.close()
    assert isinstance(outcome, TooManyAttempts), f"the right password got {outcome!r}"
    assert sum(r is None for r in results) <= MAX_FAILURES
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from portal.session").fetchone()[0] == 0


def test_twenty_failures_from_one_address_stop_it_for_every_login(settings):
    url = settings.warehouse_url
    with psycopg.connect(url, autocommit=True) as conn:
        create_account(conn, "nghean", PASSWORD, "40")
    for n in range(20):  # one guess at each of many logins: no account's limit is hit
        assert _attempt(url, f"doan-{n}", "doan-mo-sai", client="198.51.100.9") is None
    refused = _attempt(url, "nghean", PASSWORD, client="198.51.100.9")
    assert isinstance(refused, TooManyAttempts), "even a right password waits from that address"
    assert isinstance(_attempt(url, "nghean", PASSWORD, client="192.0.2.1"), auth.Session), "others do not"
    assert auth.MAX_CLIENT_FAILURES == 20


def test_a_login_finding_every_password_check_taken_waits_then_gets_429_uncounted(portal):
    client = httpx.Client(base_url=portal, timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    form = {"login": "thanhhoa", "password": PASSWORD, "csrf": csrf}
    for _ in range(auth.CONCURRENT_CHECKS):  # checks in progress, as many as the process allows
        auth.password_checks.acquire()
    try:
        began = time.monotonic()
        busy = client.post("/login", data=form)
        waited = time.monotonic() - began
    finally:
        for _ in range(auth.CONCURRENT_CHECKS):
            auth.password_checks.release()
    assert busy.status_code == 429 and int(busy.headers["retry-after"]) > 0
    assert "nhiều lượt đăng nhập cùng lúc" in busy.text
    assert waited >= auth.CHECK_WAIT.total_seconds() * 0.9, "it waited for a check first"
    assert client.post("/login", data=form).status_code == 303, "a refusal for load is no failure"


def test_a_burst_of_logins_checks_few_passwords_at_once(portal):
    """24 logins at once: argon2 takes HASH_MEMORY_KIB (19 MiB) a check, so the server's memory grows by a few
    checks' worth, not 24 (456 MiB); each is signed in or told when to come back."""
    import psutil

    me = psutil.Process()
    csrfs = []
    for _ in range(24):
        client = httpx.Client(base_url=portal, timeout=60)
        csrfs.append((client, re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)))
    baseline, peak, done = me.memory_info().rss, [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], me.memory_info().rss)
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    start = threading.Barrier(24)

    def log_in_once(pair):
        client, csrf = pair
        start.wait()
        return client.post("/login", data={"login": "thanhhoa", "password": PASSWORD, "csrf": csrf})

    try:
        with ThreadPoolExecutor(24) as pool:
            responses = list(pool.map(log_in_once, csrfs))
    finally:
        done.set()
        sampler.join()
    assert {r.status_code for r in responses} <= {303, 429}
    assert all(r.headers.get("retry-after") for r in responses if r.status_code == 429)
    grown = (peak[0] - baseline) / MIB
    check_mib = auth.HASH_MEMORY_KIB / 1024
    assert grown < 12 * check_mib, f"memory grew by {grown:.0f} MiB"  # CONCURRENT_CHECKS (4) checks, not 24


def _raw_post(base: str, path: str, headers: dict[str, str], body: bytes, seconds: float = 5) -> bytes:
    """Send a request's head and the first bytes of its body, never the rest, and read what comes back."""
    where = urlsplit(base)
    with socket.create_connection((where.hostname, where.port), timeout=seconds) as raw:
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        raw.sendall(f"POST {path} HTTP/1.1\r\nHost: {where.netloc}\r\n{head}\r\n".encode() + body)
        try:
            return raw.recv(65536)
        except TimeoutError:
            return b""  # still waiting for the rest of the body


def test_an_upload_without_a_session_is_answered_before_its_body_is_read(small_files, portal):
    headers = {
        "Content-Type": "multipart/form-data; boundary=antq",
        "Content-Length": str(small_files.max_file_bytes),  # within the size limit: only the session is missing
    }
    part = b'--antq\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
    answer = _raw_post(portal, "/upload", headers, part + b"x" * 10_000)  # a valid start, never ended
    assert answer.startswith(b"HTTP/1.1 303"), answer[:200]
    assert b"location: /login" in answer.lower()


def test_a_form_larger_than_any_form_is_refused_before_it_is_read(portal):
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(150 * MIB)}
    answer = _raw_post(portal, "/login", headers, b"login=" + b"a" * 10_000)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_every_response_carries_the_security_headers(portal):
    client = _logged_in(portal, "thanhhoa")
    stranger = httpx.Client(base_url=portal)
    responses = [
        client.get("/"),
        client.get("/submission/1"),  # 404
        client.get("/static/portal.css"),
        stranger.get("/"),  # 303 to the login
        stranger.get("/login"),
        stranger.post("/login", data={"login": "x", "password": "y"}),  # 403: no CSRF token
    ]
    for response in responses:
        headers = response.headers
        policy = headers.get("content-security-policy", "")
        assert "default-src 'self'" in policy and "script-src 'none'" in policy, response.url
        assert "frame-ancestors 'none'" in policy, response.url
        assert headers.get("x-frame-options") == "DENY", response.url
        assert headers.get("x-content-type-options") == "nosniff", response.url
        assert headers.get("referrer-policy") == "same-origin", response.url


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


def test_every_cookie_is_secure_when_the_portal_is_behind_tls(settings):
    from core.settings import Settings

    assert Settings.from_env({"ANTQ_PORTAL_SECURE_COOKIES": "true"}).portal_secure_cookies
    assert not Settings.from_env({}).portal_secure_cookies
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        create_account(conn, "thanhhoa", PASSWORD, "38")
    app = create_app(replace(settings, portal_secure_cookies=True))
    with TestClient(app, base_url="https://portal.test", follow_redirects=False) as client:
        first = client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', first.text).group(1)
        signed_in = client.post("/login", data={"login": "thanhhoa", "password": PASSWORD, "csrf": csrf})
        language = client.get("/lang/en")
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text).group(1)
        logged_out = client.post("/logout", data={"csrf": csrf})
    cookies = {
        **_set_cookies(first),
        **_set_cookies(signed_in),
        **_set_cookies(language),
    }
    assert set(cookies) == {"antq_csrf", "antq_session", "antq_lang"}
    assert _set_cookies(logged_out)["antq_session"]  # cleared
    for cookie in [*cookies.values(), _set_cookies(logged_out)["antq_session"]]:
        assert "; secure" in cookie.lower(), cookie


def test_a_logout_with_a_wrong_csrf_token_keeps_the_session_whole_and_a_dead_sessions_cookie_is_cleared(portal):
    """A logout is whole or nothing: a wrong token (a stale page, or a forgery) is refused and the session
    lives on in the warehouse *and* in the browser; a cookie of no live session is cleared, token or not."""
    client = _logged_in(portal, "thanhhoa")
    token = client.cookies["antq_session"]
    refused = client.post("/logout", data={"csrf": "forged"})
    assert refused.status_code == 403
    assert "antq_session" not in _set_cookies(refused), "the browser keeps the session it still has"
    assert client.get("/").status_code == 200, "and the warehouse keeps it too"

    logged_out = client.post("/logout", data={"csrf": _csrf(client)})
    assert logged_out.status_code == 303 and 'antq_session=""' in _set_cookies(logged_out)["antq_session"]
    dead = httpx.Client(base_url=portal, cookies={"antq_session": token})
    assert dead.get("/").status_code == 303, "the session is gone from the warehouse"
    cleared = dead.post("/logout", data={"csrf": "whatever"})
    assert cleared.status_code == 303 and 'antq_session=""' in _set_cookies(cleared)["antq_session"]


def _multipart(file_name: bytes, fields: dict[str, str]) -> tuple[bytes, str]:
    """A multipart form with the file name as raw bytes (httpx would escape a NUL)."""
    parts = [f'--antq\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts.append(
        b'--antq\r\nContent-Disposition: form-data; name="file"; filename="'
        + file_name
        + b'"\r\nContent-Type: text/csv\r\n\r\nperiod,unit_code\r\n'
    )
    return b"".join(parts) + b"--antq--\r\n", "multipart/form-data; boundary=antq"


@pytest.mark.parametrize(
    "file_name", [b"38_2026-09\x00.csv", ("x" * 4000 + ".csv").encode(), "tỉnh-thanh-hóa\n.csv".encode()]
)
def test_a_hostile_file_name_is_refused_with_400(portal, file_name):
    """A NUL, a line break, a name of 4,000 characters (at 5,000 the multipart parser itself answers 400)."""
    client = _logged_in(portal, "thanhhoa")
    body, content_type = _multipart(file_name, {"period": "2026-09", "action": "check", "csrf": _csrf(client)})
    response = client.post("/upload", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 400, response.text[:300]
    assert "Tên tệp không hợp lệ" in response.text


def test_ids_beyond_bigint_are_not_found_not_a_500(portal):
    officer, team = _logged_in(portal, "thanhhoa"), _logged_in(portal, "doidulieu")
    csrf = re.search(r'name="csrf" value="([^"]+)"', team.get("/team").text).group(1)
    review = {"decision": "confirm", "reason": "đã kiểm tra", "csrf": csrf}
    answers = {
        "submission beyond bigint": officer.get(f"/submission/{2**63}").status_code,
        "negative submission": officer.get("/submission/-1").status_code,
        "hold beyond bigint": team.post(f"/team/hold/{10**20}", data=review).status_code,
    }
    assert answers["submission beyond bigint"] == answers["negative submission"] == 404
    assert 400 <= answers["hold beyond bigint"] < 500  # refused before it reaches the review


def test_the_templates_province_is_a_provinces_code_and_its_file_name_a_safe_header(portal):
    team = _logged_in(portal, "doidulieu")
    for hostile in ("01\r\nSet-Cookie: antq_session=x", "01\nX-Injected: 1", "../38", "99", "1"):
        response = team.get("/template", params={"period": "2026-09", "province": hostile})
        assert response.status_code == 404, hostile
        assert "x-injected" not in response.headers and "set-cookie" not in response.headers
    named = team.get("/template", params={"period": "2026-09", "province": "01"})
    assert named.status_code == 200
    assert named.headers["content-disposition"] == 'attachment; filename="antq-01-2026-09.xlsx"'
    officer = _logged_in(portal, "thanhhoa")  # an officer's template is always their own province's
    own = officer.get("/template", params={"period": "2026-09", "province": "01\r\nX-Injected: 1"})
    assert own.headers["content-disposition"] == 'attachment; filename="antq-38-2026-09.xlsx"'


def _open_files_under(folder: str) -> list[str]:
    """Files this process (the portal runs in it, on a thread) has open whose path is under `folder`."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(folder):
                found.append(target)
    return found


def test_an_xlsx_refused_at_its_header_leaves_no_file_open(portal, tmp_path):
    client = _logged_in(portal, "thanhhoa")
    bad = indicator_workbook(tmp_path / "38_2026-09.xlsx", [])
    workbook = openpyxl.load_workbook(bad)
    workbook.active.delete_rows(1)
    workbook.active.append(["không", "phải", "cột"])
    workbook.active.append([1, 2, 3])
    workbook.save(bad)
    gc.disable()  # the collector would close it, when it happens to run
    try:
        response = client.post(
            "/upload",
            data={"period": "2026-09", "action": "check", "csrf": _csrf(client)},
            files={"file": (bad.name, bad.read_bytes())},
        )
        assert response.status_code == 200 and "chưa lưu gì" in response.text
        assert _open_files_under(tempfile.gettempdir() + "/antq-check-") == []
    finally:
        gc.enable()
