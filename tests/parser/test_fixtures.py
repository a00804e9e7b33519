"""Every real fixture parses, loses nothing, and matches its reviewed golden JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ovntrace.model import StepKind, TraceFormat
from ovntrace.parser import parse
from ovntrace.render import json as json_render
from tests.conftest import FIX, fixture_id, trace_fixtures
from tests.parser.outline import outline

FIXTURES = trace_fixtures()
GOLDEN = FIX / "golden"

# an independent, deliberately simple scan for table lines: "N. ..." (modern), "Rule:"/"No match" (old)
_SCAN_MODERN = re.compile(r"^[\s>]*(\d{1,3}|--)\. \S")
_SCAN_OLD = re.compile(r"^[\s>]*(Rule: |No match)")


def _read(p: Path) -> str:
    return p.read_text(encoding="utf-8", errors="replace")


@pytest.mark.parametrize("path", FIXTURES, ids=fixture_id)
def test_every_line_is_accounted_for(path: Path) -> None:
    text = _read(path)
    result = parse(text)
    lines = text.split("\n")
    covered: set[int] = set(result.prose_lines)
    for t in result.traces:
        covered.update(range(t.first_line, t.last_line + 1))
    lost = [i + 1 for i, ln in enumerate(lines) if ln.strip() and i + 1 not in covered]
    assert not lost, f"lines neither in a trace nor kept as prose: {lost[:10]}"


@pytest.mark.parametrize("path", FIXTURES, ids=fixture_id)
def test_table_lines_found_by_a_simple_scan_are_table_steps(path: Path) -> None:
    text = _read(path)
    result = parse(text)
    ovn_trace_lines: set[int] = set()
    for t in result.traces:
        if t.format is TraceFormat.OVN_TRACE:
            ovn_trace_lines.update(range(t.first_line, t.last_line + 1))
    legacy = any(t.format is TraceFormat.LEGACY for t in result.traces)
    scan = set()
    for i, ln in enumerate(text.split("\n"), 1):
        if i in ovn_trace_lines:
            continue
        if _SCAN_MODERN.match(ln) or (legacy and _SCAN_OLD.match(ln)):
            scan.add(i)
    model = {s.line for t in result.traces for s in t.tables()}
    assert model == scan, f"scan only: {sorted(scan - model)[:10]}, model only: {sorted(model - scan)[:10]}"


def _check_golden(golden: Path, got: str, update: bool) -> None:
    if update:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(got, encoding="utf-8")
    assert golden.exists(), f"no golden {golden.name}: run pytest --update-goldens and review the diff"
    assert got == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", FIXTURES, ids=fixture_id)
def test_golden_outline(path: Path, request: pytest.FixtureRequest) -> None:
    """The whole parse (tree, state deltas, verdict) against a reviewed golden outline."""
    got = outline(parse(_read(path)))
    golden = GOLDEN / (fixture_id(path).replace("/", "__") + ".outline")
    _check_golden(golden, got, bool(request.config.getoption("--update-goldens")))


JSON_GOLDENS = ["seed/kube-node2-pod-to-sshd2.txt", "seed/kube-node1-tunnel-in.txt",
                "traces/051_savi-oldfmt-megaflow-arp.txt", "ovs-3.5.0/t12.txt"]


@pytest.mark.parametrize("rel", JSON_GOLDENS)
def test_golden_json(rel: str, request: pytest.FixtureRequest) -> None:
    """The ovntrace.explain/1 JSON contract itself, on a few fixtures."""
    got = json.dumps(json_render.to_dict(parse(_read(FIX / rel))), indent=1, ensure_ascii=False) + "\n"
    golden = GOLDEN / (rel.replace("/", "__") + ".json")
    _check_golden(golden, got, bool(request.config.getoption("--update-goldens")))


def test_fixture_list_covers_the_shared_traces_and_the_seed() -> None:
    names = {p.name for p in FIXTURES}
    assert "kube-node2-pod-to-sshd2.txt" in names and "kube-node1-tunnel-in.txt" in names
    assert len([p for p in FIXTURES if p.parent.name == "traces"]) == 29
    assert len([p for p in FIXTURES if p.parent.name == "lab"]) >= 15


def test_no_unparsed_steps_in_real_ofproto_output() -> None:
    """Raw OVS output (not pastes) must be fully understood: no unparsed steps."""
    raw = [p for p in FIXTURES if p.parent.name in ("ovs-3.5.0", "lab")]
    raw += [FIX / "ovn-24.03.9" / n for n in ("trace1.txt", "trace2.txt", "trace3.txt", "trace4.txt")]
    for p in raw:
        result = parse(_read(p))
        bad = [s for t in result.traces for s in t.walk() if s.kind is StepKind.UNPARSED]
        assert not bad, f"{p.name}: {[(s.line, s.text) for s in bad[:5]]}"
        unknown = [s for t in result.traces for s in t.walk()
                   if s.action is not None and not s.action.known]
        assert not unknown, f"{p.name}: {[(s.line, s.text) for s in unknown[:5]]}"
