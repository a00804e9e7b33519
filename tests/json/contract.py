"""Validate a ``/2`` document against its published schema (ovntrace/schemas) with ``jsonschema``.

Tests of every command call :func:`check` on what the command printed: the document must name its
schema, match it, and be in the one ``/2`` style (one ASCII line with json.dumps's separators and a trailing newline).
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from ovntrace import schemas


@functools.cache
def registry() -> Registry:
    """Every published schema by its ``$id`` (``path.v2`` refers to ``explain.v2``'s hop and document)."""
    docs = [schemas.load(f"ovntrace.{n}/2") for n in schemas.NAMES]
    return Registry().with_resources((d["$id"], Resource.from_contents(d)) for d in docs)


@functools.cache
def validator(doc_schema: str) -> Draft202012Validator:
    schema = schemas.load(doc_schema)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=registry())


def validate(doc: Any, expect: str | None = None) -> None:
    """Raise with every error (path and message) unless ``doc`` matches the schema it names."""
    assert isinstance(doc, dict) and isinstance(doc.get("schema"), str), "no \"schema\" key"
    if expect is not None:
        assert doc["schema"] == expect, f"schema {doc['schema']!r}, expected {expect!r}"
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))  # trees nest 100+ levels
    errors = sorted(validator(doc["schema"]).iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}" for e in errors[:20]]
        raise AssertionError(f"{len(errors)} schema errors in a {doc['schema']} document:\n" + "\n".join(lines))


def check(text: str, expect: str | None = None, compact: bool = False) -> dict[str, Any]:
    """A command's ``--format json`` output: the ``/2`` layout (one ASCII line, json.dumps's separators) and its
    schema. ``compact``: a snapshot file (separators ``,`` and ``:``)."""
    assert text.endswith("\n") and text.count("\n") == 1, "a /2 document is one line ending with a newline"
    assert text.isascii(), "a /2 document is ASCII (other characters as \\uXXXX escapes)"
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    doc = json.loads(text)
    seps = (",", ":") if compact else (", ", ": ")
    assert json.dumps(doc, separators=seps) + "\n" == text, f"not in the /2 layout (one line, separators {seps})"
    validate(doc, expect)
    return doc  # type: ignore[no-any-return]
