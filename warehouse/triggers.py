"""The landing folder as an event source: a new file starts antq_ingest at once, not at the next poll; so does a
publish asked for (warehouse.pipeline.request_publish: a send from the portal, a hold reviewed, a period closed),
whose announcement then starts antq_publish as a new file's does.

LandingTrigger runs in Airflow's triggerer (an asset watcher of dags/antq_ingest.py). It is woken by the
kernel (inotify) on landing, landing/<province>/ and landing/<province>/<period>/, and fires once for the files
that appeared since it last fired (their paths, and their sizes by path):

- a file written whole (written as a dot file, then renamed into place, as the portal does) fires at once
  (within SETTLE_SECONDS / 8, so that a burst of files landing together is one event);
- a file written in place (a `cp`, an upload written in pieces) fires once its writer closed it and nothing
  was written to it for SETTLE_SECONDS: a half-copied file is never announced. A file still held open with
  nothing written for a safety interval is then announced once its size and time stay put for SETTLE_SECONDS;
- a change of the publish-request file (Settings.publish_request) fires {"publish_requested": its mtime}.

A burst of files is one event, so one ingest run takes them all, in parallel; antq_publish then runs once on what
it accepted. What the trigger knows is kept in memory only: when it starts (after a triggerer restart) it lists
landing and fires once for every file waiting, once each has kept its size and time for SETTLE_SECONDS; the
ingest run it starts finds each one either waiting or already taken.

Every SAFETY_SECONDS it lists landing again (a thread; no file is read, each folder is listed) in case an event
was missed: the kernel's queue overflowed (it then lists at once), or a folder appeared faster than its watch
was added (each new folder is listed as soon as it is watched). Where inotify does not see the writes, as on
NFS or SMB for files written by another machine (inotify only sees what this machine's kernel does), files are
found by that listing only: up to SAFETY_SECONDS later (set safety_seconds lower for such a mount). If the
watcher cannot start (not Linux, landing missing, or the kernel's limits: one watch per folder, so
fs.inotify.max_user_watches must exceed the number of period folders, ~8,000 at national scale, which older
kernels' default of 8192 barely does), it lists landing every poll_seconds as before, and tries the watcher
again every SAFETY_SECONDS. Nothing here blocks the triggerer's event loop: listing, watching and stat calls run
in threads; the kernel's events are read when the loop says they are readable.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import os
import struct
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from core.settings import Settings

POLL_SECONDS = 2.0  # the listing's interval when the kernel's events cannot be had
SAFETY_SECONDS = 60.0  # the listing's interval when they can: in case an event was missed
SETTLE_SECONDS = 0.4  # how long a file written in place must stay untouched before it is announced

Key = tuple[int, int]  # a file's size and modification time (ns): another key is another version

# <sys/inotify.h>
_IN_MODIFY, _IN_CLOSE_WRITE, _IN_MOVED_FROM, _IN_MOVED_TO = 0x2, 0x8, 0x40, 0x80
_IN_CREATE, _IN_DELETE, _IN_DELETE_SELF, _IN_MOVE_SELF = 0x100, 0x200, 0x400, 0x800
_IN_UNMOUNT, _IN_Q_OVERFLOW, _IN_IGNORED = 0x2000, 0x4000, 0x8000
_IN_ONLYDIR, _IN_EXCL_UNLINK, _IN_ISDIR = 0x01000000, 0x04000000, 0x40000000
_WATCHED = _IN_MODIFY | _IN_CLOSE_WRITE | _IN_MOVED_FROM | _IN_MOVED_TO | _IN_CREATE | _IN_DELETE | _IN_DELETE_SELF
_WATCHED |= _IN_MOVE_SELF | _IN_ONLYDIR | _IN_EXCL_UNLINK
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of name, NUL-padded
_PERIOD_DEPTH = 2  # landing/<province>/<period>/: the folders whose files are submissions


@dataclass
class _Listing:
    """What a walk of landing found: files waiting (path: key), the request file's mtime, watches added."""

    files: dict[str, Key] = field(default_factory=dict)
    requested: int | None = None
    watches: list[tuple[int, Path, int]] = field(default_factory=list)


def _key(st: os.stat_result) -> Key:
    return st.st_size, st.st_mtime_ns


def _walk(starts: Iterable[tuple[Path, int]], request: Path | None, add_watch=None) -> _Listing:
    """The files of landing/<province>/<period>/ under each (folder, depth) given, as ingestion.loader.discover
    takes them (files, not dot files); with add_watch, each folder is watched before it is listed, so that a file
    arriving meanwhile is either listed or seen by its event. Runs in a thread."""
    found = _Listing()
    if request is not None:
        found.requested = _mtime(request)
    stack = list(starts)
    while stack:
        folder, depth = stack.pop()
        if add_watch is not None:
            wd = add_watch(folder)
            if wd is None:
                continue
            found.watches.append((wd, folder, depth))
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    with contextlib.suppress(OSError):  # gone, or taken by an ingest run, since the listing
                        if depth < _PERIOD_DEPTH:
                            if entry.is_dir():
                                stack.append((Path(entry.path), depth + 1))
                        elif not entry.name.startswith(".") and entry.is_file():
                            found.files[entry.path] = _key(entry.stat())
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
    return found


def _mtime(request: Path) -> int | None:
    """When a publish was last asked for (warehouse.pipeline.request_publish): the request file's change time."""
    try:
        return request.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _stats(paths: list[str], request: Path | None) -> tuple[dict[str, Key | None], int | None]:
    keys: dict[str, Key | None] = {}
    for path in paths:
        try:
            keys[path] = _key(os.stat(path))
        except OSError:
            keys[path] = None
    return keys, (_mtime(request) if request is not None else None)


class _Inotify:
    """The kernel's events on landing's folders down to the period folders, read when the loop says the inotify
    descriptor is readable (never a blocking read). Raises OSError if it cannot start."""

    def __init__(self, root: Path):
        if not sys.platform.startswith("linux"):
            raise OSError(errno.ENOSYS, "inotify is Linux's")
        libc = ctypes.CDLL(None, use_errno=True)
        try:
            self._init, self._add, self._rm = libc.inotify_init1, libc.inotify_add_watch, libc.inotify_rm_watch
        except AttributeError as missing:
            raise OSError(errno.ENOSYS, "no inotify in this C library") from missing
        self._add.argtypes, self._add.restype = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32], ctypes.c_int
        self._rm.argtypes, self._rm.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        self.root = root
        self.fd = self._init(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"inotify_init1: {os.strerror(err)}")
        self.folders: dict[int, tuple[Path, int]] = {}  # watch descriptor: (folder, depth)
        self.events: deque[tuple[int, int, str]] = deque()
        self.woken = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def add_watch(self, folder: Path) -> int | None:
        """Watch a folder (from a thread): its descriptor, None if it is gone or unreadable; OSError at a limit."""
        wd = self._add(self.fd, os.fsencode(folder), _WATCHED)
        if wd >= 0:
            return wd
        err = ctypes.get_errno()
        if err in (errno.ENOENT, errno.ENOTDIR, errno.EACCES):
            return None
        raise OSError(err, f"inotify_add_watch {folder}: {os.strerror(err)}")

    def remove_watch(self, wd: int) -> None:
        self.folders.pop(wd, None)
        self._rm(self.fd, wd)  # fails harmlessly if the kernel removed it already

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.fd, self._readable)  # NotImplementedError on a loop without it

    def _readable(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # closed under us
                break
            offset = 0
            while offset < len(data):
                wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                name = data[offset + _EVENT.size : offset + _EVENT.size + length].rstrip(b"\0")
                self.events.append((wd, mask, os.fsdecode(name)))
                offset += _EVENT.size + length
        self.woken.set()

    def close(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self.fd)
        with contextlib.suppress(OSError):
            os.close(self.fd)


@dataclass
class _Pending:
    """A file seen but not announced yet: 'whole' (renamed into place), 'closed' (its writer closed it), 'open'
    (being written), 'listed' (found by a listing: announced once its key stays put for SETTLE_SECONDS)."""

    state: str
    due: float
    key: Key | None = None


class LandingTrigger(BaseEventTrigger):
    def __init__(
        self,
        landing_dir: str,
        poll_seconds: float = POLL_SECONDS,
        safety_seconds: float = SAFETY_SECONDS,
        settle_seconds: float = SETTLE_SECONDS,
        watch: bool = True,
    ):
        super().__init__()
        self.landing_dir = landing_dir
        self.poll_seconds = poll_seconds
        self.safety_seconds = safety_seconds
        self.settle_seconds = settle_seconds
        self.watch = watch  # False: list landing every poll_seconds, as before the watcher

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "warehouse.triggers.LandingTrigger",
            {
                "landing_dir": self.landing_dir,
                "poll_seconds": self.poll_seconds,
                "safety_seconds": self.safety_seconds,
                "settle_seconds": self.settle_seconds,
                "watch": self.watch,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        landing = Path(self.landing_dir)
        request = replace(Settings.from_env(), landing_dir=landing).publish_request
        self._pending: dict[str, _Pending] = {}
        self._announced: dict[str, tuple[Key, float]] = {}  # path: (key, when announced)
        self._request_seen: int | None = None
        self._request_changed = False
        watcher: _Inotify | None = None
        next_listing = next_try = 0.0
        try:
            while True:
                now = time.monotonic()
                if watcher is None and self.watch and now >= next_try:
                    next_try = now + self.safety_seconds
                    watcher = await self._start_watcher(landing)
                    next_listing = now  # list at once: what arrived before the watch
                if now >= next_listing:
                    started = time.monotonic()
                    try:
                        listing = await asyncio.to_thread(
                            _walk, [(landing, 0)], request, watcher.add_watch if watcher else None
                        )
                    except OSError as limit:  # a watch could not be added: a limit of the kernel
                        self.log.warning("landing watcher stopped (%s): listing every %ss", limit, self.poll_seconds)
                        watcher = self._stop(watcher)
                        continue
                    self._listed(listing, watcher)
                    self._forget_listed(listing, started)
                    self._request_changed = True
                    next_listing = time.monotonic() + (self.safety_seconds if watcher else self.poll_seconds)
                if watcher is not None:
                    lost = await self._handle(watcher, request)
                    if lost:
                        self.log.warning(
                            "landing watcher lost landing (%s): listing every %ss", lost, self.poll_seconds
                        )
                        watcher = self._stop(watcher)
                        next_listing = 0.0
                        continue
                for event in await self._check(request):
                    yield event
                wake = min([next_listing, *(p.due for p in self._pending.values())])
                if watcher is None and self.watch:
                    wake = min(wake, next_try)
                timeout = max(0.0, wake - time.monotonic())
                if watcher is None:
                    await asyncio.sleep(timeout)
                elif not watcher.events:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(watcher.woken.wait(), timeout)
                    watcher.woken.clear()
        finally:
            self._stop(watcher)

    @staticmethod
    def _stop(watcher: _Inotify | None) -> None:
        if watcher is not None:
            watcher.close()

    async def _start_watcher(self, landing: Path) -> _Inotify | None:
        try:
            if not await asyncio.to_thread(landing.is_dir):
                raise OSError(errno.ENOENT, f"no folder {landing}")
            watcher = _Inotify(landing)
            try:
                watcher.start()
            except NotImplementedError as no_reader:
                watcher.close()
                raise OSError(errno.ENOSYS, "this event loop cannot wait on a descriptor") from no_reader
        except OSError as why:
            self.log.warning("landing watcher could not start (%s): listing every %ss", why, self.poll_seconds)
            return None
        self.log.info("watching landing %s (and listing it every %ss in case)", landing, self.safety_seconds)
        return watcher

    def _listed(self, listing: _Listing, watcher: _Inotify | None) -> None:
        """A listing's files: new ones wait to settle; the watches it added are mapped."""
        if watcher is not None:
            for wd, folder, depth in listing.watches:
                watcher.folders[wd] = (folder, depth)
        due = time.monotonic() + self.settle_seconds
        for path, key in listing.files.items():
            seen = self._announced.get(path)
            if path not in self._pending and (seen is None or seen[0] != key):
                self._pending[path] = _Pending("listed", due, key)

    def _forget_listed(self, listing: _Listing, started: float) -> None:
        """What a whole listing of landing did not find, announced before it started, is gone."""
        for path, (_key, when) in list(self._announced.items()):
            if path not in listing.files and when < started:
                del self._announced[path]

    async def _handle(self, watcher: _Inotify, request: Path) -> str | None:
        """The kernel's events since the last call: what changed waits to settle (or, renamed whole, to be
        announced at once); new folders are watched and listed. Returns why the watcher is lost, if it is."""
        now = time.monotonic()
        new_folders: list[tuple[Path, int]] = []
        overflow = False
        while watcher.events:
            wd, mask, name = watcher.events.popleft()
            if mask & _IN_Q_OVERFLOW:
                overflow = True
                continue
            where = watcher.folders.get(wd)
            if where is None:
                continue  # a folder forgotten since (a new folder is mapped before its events are read here)
            folder, depth = where
            if mask & _IN_IGNORED or mask & (_IN_DELETE_SELF | _IN_MOVE_SELF | _IN_UNMOUNT):
                watcher.folders.pop(wd, None)
                if depth == 0:
                    return f"{folder} removed, moved or unmounted"
                continue
            path = folder / name
            if mask & _IN_ISDIR:
                if mask & (_IN_MOVED_FROM | _IN_DELETE):
                    self._forget_folder(watcher, path)
                elif mask & (_IN_CREATE | _IN_MOVED_TO) and depth < _PERIOD_DEPTH:
                    new_folders.append((path, depth + 1))
                continue
            if depth == 0:
                if path == request:
                    self._request_changed = True
                continue
            if depth != _PERIOD_DEPTH or name.startswith("."):
                continue
            key = str(path)
            if mask & (_IN_DELETE | _IN_MOVED_FROM):
                self._pending.pop(key, None)
                self._announced.pop(key, None)
            elif mask & _IN_MOVED_TO:
                self._pending[key] = _Pending("whole", now + self.settle_seconds / 8)
            elif mask & _IN_CLOSE_WRITE:
                self._pending[key] = _Pending("closed", now + self.settle_seconds)
            elif mask & (_IN_CREATE | _IN_MODIFY):
                self._pending[key] = _Pending("open", now + self.safety_seconds)
        if overflow:
            self.log.warning("the kernel's queue of landing events overflowed: listing landing")
            new_folders = [(watcher.root, 0)]
        if new_folders:
            started = time.monotonic()
            try:
                listing = await asyncio.to_thread(_walk, new_folders, None, watcher.add_watch)
            except OSError as limit:
                return str(limit)
            self._listed(listing, watcher)
            if overflow:
                self._forget_listed(listing, started)
        return None

    def _forget_folder(self, watcher: _Inotify, folder: Path) -> None:
        """A folder moved away or removed: its watches (and its subfolders') and its files are forgotten."""
        under = f"{folder}{os.sep}"
        for wd, (path, _depth) in list(watcher.folders.items()):
            if path == folder or str(path).startswith(under):
                watcher.remove_watch(wd)
        for known in (self._pending, self._announced):
            for path in [p for p in known if p.startswith(under)]:
                del known[path]

    async def _check(self, request: Path) -> list[TriggerEvent]:
        """The files due (stat in a thread) that are ready: one event naming them all; and the request's change."""
        now = time.monotonic()
        due = [path for path, pending in self._pending.items() if pending.due <= now]
        if not due and not self._request_changed:
            return []
        keys, requested = await asyncio.to_thread(_stats, due, request if self._request_changed else None)
        events = []
        if self._request_changed:
            self._request_changed = False
            if requested is not None and requested != self._request_seen:
                self._request_seen = requested
                self.log.info("a publish was asked for (a send from the portal, a review, a closing)")
                events.append(TriggerEvent({"publish_requested": requested}))
        now = time.monotonic()
        ready: dict[str, Key] = {}
        for path in due:
            pending, key = self._pending.get(path), keys[path]
            if pending is None or pending.due > now:  # changed by an event meanwhile
                continue
            seen = self._announced.get(path)
            if key is None or (pending.state == "listed" and seen is not None and seen[0] == key):
                del self._pending[path]  # gone; or listed again as announced (an event means a new version)
            elif pending.state == "open" or (pending.state == "listed" and pending.key != key):
                # held open with nothing written for a while, or changed since listed: settles on its key
                self._pending[path] = _Pending("listed", now + self.settle_seconds, key)
            else:
                ready[path] = key
                del self._pending[path]
        if ready:
            new = sorted(ready)
            self._announced.update({path: (ready[path], now) for path in new})
            self.log.info("%d new file(s) in landing: %s", len(new), ", ".join(new[:10]))
            events.append(TriggerEvent({"files": new, "sizes": {path: ready[path][0] for path in new}}))
        return events
