"""`python -m portal` (make portal): serve the portal at http://localhost:8000 (ANTQ_PORTAL_HOST, ANTQ_PORTAL_PORT).

Behind a proxy that terminates TLS: ANTQ_PORTAL_SECURE_COOKIES=true, and uvicorn's FORWARDED_ALLOW_IPS set to
the proxy's address, so that a login's address is its client's (X-Forwarded-For), not the proxy's: the limit
on failed logins per address (portal/auth.py) would otherwise count every officer as one."""

from __future__ import annotations

import os

import uvicorn

from portal.app import create_app
from warehouse.services import portal_pid_file
from warehouse.settings import Settings, keep_files_private

if __name__ == "__main__":
    host, port = os.environ.get("ANTQ_PORTAL_HOST", "127.0.0.1"), int(os.environ.get("ANTQ_PORTAL_PORT", "8000"))
    print(f"portal at http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}", flush=True)
    settings = Settings.from_env()
    keep_files_private(settings)  # the uploads, and the files its ingest keeps
    pid_file = portal_pid_file(settings)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(str(os.getpid()))  # for make stop
    try:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    finally:
        pid_file.unlink(missing_ok=True)
