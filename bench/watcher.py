"""What the landing watcher costs while nothing lands, and how soon a file dropped whole is announced: the listing
every 2 s it replaced (issue 42) against the event-driven LandingTrigger (warehouse/triggers.py), on a landing of
national size (34 provinces x 240 periods: ~8,000 empty period folders).

Each runs in a child process of its own, so that the CPU time counted (getrusage of that process: every thread,
the listing's worker threads included) is the watcher's alone: from the moment it has started (its first
listing, or the watcher's walk adding a watch per folder, is counted apart as start_cpu_seconds) over `seconds`
of idleness. The watcher also lists landing every 60 s in case an event was missed: that listing is measured
apart and counted in cpu_share_with_safety_listing. Then a few files are dropped whole (a dot file renamed into
place, as the portal sends one), at moments spread over the old listing's 2 s, and the time from each rename to
the event naming it is taken.

    .venv/bin/python -m bench.watcher [seconds]      # prints the result
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

from core.settings import PROJECT_DIR, Settings

PROVINCES, PERIODS = 34, 240
WARM_UP_SECONDS = 3.0
DROPS = 5
DROP_TIMEOUT = 60.0


def build_landing(folder: Path, provinces: int = PROVINCES, periods: int = PERIODS) -> Path:
    """landing/<code>/<period>/ for `provinces` provinces and `periods` months (2007-01 on), empty."""
    landing = folder / "landing"
    months = [f"{2007 + m // 12}-{m % 12 + 1:02d}" for m in range(periods)]
    for code in range(1, provinces + 1):
        for month in months:
            (landing / f"{code:02d}" / month).mkdir(parents=True, exist_ok=True)
    return landing


def _old_sizes(landing_dir: Path) -> dict[str, int]:
    """The listing the watcher replaced (warehouse/triggers.py before issue 42), kept for this comparison."""
    from ingestion.loader import discover

    found = {}
    for path in discover(landing_dir):
        try:
            found[str(path)] = path.stat().st_size
        except FileNotFoundError:
            continue
    return found


async def old_polling(landing_dir: str, poll_seconds: float = 2.0) -> AsyncIterator[dict]:
    """The run() loop the watcher replaced: list landing every poll_seconds, announce what kept its size a poll."""
    announced: dict[str, int] = {}
    previous: dict[str, int] = {}
    request_seen: int | None = None
    request = replace(Settings.from_env(), landing_dir=Path(landing_dir)).publish_request

    def requested() -> int | None:
        try:
            return request.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    while True:
        mtime = await asyncio.to_thread(requested)
        if mtime is not None and mtime != request_seen:
            request_seen = mtime
            yield {"publish_requested": mtime}
        sizes = await asyncio.to_thread(_old_sizes, Path(landing_dir))
        settled = {path: size for path, size in sizes.items() if previous.get(path) == size}
        new = sorted(path for path, size in settled.items() if announced.get(path) != size)
        if new:
            announced.update({path: settled[path] for path in new})
            yield {"files": new}
        announced = {path: size for path, size in announced.items() if path in sizes}
        previous = sizes
        await asyncio.sleep(poll_seconds)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _inotify_descriptors() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:inotify"
        except OSError:
            continue
    return count


async def _measure(mode: str, landing: Path, seconds: float) -> dict:
    """In the child: the watcher's CPU while idle, then its latency from drops."""
    if mode == "polling":
        events = old_polling(str(landing))
    else:
        from warehouse.triggers import LandingTrigger

        events = (event.payload async for event in LandingTrigger(str(landing)).run())
    seen: dict[str, float] = {}

    async def collect():
        async for payload in events:
            for path in payload.get("files", []):
                seen.setdefault(path, time.monotonic())

    start = _cpu()
    task = asyncio.create_task(collect())
    await asyncio.sleep(WARM_UP_SECONDS)
    idle_from = _cpu()
    await asyncio.sleep(seconds)
    idle_cpu = _cpu() - idle_from
    watching = _inotify_descriptors() > 0 if sys.platform.startswith("linux") else None
    latencies = []
    for drop in range(DROPS):
        await asyncio.sleep(0.2 + 0.7 * drop)  # moments spread over the old listing's 2 s
        folder = landing / f"{drop % PROVINCES + 1:02d}" / "2026-09"
        folder.mkdir(parents=True, exist_ok=True)
        hidden, path = folder / f".bench-{drop}.csv.part", folder / f"bench-{drop}.csv"
        hidden.write_bytes(b"ma_tinh,ky\n01,2026-09\n")
        os.replace(hidden, path)
        dropped = time.monotonic()
        while str(path) not in seen and time.monotonic() - dropped < DROP_TIMEOUT:
            await asyncio.sleep(0.005)
        latencies.append(round(seen.get(str(path), float("inf")) - dropped, 4))
        path.unlink()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    extra = {}
    if mode == "watching":  # its safety listing (every SAFETY_SECONDS, re-adding each folder's watch) is its own
        from warehouse import triggers

        watcher = triggers._Inotify(landing)
        before = _cpu()
        await asyncio.to_thread(triggers._walk, [(landing, 0)], None, watcher.add_watch)
        listing = _cpu() - before
        watcher.close()
        extra = {
            "safety_listing_cpu_seconds": round(listing, 4),
            "cpu_share_with_safety_listing": round(idle_cpu / seconds + listing / triggers.SAFETY_SECONDS, 5),
        }
    return {
        "cpu_seconds": round(idle_cpu, 4),
        "cpu_share_of_a_core": round(idle_cpu / seconds, 5),
        "start_cpu_seconds": round(idle_from - start, 4),
        "latency_seconds": statistics.median(latencies),
        "latencies": latencies,
        "inotify": watching,
        **extra,
    }


def _child(mode: str, landing: Path, seconds: float) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        code = (
            "import asyncio, json, sys; from pathlib import Path; from bench.watcher import _measure; "
            "result = asyncio.run(_measure(sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]))); "
            "Path(sys.argv[4]).write_text(json.dumps(result))"
        )
        run = subprocess.run(
            [sys.executable, "-c", code, mode, str(landing), str(seconds), out.name],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=seconds + WARM_UP_SECONDS + DROPS * (DROP_TIMEOUT + 4) + 120,
        )
        if run.returncode != 0:
            raise RuntimeError(f"the {mode} child failed:\n{run.stderr[-3000:]}")
        return json.loads(Path(out.name).read_text())


def watcher_idle_cost(folder: Path, seconds: float = 30) -> dict:
    """Builds ~8,000 empty period folders in `folder` (landing/<code>/<period>/), then runs the old listing every
    2 s and the new watcher, each in a child process idle for `seconds`: the CPU seconds each used while idle
    (and to start), and the median latency from a file dropped whole to its event."""
    landing = build_landing(Path(folder))
    folders = sum(1 for _ in landing.glob("*/*"))
    polling = _child("polling", landing, seconds)
    watching = _child("watching", landing, seconds)
    return {
        "period_folders": folders,
        "idle_seconds": seconds,
        "polling": polling,
        "watching": watching,
        "idle_cpu_ratio": round(watching["cpu_seconds"] / polling["cpu_seconds"], 4)
        if polling["cpu_seconds"]
        else None,
    }


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="antq-watcher-bench-") as folder:
        print(json.dumps(watcher_idle_cost(Path(folder), float(sys.argv[1]) if len(sys.argv) > 1 else 30), indent=2))
