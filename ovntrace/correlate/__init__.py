"""Pure functions from a parsed trace and cluster facts to OVN annotations, a path and a verdict.

``Correlator`` is loaded on first use: the CLI imports ``ovntrace.correlate.path`` to register
``ovntrace path`` at start-up, and that must not pull in the OVN knowledge tables. The one-shot helper
``annotate`` lives in :mod:`ovntrace.correlate.annotate`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ovntrace.correlate.annotate import Correlator

__all__ = ["Correlator"]


def __getattr__(name: str) -> Any:
    if name == "Correlator":
        return importlib.import_module("ovntrace.correlate.annotate").Correlator
    raise AttributeError(name)
