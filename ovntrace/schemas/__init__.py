"""JSON Schemas (draft 2020-12) of ovntrace's ``/2`` documents, installed with the package.

``NAME.v2.schema.json`` describes the documents whose ``"schema"`` is ``ovntrace.NAME/2``
(docs/json-contract.md): ``explain``, ``path``, ``doctor``, ``snapshot``, ``lab-status``, ``bundle``, ``replay``
(``path`` and ``replay`` refer to ``explain`` by its ``$id``).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

NAMES = ("explain", "path", "doctor", "snapshot", "lab-status", "bundle", "replay")


def schema_file(doc_schema: str) -> str:
    """``ovntrace.path/2`` -> ``path.v2.schema.json``."""
    name, _, version = doc_schema.removeprefix("ovntrace.").partition("/")
    return f"{name}.v{version}.schema.json"


def load(doc_schema: str) -> dict[str, Any]:
    """The JSON Schema of documents whose ``"schema"`` is ``doc_schema`` (e.g. ``ovntrace.explain/2``)."""
    text = resources.files(__name__).joinpath(schema_file(doc_schema)).read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]
