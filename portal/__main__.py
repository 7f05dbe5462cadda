"""`python -m portal` (make portal): serve the portal at http://localhost:8000 (ANTQ_PORTAL_HOST, ANTQ_PORTAL_PORT).
`python -m portal account LOGIN [--province 38]`: create a portal account, or set its password.

Behind a proxy that terminates TLS: ANTQ_PORTAL_SECURE_COOKIES=true, and uvicorn's FORWARDED_ALLOW_IPS set to
the proxy's address, so that a login's address is its client's (X-Forwarded-For), not the proxy's: the limit
on failed logins per address (portal/auth.py) would otherwise count every officer as one."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from core.db import connect, warehouse_url
from core.settings import Settings, keep_files_private


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve the portal (the default)")
    account = commands.add_parser(
        "account",
        help="create a portal account (or set its password): the password is asked twice, or read from stdin",
    )
    account.add_argument("login", help="lower case letters, digits, . _ -")
    account.add_argument("--province", help="the officer's province code; none: a data team account")
    account.add_argument("--name", default="", help="the person's full name, shown on the pages")
    account.add_argument(
        "--email", help="an officer's email: the province's refusals, hold notices and reminders go to it"
    )
    account.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin (scripts)"
    )
    options = parser.parse_args(argv)
    settings = Settings.from_env()
    keep_files_private(settings)  # the uploads, and the files its ingest keeps
    if options.command == "account":
        return create(options, settings)
    serve(settings)
    return 0


def create(options: argparse.Namespace, settings: Settings) -> int:
    from portal.auth import create_account
    from warehouse import pipeline

    # Never from a variable: one the warehouse reads (ANTQ_PORTAL_PASSWORD, once) gave a database role the
    # officer's password as its login.
    if options.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("password (10+ characters): ")
        if getpass.getpass("again: ") != password:
            print("the two passwords differ", file=sys.stderr)
            return 1
    pipeline.prepare_warehouse(settings)
    try:
        with connect(warehouse_url(settings)) as conn:
            create_account(conn, options.login, password, options.province, options.name, options.email)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    whose = f"province {options.province}" if options.province else "the data team"
    print(f"account {options.login} ({whose}) can log in at the portal")
    return 0


def serve(settings: Settings) -> None:
    import uvicorn

    from portal.app import create_app
    from warehouse.services import portal_pid_file

    host, port = os.environ.get("ANTQ_PORTAL_HOST", "127.0.0.1"), int(os.environ.get("ANTQ_PORTAL_PORT", "8000"))
    print(f"portal at http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}", flush=True)
    pid_file = portal_pid_file(settings)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(str(os.getpid()))  # for make stop
    try:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    finally:
        pid_file.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
