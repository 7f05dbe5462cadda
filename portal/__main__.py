"""`python -m portal` (make portal): serve the portal at http://localhost:8000 (ANTQ_PORTAL_HOST, ANTQ_PORTAL_PORT)."""

from __future__ import annotations

import os

import uvicorn

from portal.app import create_app

if __name__ == "__main__":
    host, port = os.environ.get("ANTQ_PORTAL_HOST", "127.0.0.1"), int(os.environ.get("ANTQ_PORTAL_PORT", "8000"))
    print(f"portal at http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}", flush=True)
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")
