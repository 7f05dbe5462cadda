"""The landing folder as an event source: a new file starts antq_ingest within seconds, not at the next poll;
so does a publish asked for (warehouse.pipeline.request_publish: a send from the portal, a hold reviewed, a
period closed), whose announcement then starts antq_publish as a new file's does.

LandingTrigger runs in Airflow's triggerer (an asset watcher of dags/antq_ingest.py). Every POLL_SECONDS it
lists landing/<province>/<period>/ and fires once for the files that appeared since it last fired, when
each has kept its size for one poll (a file still being copied in waits). A burst of files landing together
is one event, so one ingest run takes them all, in parallel; antq_publish then runs once on what it
accepted. What the trigger knows is kept in memory only: after a triggerer restart it fires once for every
file still waiting, and the ingest run it starts finds each one either waiting or already taken.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from core.settings import Settings

POLL_SECONDS = 2.0


def _sizes(landing_dir: Path) -> dict[str, int]:
    from ingestion.loader import discover

    found = {}
    for path in discover(landing_dir):
        try:
            found[str(path)] = path.stat().st_size
        except FileNotFoundError:  # taken by an ingest run between the listing and now
            continue
    return found


def _requested(request: Path) -> int | None:
    """When a publish was last asked for (warehouse.pipeline.request_publish): the request file's change time."""
    try:
        return request.stat().st_mtime_ns
    except FileNotFoundError:
        return None


class LandingTrigger(BaseEventTrigger):
    def __init__(self, landing_dir: str, poll_seconds: float = POLL_SECONDS):
        super().__init__()
        self.landing_dir = landing_dir
        self.poll_seconds = poll_seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "warehouse.triggers.LandingTrigger",
            {"landing_dir": self.landing_dir, "poll_seconds": self.poll_seconds},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        announced: dict[str, int] = {}
        previous: dict[str, int] = {}
        request_seen: int | None = None
        request = replace(Settings.from_env(), landing_dir=Path(self.landing_dir)).publish_request
        while True:
            requested = await asyncio.to_thread(_requested, request)
            if requested is not None and requested != request_seen:
                request_seen = requested
                self.log.info("a publish was asked for (a send from the portal, a review, a closing)")
                yield TriggerEvent({"publish_requested": requested})
            sizes = await asyncio.to_thread(_sizes, Path(self.landing_dir))
            settled = {path: size for path, size in sizes.items() if previous.get(path) == size}
            new = sorted(path for path, size in settled.items() if announced.get(path) != size)
            if new:
                announced.update({path: settled[path] for path in new})
                self.log.info("%d new file(s) in landing: %s", len(new), ", ".join(new[:10]))
                yield TriggerEvent({"files": new})
            announced = {path: size for path, size in announced.items() if path in sizes}
            previous = sizes
            await asyncio.sleep(self.poll_seconds)
