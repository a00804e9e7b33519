"""Export what the TUI shows: Markdown or ``ovntrace.explain/2`` JSON, written atomically.

Pure functions (no Textual): the screen calls them from a worker thread.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ovntrace.lab.inventory import atomic_write
from ovntrace.model import ParseResult
from ovntrace.model.ovn import TraceOvn

FORMATS = ("markdown", "json")
SUFFIX = {"markdown": ".md", "json": ".json"}


def default_path(source_name: str | None, fmt: str, cwd: Path | None = None, *, literal: bool = False) -> Path:
    """``<input stem>.ovntrace.md`` next to where the TUI runs (``paste.ovntrace.json`` for a paste).
    ``literal``: ``source_name`` is not a file name (a live path's ``path default/client-1 10.0.0.5 trk,new``):
    all of it, made a file name, not its stem."""
    stem = source_name if literal and source_name else (Path(source_name).stem if source_name else "paste")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.") or "paste"
    return (cwd or Path.cwd()) / f"{stem}.ovntrace{SUFFIX[fmt]}"


def render(result: ParseResult, fmt: str, ovn: Sequence[TraceOvn | None] | None = None, preamble: str = "") -> str:
    """``preamble``: Markdown put before the explanation (a live path's line and verdict); not in JSON,
    whose ``ovntrace.explain/2`` contract has no place for it."""
    if fmt == "json":
        from ovntrace.render import json_v2

        return json_v2.render(result, ovn)
    if fmt == "markdown":
        from ovntrace.render import markdown

        return preamble + markdown.render(result, ovn=ovn)
    raise ValueError(f"unknown export format {fmt!r} (expected one of {', '.join(FORMATS)})")


def export(result: ParseResult, fmt: str, path: Path, ovn: Sequence[TraceOvn | None] | None = None,
           preamble: str = "") -> int:
    """Write the export to ``path`` atomically (temporary file + rename); returns the bytes written."""
    text = render(result, fmt, ovn, preamble)
    atomic_write(path.expanduser(), text)
    return len(text.encode("utf-8"))
