"""Export what the TUI shows: Markdown or ``ovntrace.explain/1`` JSON, written atomically.

Pure functions (no Textual): the screen calls them from a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ovntrace.lab.inventory import atomic_write
from ovntrace.model import ParseResult
from ovntrace.model.ovn import TraceOvn

FORMATS = ("markdown", "json")
SUFFIX = {"markdown": ".md", "json": ".json"}


def default_path(source_name: str | None, fmt: str, cwd: Path | None = None) -> Path:
    """``<input stem>.ovntrace.md`` next to where the TUI runs (``paste.ovntrace.json`` for a paste)."""
    stem = Path(source_name).stem if source_name else "paste"
    return (cwd or Path.cwd()) / f"{stem}.ovntrace{SUFFIX[fmt]}"


def render(result: ParseResult, fmt: str, ovn: Sequence[TraceOvn | None] | None = None) -> str:
    if fmt == "json":
        from ovntrace.render import json as json_render

        return json_render.render(result, ovn=ovn)
    if fmt == "markdown":
        from ovntrace.render import markdown

        return markdown.render(result, ovn=ovn)
    raise ValueError(f"unknown export format {fmt!r} (expected one of {', '.join(FORMATS)})")


def export(result: ParseResult, fmt: str, path: Path, ovn: Sequence[TraceOvn | None] | None = None) -> int:
    """Write the export to ``path`` atomically (temporary file + rename); returns the bytes written."""
    text = render(result, fmt, ovn)
    atomic_write(path.expanduser(), text)
    return len(text.encode("utf-8"))
