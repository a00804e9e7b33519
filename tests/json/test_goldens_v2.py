"""Every golden's input in ``/2``: the verdict goldens (lab trace sets, with their node's NB/SB/conf.db, as
tests/correlate/test_verdicts.py builds them) and the full-document goldens (fixtures/golden/*.txt.json,
which stay ``/1``: ``--format json1``) are valid ``ovntrace.explain/2`` documents, and say the same verdict."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ovntrace.cli import run
from ovntrace.model import ParseResult
from ovntrace.render import json_v2
from tests.conftest import FIX
from tests.correlate.test_verdicts import CASES, explain
from tests.json.contract import validate

GOLDEN = FIX / "golden"


@pytest.mark.parametrize(("set_name", "name", "node"), CASES, ids=[f"{s}/{n}" for s, n, _ in CASES])
def test_verdict_golden_inputs_in_v2(set_name: str, name: str, node: str) -> None:
    t, a, _ = explain(set_name, name, node)
    doc = json_v2.to_dict(ParseResult((t,), (), t.last_line, ()), [a])
    validate(json.loads(json.dumps(doc)), "ovntrace.explain/2")
    v1 = json.loads((GOLDEN / f"lab-{set_name}__{name}.verdict.json").read_text(encoding="utf-8"))["verdict"]
    v2 = doc["traces"][0]["verdict"]
    for key in ("kind", "line", "reason", "ovn_kind", "cause", "cause_line", "ovn_reason"):
        assert v2[key] == v1.get(key), key  # the reviewed /1 golden, key for key
    assert v2["ports"] == [json_v2.num(p) for p in v1["ports"]]
    assert len(v2["outputs"]) == len(v1["outputs"])


def _golden_inputs() -> list[tuple[Path, Path]]:
    out = []
    for g in sorted(GOLDEN.glob("*.txt.json")):
        src = FIX / g.name.removesuffix(".json").replace("__", "/")
        out.append((g, src))
    return out


@pytest.mark.parametrize(("golden", "src"), _golden_inputs(), ids=lambda p: p.name)
def test_document_golden_inputs_in_v2(golden: Path, src: Path) -> None:
    assert src.exists(), src
    v1 = json.loads(golden.read_text(encoding="utf-8"))
    out = io.StringIO()
    assert run(["explain", str(src), "-q", "--no-ovn", "-f", "json"], io.StringIO(), out, io.StringIO()) == 0
    doc = json.loads(out.getvalue())
    validate(doc, "ovntrace.explain/2")
    assert [t["verdict"]["kind"] for t in doc["traces"]] == [t["verdict"]["kind"] for t in v1["traces"]]
    assert doc["line_count"] == v1["line_count"] and doc["prose_lines"] == v1["prose_lines"]
