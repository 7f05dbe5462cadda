"""Accounts, sessions and the login rate limit of the portal, kept in the warehouse's `portal` schema.

Passwords are hashed with argon2id, with OWASP's first configuration (19 MiB, 2 passes, 1 lane): about
0.02 s of one core a check here. argon2-cffi's default (RFC 9106's low-memory one: 64 MiB, 3 passes, 4 lanes)
took 0.14 s, and on deadline day (100 officers signing in within 20 s on 2 cores) every page waited behind
the logins. A hash made with other parameters is still checked, and made again with these at its account's
next login.

A session is a random token in an HttpOnly cookie; the warehouse keeps only its sha256, with an expiry and the
session's CSRF token. After MAX_FAILURES failed logins of an account within FAILURE_WINDOW, every further
attempt, right or wrong, waits until the window has passed; so does every attempt from an address that failed
MAX_CLIENT_FAILURES times in the window, whatever the logins it tried. At most CONCURRENT_CHECKS passwords are
checked at once in a process, since each check takes its memory: an attempt that finds no free check within
CHECK_WAIT is refused (Busy), so a burst costs time, never memory.

Attempts that arrive together: an attempt that holds a check is recorded as pending (succeeded null) before
its password is checked, and marked succeeded or failed after, the counting and the recording under a lock
on its login and its address. A pending attempt counts against its account as the failure it may be:
however many guesses at one account arrive at once, at most MAX_FAILURES of its passwords are checked in a
window (an attempt whose process died mid-check stays pending, and counts so until the window has passed).
Against its address it does not count: many officers behind one address (a province office behind NAT or a
proxy, deadline day's burst) sign in at once, and an address locked out by its own correct logins in flight
(it was, when they were counted as failed until checked) stops a whole office for the window. What that
costs the address's limit is bounded, since an attempt is pending only while it holds one of its process's
checks (it is recorded after taking one, marked before giving it back): guesses sent at once at many logins
from one address get at most CONCURRENT_CHECKS - 1 checks per portal process beyond MAX_CLIENT_FAILURES.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

SESSION_LIFETIME = timedelta(hours=8)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
MAX_CLIENT_FAILURES = 20  # failed logins from one address within FAILURE_WINDOW, across every login
CONCURRENT_CHECKS = 4  # argon2 checks at once in this process (HASH_MEMORY_KIB each)
CHECK_WAIT = timedelta(seconds=2)  # how long an attempt waits for a free check before it is refused
BUSY_RETRY = timedelta(seconds=5)  # what a refused attempt is told to wait (Retry-After)
# Taken by every password check of this process; a test may hold it to stand for checks in progress.
password_checks = threading.BoundedSemaphore(CONCURRENT_CHECKS)
HASH_MEMORY_KIB = 19 * 1024
_hasher = PasswordHasher(time_cost=2, memory_cost=HASH_MEMORY_KIB, parallelism=1)
# Verified when the login does not exist, so a wrong login costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class Session:
    token: str
    login: str
    province_code: str | None  # None: the data team
    csrf_token: str
    full_name: str = ""

    @property
    def is_data_team(self) -> bool:
        return self.province_code is None


class TooManyAttempts(Exception):
    """The account, or the address, failed too often lately: the attempt is refused unchecked."""

    def __init__(self, wait: timedelta):
        super().__init__(f"too many failed logins; try again in {int(wait.total_seconds()) + 1} s")
        self.wait = wait


class Busy(Exception):
    """Every password check of this process stayed taken for CHECK_WAIT: the attempt is refused, uncounted."""

    def __init__(self, wait: timedelta = BUSY_RETRY):
        super().__init__(f"too many logins at once; try again in {int(wait.total_seconds())} s")
        self.wait = wait


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def create_account(
    conn: psycopg.Connection,
    login: str,
    password: str,
    province_code: str | None,
    full_name: str = "",
    email: str | None = None,
) -> None:
    """Create an account, or set a new password (and province, name, email) for an existing one. An officer's
    email makes them one of the province's contacts: its refusals, hold notices and reminders reach them."""
    if len(password) < 10:
        raise ValueError("a password needs at least 10 characters")
    if province_code is not None:
        known = conn.execute(
            "select 1 from ref.unit where map = 'current' and unit_level = 'province' and unit_code = %s",
            [province_code],
        ).fetchone()
        if not known:
            raise ValueError(f"{province_code} is not the code of a province on the current map")
    conn.execute(
        """insert into portal.account (login, password_hash, province_code, full_name, email)
           values (%s, %s, %s, %s, %s)
           on conflict (login) do update set password_hash = excluded.password_hash,
               province_code = excluded.province_code, full_name = excluded.full_name, email = excluded.email,
               disabled = false""",
        [login, _hasher.hash(password), province_code, full_name, email],
    )
    conn.execute("delete from portal.session where login = %s", [login])


def _wait_needed(conn: psycopg.Connection, login: str, client: str) -> timedelta | None:
    """How long the account, or the address, must wait before another attempt, or None. An account's failed
    and pending attempts count since its last success; an address's failed ones only (see the module's
    docstring), whatever succeeded, so one account of one's own cannot reset the limit on guessing the
    others."""
    account = conn.execute(
        """select count(*), max(attempted_at) + %s - now() from portal.login_attempt
           where login = %s and succeeded is not true and attempted_at > now() - %s
             and attempted_at > coalesce((select max(attempted_at) from portal.login_attempt
                                          where login = %s and succeeded), '-infinity')""",
        [FAILURE_WINDOW, login, FAILURE_WINDOW, login],
    ).fetchone()
    address = conn.execute(
        """select count(*), max(attempted_at) + %s - now() from portal.login_attempt
           where client = %s and succeeded = false and attempted_at > now() - %s""",
        [FAILURE_WINDOW, client, FAILURE_WINDOW],
    ).fetchone()
    waits = [
        remaining
        for (failures, remaining), limit in ((account, MAX_FAILURES), (address, MAX_CLIENT_FAILURES))
        if failures >= limit and remaining > timedelta(0)
    ]
    return max(waits, default=None)


def _reserve(conn: psycopg.Connection, login: str, client: str) -> str:
    """Record the attempt as pending before its password is checked, and return its row (ctid) to mark it
    after. Counting and recording are one step under the login's and the address's locks (always taken in
    that order), so attempts that arrive together are counted one after the other: the sixth at an account
    sees the five before it even while their passwords are still being checked. TooManyAttempts if it may
    not be checked; nothing is recorded then."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('antq.login'), hashtext(%s))", [login])
        conn.execute("select pg_advisory_xact_lock(hashtext('antq.login.client'), hashtext(%s))", [client])
        wait = _wait_needed(conn, login, client)
        if wait is not None:
            raise TooManyAttempts(wait)
        return conn.execute(
            "insert into portal.login_attempt (login, client, succeeded) values (%s, %s, null) returning ctid::text",
            [login, client],
        ).fetchone()[0]


def _verified(password_hash: str, password: str) -> bool:
    try:
        _hasher.verify(password_hash, password)
        return True
    except (VerificationError, InvalidHashError):
        return False


def log_in(conn: psycopg.Connection, login: str, password: str, client: str) -> Session | None:
    """A new session for a right login and password, None for a wrong one; TooManyAttempts when the
    account or the address has failed too often lately (the password is then not even checked), Busy when
    too many passwords are being checked at once (the attempt is then not counted). `conn` is in autocommit."""
    login = login.strip().lower()
    wait = _wait_needed(conn, login, client)  # unlocked, so that a locked-out attempt waits for no check
    if wait is not None:
        raise TooManyAttempts(wait)
    if not password_checks.acquire(timeout=CHECK_WAIT.total_seconds()):
        raise Busy()
    try:  # pending from here until marked, all within the check: see the module's docstring
        attempt = _reserve(conn, login, client)
        account = conn.execute(
            "select password_hash, province_code, full_name from portal.account where login = %s and not disabled",
            [login],
        ).fetchone()
        succeeded = _verified(account[0] if account else _DUMMY_HASH, password) and account is not None
        conn.execute("update portal.login_attempt set succeeded = %s where ctid = %s::tid", [succeeded, attempt])
        if succeeded and _hasher.check_needs_rehash(account[0]):
            rehashed = _hasher.hash(password)
            conn.execute("update portal.account set password_hash = %s where login = %s", [rehashed, login])
    finally:
        password_checks.release()
    if not succeeded:
        return None
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    conn.execute(
        """insert into portal.session (token_hash, login, province_code, csrf_token, expires_at)
           values (%s, %s, %s, %s, now() + %s)""",
        [_digest(token), login, account[1], csrf, SESSION_LIFETIME],
    )
    return Session(token, login, account[1], csrf, account[2])


def session_of(conn: psycopg.Connection, token: str | None) -> Session | None:
    """The live session of a cookie's token, or None (unknown, expired or the account disabled)."""
    if not token:
        return None
    row = conn.execute(
        """select s.login, s.province_code, s.csrf_token, a.full_name
           from portal.session s join portal.account a using (login)
           where s.token_hash = %s and s.expires_at > now() and not a.disabled""",
        [_digest(token)],
    ).fetchone()
    return Session(token, *row) if row else None


def log_out(conn: psycopg.Connection, token: str) -> None:
    conn.execute("delete from portal.session where token_hash = %s or expires_at < now()", [_digest(token)])
