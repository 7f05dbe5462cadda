"""The login limits against many officers behind one address (a province office behind NAT or a proxy, deadline
day's burst): correct logins in flight are no failures, so 40 officers signing in at once from one address
are all signed in; while parallel wrong guesses at one account still get at most MAX_FAILURES password
checks, and real failures from one address still stop it. Real Postgres, the real portal served by uvicorn
(every request comes from 127.0.0.1), real concurrent requests.

Each test runs with the process's CONCURRENT_CHECKS password checks, and again with 40 (as 20 portal
processes would have between them: then 40 attempts are in flight at once, their passwords being checked).
CHECK_WAIT is raised so that no attempt is refused for load (Busy, tests/test_portal_hardening.py): what
stops an attempt here is a limit, or nothing."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import psycopg
import pytest

from portal import auth
from portal.auth import MAX_CLIENT_FAILURES, MAX_FAILURES, create_account
from tests import test_portal
from tests.test_portal import PASSWORD

# test_portal.py's fixtures: the portal served by uvicorn on the test's warehouse, with three accounts.
portal, small_files = test_portal.portal, test_portal.small_files
OFFICERS = 40


@pytest.fixture(params=[auth.CONCURRENT_CHECKS, 40], ids=lambda n: f"{n}-checks-at-once")
def checks(request, monkeypatch) -> int:
    monkeypatch.setattr(auth, "password_checks", threading.BoundedSemaphore(request.param))
    monkeypatch.setattr(auth, "CHECK_WAIT", timedelta(seconds=120))
    return request.param


@pytest.fixture
def verifications(monkeypatch) -> list[str]:
    """The password of every argon2 check the portal makes, as it makes it."""
    made: list[str] = []
    hasher = auth._hasher

    class Counted:
        def hash(self, password):
            return hasher.hash(password)

        def verify(self, password_hash, password):
            made.append(password)
            return hasher.verify(password_hash, password)

        def check_needs_rehash(self, password_hash):
            return hasher.check_needs_rehash(password_hash)

    monkeypatch.setattr(auth, "_hasher", Counted())
    return made


def _login_clients(base: str, n: int) -> list[tuple[httpx.Client, str]]:
    """n browsers on the login page, each with its form's CSRF token."""
    clients = []
    for _ in range(n):
        client = httpx.Client(base_url=base, timeout=120, follow_redirects=False)
        clients.append((client, re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)))
    return clients


def _at_once(base: str, forms: list[dict[str, str]]) -> list[tuple[httpx.Response, float, float]]:
    """Post each form from its own browser, all released together: each response with when it was sent and
    when it came back."""
    clients = _login_clients(base, len(forms))
    start = threading.Barrier(len(forms))

    def post(i: int):
        client, csrf = clients[i]
        start.wait()
        sent = time.monotonic()
        response = client.post("/login", data={**forms[i], "csrf": csrf})
        return response, sent, time.monotonic()

    try:
        with ThreadPoolExecutor(len(forms)) as pool:
            return list(pool.map(post, range(len(forms))))
    finally:
        for client, _ in clients:
            client.close()


def _attempts(url: str) -> dict[object, int]:
    """portal.login_attempt's rows by outcome: True, False, None (a password still being checked)."""
    with psycopg.connect(url) as conn:
        return dict(conn.execute("select succeeded, count(*) from portal.login_attempt group by 1").fetchall())


def test_forty_officers_signing_in_at_once_from_one_address_are_all_signed_in(settings, portal, checks, verifications):
    url = settings.warehouse_url
    logins = [f"canbo-{n:02}" for n in range(OFFICERS)]
    with psycopg.connect(url, autocommit=True) as conn:
        for login in logins:
            create_account(conn, login, PASSWORD, "38")
    results = _at_once(portal, [{"login": login, "password": PASSWORD} for login in logins])
    first_back = min(back for _, _, back in results)
    overlapping = sum(sent < first_back for _, sent, _ in results)
    assert overlapping == OFFICERS, f"only {overlapping} were sent before the first was answered"
    told = [re.search(r'id="error">([^<]*)', r.text) for r, _, _ in results if r.status_code != 303]
    assert not told, f"{len(told)} of {OFFICERS} not signed in: {told[0] and told[0].group(1)}"
    assert all(r.cookies.get("antq_session") for r, _, _ in results)
    assert len(verifications) == OFFICERS
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(distinct login) from portal.session").fetchone()[0] == OFFICERS
    assert _attempts(url) == {True: OFFICERS}, "no attempt is left pending or failed"
    # And the address is not held back afterwards either.
    assert test_portal._logged_in(portal, "thanhhoa")


def test_parallel_wrong_guesses_at_one_account_get_at_most_its_limit_of_checks(settings, portal, checks, verifications):
    url = settings.warehouse_url
    results = _at_once(portal, [{"login": "nghean", "password": f"doan-mo-{n}"} for n in range(40)])
    codes = [r.status_code for r, _, _ in results]
    assert set(codes) <= {401, 429}
    checked = codes.count(401)  # a wrong password was checked and said so
    assert checked == MAX_FAILURES, f"{checked} guesses checked"
    assert len(verifications) == checked, "a refused guess gets no check"
    assert all("Đăng nhập sai quá nhiều lần" in r.text for r, _, _ in results if r.status_code == 429)
    assert _attempts(url) == {False: checked}
    client, csrf = _login_clients(portal, 1)[0]
    right = client.post("/login", data={"login": "nghean", "password": PASSWORD, "csrf": csrf})
    assert right.status_code == 429, "even the right password waits until the window has passed"
    assert test_portal._logged_in(portal, "thanhhoa"), "five failures of one account do not stop the address"


def test_twenty_real_failures_from_one_address_still_stop_it(settings, portal, checks, verifications):
    url = settings.warehouse_url
    guesses = 30  # one at each of 30 logins, none of which exists: no account's limit is hit
    results = _at_once(portal, [{"login": f"doan-{n:02}", "password": "doan-mo-sai"} for n in range(guesses)])
    codes = [r.status_code for r, _, _ in results]
    assert set(codes) <= {401, 429}
    checked = codes.count(401)
    # Only real failures count against the address, and a guess is pending only while its password is being
    # checked: guesses sent in parallel get at most that many checks beyond the limit.
    assert MAX_CLIENT_FAILURES <= checked <= MAX_CLIENT_FAILURES + checks - 1, f"{checked} guesses checked"
    assert len(verifications) == checked
    client, csrf = _login_clients(portal, 1)[0]
    refused = client.post("/login", data={"login": "thanhhoa", "password": PASSWORD, "csrf": csrf})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "Đăng nhập sai quá nhiều lần" in refused.text, "even a right password waits from that address"
    assert _attempts(url) == {False: checked}


def test_a_pending_attempt_counts_against_its_account_never_against_its_address(settings):
    """An attempt whose check never ended (its process killed mid-check) stays pending: it counts against its
    account, as a failure might, but no office behind the same address is held back by pending attempts."""
    url = settings.warehouse_url
    with psycopg.connect(url, autocommit=True) as conn:
        create_account(conn, "nghean", PASSWORD, "40")
        create_account(conn, "thanhhoa", PASSWORD, "38")
        for n in range(MAX_CLIENT_FAILURES + 5):
            conn.execute(
                "insert into portal.login_attempt (login, client, succeeded) values (%s, '198.51.100.9', null)",
                ["nghean" if n < MAX_FAILURES else f"canbo-{n}"],
            )
        with pytest.raises(auth.TooManyAttempts):
            auth.log_in(conn, "nghean", PASSWORD, "192.0.2.1")
        assert isinstance(auth.log_in(conn, "thanhhoa", PASSWORD, "198.51.100.9"), auth.Session)


def test_a_password_hashed_with_other_parameters_is_hashed_again_at_its_next_login(settings):
    """An account made before the portal's parameters changed (argon2-cffi's default: 64 MiB, 3 passes, 4 lanes)
    still signs in, and its hash is then made with today's; a wrong password changes nothing."""
    from argon2 import PasswordHasher

    old = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4).hash(PASSWORD)
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        create_account(conn, "quangtri", PASSWORD, "40")
        conn.execute("update portal.account set password_hash = %s where login = 'quangtri'", [old])

        def stored() -> str:
            return conn.execute("select password_hash from portal.account where login = 'quangtri'").fetchone()[0]

        assert auth.log_in(conn, "quangtri", "not the password", "192.0.2.7") is None
        assert stored() == old
        assert isinstance(auth.log_in(conn, "quangtri", PASSWORD, "192.0.2.7"), auth.Session)
        assert stored() != old and f"m={auth.HASH_MEMORY_KIB},t=2,p=1" in stored()
        assert isinstance(auth.log_in(conn, "quangtri", PASSWORD, "192.0.2.7"), auth.Session)
