"""The landing watcher (warehouse/triggers.py) driven directly: LandingTrigger.run() is an async generator, run here
in an asyncio loop on a temporary landing folder, with no Airflow service. Timeouts are generous and only keep a
broken watcher from hanging the suite: how fast it fires is measured by bench/watcher.py, not here."""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from core.settings import Settings
from warehouse.triggers import LandingTrigger

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the watcher's events are inotify's")

PATIENCE = 30.0  # seconds before a test fails instead of hanging
SETTLE = 0.4


class Watching:
    """A LandingTrigger's run() in a task of the running loop: every event with the moment it came."""

    def __init__(self, landing: Path, **kwargs):
        # listings far apart (unless a test says otherwise): what fires within PATIENCE came of the kernel's events
        kwargs = {"poll_seconds": 2 * PATIENCE, "safety_seconds": 2 * PATIENCE, "settle_seconds": SETTLE, **kwargs}
        self.trigger = LandingTrigger(str(landing), **kwargs)
        self.events: list[tuple[float, dict]] = []
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> Watching:
        async def collect():
            async for event in self.trigger.run():
                self.events.append((time.monotonic(), event.payload))

        self._task = asyncio.create_task(collect())
        await asyncio.sleep(0.2)  # the watcher started (a failure to start would fall back to listing)
        return self

    async def __aexit__(self, *exc) -> None:
        self._task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self._task

    def file_events(self) -> list[tuple[float, dict]]:
        return [(when, payload) for when, payload in self.events if "files" in payload]

    def announced(self) -> list[str]:
        return [path for _, payload in self.file_events() for path in payload["files"]]

    async def until(self, done: Callable[[], bool], what: str) -> None:
        if self._task.done():
            self._task.result()  # the trigger's own error, if it failed
        deadline = time.monotonic() + PATIENCE
        while not done():
            assert time.monotonic() < deadline, f"no event for {what} in {PATIENCE} s: {self.events}"
            assert not self._task.done(), self._task.result()
            await asyncio.sleep(0.02)


def drop_whole(folder: Path, name: str, body: bytes = b"ma_tinh,ky\n01,2026-Q3\n") -> Path:
    """As the portal sends a file: written as a dot file, then renamed into place."""
    folder.mkdir(parents=True, exist_ok=True)
    hidden = folder / f".{name}.part"
    hidden.write_bytes(body)
    os.replace(hidden, folder / name)
    return folder / name


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    (tmp_path / "landing" / "01" / "2026-Q3").mkdir(parents=True)
    return tmp_path / "landing"


def test_serialize_round_trips(landing):
    trigger = LandingTrigger(str(landing), poll_seconds=1.5, safety_seconds=30.0, settle_seconds=0.3, watch=False)
    classpath, kwargs = trigger.serialize()
    module, name = classpath.rsplit(".", 1)
    again = getattr(importlib.import_module(module), name)(**kwargs)
    assert again.serialize() == (classpath, kwargs)
    assert LandingTrigger(str(landing)).serialize()[1]["watch"] is True


def test_a_file_dropped_whole_fires_one_event_naming_it(landing):
    async def scenario():
        async with Watching(landing) as watching:
            path = drop_whole(landing / "01" / "2026-Q3", "bao_cao.csv")
            await watching.until(lambda: watching.announced(), "a file dropped whole")
            await asyncio.sleep(SETTLE * 3)  # nothing more comes of it
            ((_, payload),) = watching.file_events()
            assert payload == {"files": [str(path)], "sizes": {str(path): path.stat().st_size}}

    asyncio.run(scenario())


def test_a_file_in_a_new_period_folder_fires(landing):
    async def scenario():
        async with Watching(landing) as watching:
            path = drop_whole(landing / "38" / "2026-Q4", "thanh_hoa.csv")  # two new folders
            await watching.until(lambda: watching.announced(), "a file in new folders")
            assert watching.announced() == [str(path)]

    asyncio.run(scenario())


@pytest.mark.parametrize("writer", ["held open", "reopened for each piece"])
def test_a_file_grown_in_pieces_fires_once_it_stopped_growing_with_its_final_size(landing, writer):
    async def scenario():
        path = landing / "01" / "2026-Q3" / "lon.xlsx"
        async with Watching(landing) as watching:
            out = open(path, "wb") if writer == "held open" else None  # noqa: SIM115
            for piece in range(20):  # ~1 s: a piece each 0.05 s, never near SETTLE apart
                if out is None:
                    with open(path, "ab") as once:
                        once.write(b"x" * 4096)
                else:
                    out.write(b"x" * 4096)
                    out.flush()
                last_write = time.monotonic()
                if piece < 19:
                    await asyncio.sleep(0.05)
            if out is not None:
                out.close()
            await watching.until(lambda: watching.announced(), "a file grown in pieces")
            await asyncio.sleep(SETTLE * 3)
            ((when, payload),) = watching.file_events()
            assert when > last_write, "announced while it was still being written"
            assert payload == {"files": [str(path)], "sizes": {str(path): 20 * 4096}}

    asyncio.run(scenario())


def test_a_publish_asked_for_fires_on_each_change_of_the_request_file(landing):
    from warehouse.pipeline import request_publish, take_publish_request

    settings = replace(Settings.from_env(), landing_dir=landing)

    def requests(watching):
        return [payload for _, payload in watching.events if "publish_requested" in payload]

    async def scenario():
        async with Watching(landing) as watching:
            request_publish("a send from the portal", settings)
            await watching.until(lambda: len(requests(watching)) == 1, "a publish asked for")
            assert len(take_publish_request(settings)) == 1  # antq_ingest took it: the file is gone, nothing fires
            await asyncio.sleep(0.1)
            request_publish("hold #7 confirmed", settings)
            await watching.until(lambda: len(requests(watching)) == 2, "a second publish asked for")
            await asyncio.sleep(SETTLE * 3)
            assert len(requests(watching)) == 2
            assert watching.announced() == [], "the request file is not a submission"

    asyncio.run(scenario())


def test_files_already_waiting_at_start_fire_once_and_again_after_a_restart(landing):
    waiting = sorted(str(drop_whole(landing / code / "2026-Q3", f"{code}.csv")) for code in ("01", "38", "79"))

    async def scenario():
        for _start in ("first start", "triggerer restarted"):
            async with Watching(landing) as watching:
                await watching.until(lambda: len(watching.announced()) >= 3, "the files waiting at start")
                await asyncio.sleep(SETTLE * 3)
                assert sorted(watching.announced()) == waiting

    asyncio.run(scenario())


def test_a_dot_file_never_fires(landing):
    async def scenario():
        folder = landing / "01" / "2026-Q3"
        (folder / ".waiting-at-start").write_bytes(b"x")
        async with Watching(landing) as watching:
            (folder / ".bao_cao.csv.part").write_bytes(b"half of it")
            with open(folder / ".bao_cao.csv.part", "ab") as more:
                more.write(b" and more")
            os.replace(folder / ".bao_cao.csv.part", folder / ".still-hidden")
            path = drop_whole(folder, "that.csv")  # fires: the dot files before it would have too
            await watching.until(lambda: watching.announced(), "a file after dot files")
            await asyncio.sleep(SETTLE * 3)
            assert watching.announced() == [str(path)]

    asyncio.run(scenario())


def test_a_burst_of_34_files_fires_few_events_each_file_once(landing):
    codes = [f"{n:02d}" for n in range(1, 35)]
    for code in codes:
        (landing / code / "2026-Q3").mkdir(parents=True, exist_ok=True)

    async def scenario():
        async with Watching(landing) as watching:
            dropped = sorted(str(drop_whole(landing / code / "2026-Q3", f"{code}.xlsx")) for code in codes)
            await watching.until(lambda: len(set(watching.announced())) == 34, "a burst of 34 files")
            await asyncio.sleep(SETTLE * 3)
            assert sorted(watching.announced()) == dropped, "each file once"
            assert len(watching.file_events()) <= 3, [len(p["files"]) for _, p in watching.file_events()]

    asyncio.run(scenario())


def test_a_file_taken_and_sent_again_fires_again(landing):
    async def scenario():
        folder = landing / "01" / "2026-Q3"
        async with Watching(landing) as watching:
            first = drop_whole(folder, "bao_cao.csv")
            await watching.until(lambda: len(watching.announced()) == 1, "the first version")
            first.unlink()  # taken by an ingest run
            await asyncio.sleep(0.1)
            drop_whole(folder, "bao_cao.csv", b"ma_tinh,ky\n01,2026-Q3\n01,2026-Q3\n")
            await watching.until(lambda: len(watching.announced()) == 2, "the second version")
            assert watching.file_events()[1][1]["sizes"] == {str(first): first.stat().st_size}

    asyncio.run(scenario())


@pytest.mark.parametrize("how", ["no watcher", "no event seen", "linked in"])
def test_the_listing_finds_what_no_event_announced(landing, monkeypatch, how):
    """No watcher (watch=False, as when it cannot start): the listing every poll_seconds finds a file. A watcher
    that sees no event of files (as on NFS for another machine's writes; here it is not asked for them) finds it
    by its safety listing. A file linked in (a new name, never written nor closed) is announced once it stayed
    put after the safety interval."""
    import warehouse.triggers as triggers

    async def scenario():
        path = landing / "01" / "2026-Q3" / "bao_cao.csv"
        kwargs = {"watch": False, "poll_seconds": 0.3} if how == "no watcher" else {"safety_seconds": 0.5}
        if how == "no event seen":
            monkeypatch.setattr(triggers, "_WATCHED", triggers._IN_DELETE_SELF | triggers._IN_ONLYDIR)
        async with Watching(landing, **kwargs) as watching:
            if how == "linked in":
                elsewhere = landing.parent / "elsewhere.csv"
                elsewhere.write_bytes(b"ma_tinh\n01\n")
                os.link(elsewhere, path)
            else:
                drop_whole(path.parent, path.name)
            await watching.until(lambda: watching.announced(), "a file only a listing finds")
            await asyncio.sleep(SETTLE * 3)
            assert watching.announced() == [str(path)]

    asyncio.run(scenario())
