"""The Great Expectations checks: the gate, its suites and its report.

Great Expectations imports scipy.stats and altair as it is imported, for a few expectations these suites never
use and for their charts: 76 MB of the 225 MB a process holds once it has imported it. Importing this package
makes those two load on first use instead (importlib's LazyLoader), so a process that runs dbt and then the
checks (the submission checks, a publish run) stays under 300 MB. Nothing is imported here.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys

ON_FIRST_USE = frozenset({"scipy.stats", "altair"})


class _OnFirstUse(importlib.abc.MetaPathFinder):
    """Finds the modules of ON_FIRST_USE as usual, and gives them a loader that runs them when first used."""

    def find_spec(self, name, path, target=None):
        if name not in ON_FIRST_USE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


if not any(isinstance(finder, _OnFirstUse) for finder in sys.meta_path):
    sys.meta_path.insert(0, _OnFirstUse())
