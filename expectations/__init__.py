"""The Great Expectations checks: the gate, its suites and its report.

Great Expectations imports scipy.stats and altair as it is imported, for a few expectations these suites never
use and for their charts: 76 MB of the 225 MB a process holds once it has imported it. Importing this package
makes the code of those two run when one of their names is first read instead, so a process that runs dbt and
the checks (the submission checks, a publish run) stays under 300 MB. Nothing is imported here.

Not importlib's LazyLoader: its modules run on any attribute read, and dbt reads `__file__` of every module in
sys.modules (inspect.stack(), for its behaviour flags), which ran them both at the first dbt command.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import threading
import types

ON_FIRST_USE = frozenset({"scipy.stats", "altair"})


class _Deferred(types.ModuleType):
    """A module found and set up as usual (its __file__, __spec__, __path__ ...) whose code has not run yet:
    reading any other name runs it, once, and the module is a plain module from then on."""

    _lock = threading.RLock()

    def __getattr__(self, name: str):  # only reached for a name the module does not have yet
        with _Deferred._lock:
            if type(self) is _Deferred:
                spec = self.__spec__
                self.__class__ = types.ModuleType  # its own __getattr__, if its code defines one, applies again
                spec.loader = self.__loader__ = spec.loader_state
                spec.loader.exec_module(self)
        return getattr(self, name)


class _DeferredLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader):
        self.loader = loader

    def create_module(self, spec):
        return None  # the usual module object

    def exec_module(self, module) -> None:
        module.__spec__.loader_state = self.loader
        module.__class__ = _Deferred


class _OnFirstUse(importlib.abc.MetaPathFinder):
    """Finds the modules of ON_FIRST_USE as usual, and has their code run when they are first used."""

    def find_spec(self, name, path, target=None):
        if name not in ON_FIRST_USE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _DeferredLoader(spec.loader)
        return spec


def _install() -> None:
    import sys

    if not any(type(finder).__name__ == "_OnFirstUse" for finder in sys.meta_path):
        sys.meta_path.insert(0, _OnFirstUse())


_install()
