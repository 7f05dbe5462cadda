"""Accounts, sessions and the login rate limit of the portal, kept in the warehouse's `portal` schema.

Passwords are hashed with argon2id. A session is a random token in an HttpOnly cookie; the warehouse keeps
only its sha256, with an expiry and the session's CSRF token. After MAX_FAILURES failed logins of an
account within FAILURE_WINDOW, every further attempt, right or wrong, waits until the window has passed.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

SESSION_LIFETIME = timedelta(hours=8)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
_hasher = PasswordHasher()
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
    def __init__(self, wait: timedelta):
        super().__init__(f"too many failed logins; try again in {int(wait.total_seconds()) + 1} s")
        self.wait = wait


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def create_account(
    conn: psycopg.Connection, login: str, password: str, province_code: str | None, full_name: str = ""
) -> None:
    """Create an account, or set a new password (and province) for an existing one."""
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
        """insert into portal.account (login, password_hash, province_code, full_name) values (%s, %s, %s, %s)
           on conflict (login) do update set password_hash = excluded.password_hash,
               province_code = excluded.province_code, full_name = excluded.full_name, disabled = false""",
        [login, _hasher.hash(password), province_code, full_name],
    )
    conn.execute("delete from portal.session where login = %s", [login])


def _wait_needed(conn: psycopg.Connection, login: str) -> timedelta | None:
    """How long the account must wait before another attempt, or None."""
    row = conn.execute(
        """select count(*), max(attempted_at) + %s - now() from portal.login_attempt
           where login = %s and not succeeded and attempted_at > now() - %s
             and attempted_at > coalesce((select max(attempted_at) from portal.login_attempt
                                          where login = %s and succeeded), '-infinity')""",
        [FAILURE_WINDOW, login, FAILURE_WINDOW, login],
    ).fetchone()
    failures, remaining = row
    return remaining if failures >= MAX_FAILURES and remaining > timedelta(0) else None


def log_in(conn: psycopg.Connection, login: str, password: str, client: str) -> Session | None:
    """A new session for a right login and password, None for a wrong one; TooManyAttempts when the
    account has failed too often lately (the password is then not even checked)."""
    login = login.strip().lower()
    wait = _wait_needed(conn, login)
    if wait is not None:
        raise TooManyAttempts(wait)
    account = conn.execute(
        "select password_hash, province_code, full_name from portal.account where login = %s and not disabled",
        [login],
    ).fetchone()
    try:
        _hasher.verify(account[0] if account else _DUMMY_HASH, password)
        succeeded = account is not None
    except (VerificationError, InvalidHashError):
        succeeded = False
    conn.execute(
        "insert into portal.login_attempt (login, client, succeeded) values (%s, %s, %s)", [login, client, succeeded]
    )
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
