"""Load the ``.lark`` grammars once per process, with an on-disk cache outside the package dir.

Building an LALR table costs tens of milliseconds per grammar; a serialized parser loads in a few.
The cache lives in ``$OVNTRACE_CACHE_DIR`` or ``$XDG_CACHE_HOME/ovntrace`` (``~/.cache/ovntrace``),
keyed by the grammar's hash and lark's version, and is written atomically. Any cache problem falls
back to building the parser: the cache is an optimisation, never a requirement.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import lark

_GRAMMARS = resources.files("ovntrace.parser") / "grammars"


def cache_dir() -> Path | None:
    explicit = os.environ.get("OVNTRACE_CACHE_DIR")
    if explicit == "":
        return None  # OVNTRACE_CACHE_DIR= disables the cache
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ovntrace"


def _options(name: str) -> dict[str, Any]:
    if name == "lines":
        return {"parser": "lalr", "lexer": "basic"}
    opts: dict[str, Any] = {"parser": "lalr", "lexer": "contextual", "maybe_placeholders": False}
    if name == "actions":
        opts["propagate_positions"] = True  # nested action texts are sliced from the line as printed
    return opts


@functools.cache
def grammar(name: str) -> lark.Lark:
    """The Lark parser for ``grammars/<name>.lark`` (``lines``, ``actions``, ``kv``)."""
    text = (_GRAMMARS / f"{name}.lark").read_text(encoding="utf-8")
    opts = _options(name)
    digest = hashlib.sha256((text + repr(sorted(opts.items())) + lark.__version__).encode()).hexdigest()[:16]
    directory = cache_dir()
    path = directory / f"{name}-{digest}.lark" if directory else None
    if path is not None:
        try:
            with path.open("rb") as f:
                return lark.Lark.load(f)
        except Exception:
            pass
    parser = lark.Lark(text, **opts)
    if path is not None:
        _save(parser, path)
    return parser


def _save(parser: lark.Lark, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                parser.save(f)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except Exception:
        pass
