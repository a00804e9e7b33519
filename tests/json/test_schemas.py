"""The published schemas: valid draft 2020-12 schemas, one per ``/2`` document, shipped as package data."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from ovntrace import schemas

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", schemas.NAMES)
def test_schema_is_valid_and_named(name: str) -> None:
    s = schemas.load(f"ovntrace.{name}/2")
    Draft202012Validator.check_schema(s)
    assert s["$id"] == f"urn:ovntrace:schema:{name}.v2" and s["title"] == f"ovntrace.{name}/2"
    assert s["properties"]["schema"] == {"const": f"ovntrace.{name}/2"}
    assert set(s["required"]) == set(s["properties"])  # every key present: all required


def test_every_object_requires_all_its_keys() -> None:
    """Rule 1 of the contract, in the schemas themselves: an object's listed keys are all required."""
    for name in schemas.NAMES:
        stack = [schemas.load(f"ovntrace.{name}/2")]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if node.get("type") == "object" and "properties" in node:
                    assert set(node.get("required", [])) == set(node["properties"]), (name, sorted(node["properties"]))
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)


def test_schemas_are_package_data() -> None:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert cfg["tool"]["setuptools"]["package-data"]["ovntrace.schemas"] == ["*.schema.json"]
    assert any(d.startswith("jsonschema") for d in cfg["project"]["optional-dependencies"]["test"])
    shipped = {p.name for p in (ROOT / "ovntrace" / "schemas").glob("*.schema.json")}
    assert shipped == {schemas.schema_file(f"ovntrace.{n}/2") for n in schemas.NAMES}
