"""Stage names from a trace alone never contradict OVN's own ovn-detrace (issue 11, item 1).

Every trace is annotated WITHOUT any context (no database, no --ovn-version); the oracle is the real
``ovn-detrace`` run with the database the trace was taken against: stored outputs (OVN 24.03.9,
fixtures/truth), ``ovn-detrace`` run now on fixtures/lab against a real ovsdb-server serving that lab's
own database files, and the live session lab. See tests/truth/release_measure.py for the counting.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ovntrace.correlate.annotate import Correlator, annotate
from ovntrace.lab.lab import Lab
from ovntrace.parser import parse
from ovntrace.sources import load_context
from tests.conftest import FIX
from tests.truth.conftest import TruthRun
from tests.truth.detrace import DETRACE
from tests.truth.release_measure import (
    Case,
    lab_fixture_cases,
    lab_fixture_traces,
    measure,
    measure_case,
    measure_seed,
    stored_cases,
)

needs_detrace = pytest.mark.skipif(not Path(DETRACE).exists() or shutil.which("ovsdb-server") is None,
                                   reason=f"{DETRACE} or ovsdb-server missing (ovn-common, openvswitch-switch)")


@pytest.mark.parametrize("case", stored_cases(), ids=lambda c: c.name)
def test_no_stage_name_contradicts_stored_ovn_detrace(case: Case) -> None:
    c = measure_case(case)
    assert c.total > 0, case.name
    assert c.wrong == 0, c.wrong_examples
    assert c.open_missing == 0  # an open table always lists the right name


def test_stored_cases_are_mostly_named() -> None:
    """Honest is not the same as silent: most tables still get their (right) name."""
    by_release = measure(stored_cases())
    for rel, c in by_release.items():
        assert c.wrong == 0, (rel, c.wrong_examples)
        assert c.right >= 0.85 * c.total, (rel, c.row())


@needs_detrace
def test_lab_fixtures_against_real_ovn_detrace_on_their_databases() -> None:
    """fixtures/lab (OVN 23.03.1): ovn-detrace is run now, against an ovsdb-server serving the lab's db files."""
    cases = lab_fixture_cases()
    assert len(cases) == len(lab_fixture_traces()) >= 15
    total = measure(cases)["23.03.1"]
    print(f"fixtures/lab OVN 23.03.1: {total.row()}")
    assert total.wrong == 0, total.wrong_examples
    assert total.open_missing == 0
    assert total.total > 600 and total.right >= 0.9 * total.total, total.row()


@pytest.mark.lab
@needs_detrace
def test_live_lab_traces_against_real_ovn_detrace(truth_runs: dict[str, TruthRun]) -> None:
    cases = [Case(n, "23.03.1", r.trace, r.detrace) for n, r in truth_runs.items()]
    total = measure(cases)["23.03.1"]
    print(f"live lab OVN 23.03.1: {total.row()}")
    assert total.total > 100
    assert total.wrong == 0, total.wrong_examples


def test_seed_notes_ovn_2_8() -> None:
    c = measure_seed()
    assert (c.right, c.wrong) == (3, 0)


def _trace(rel: str):  # type: ignore[no-untyped-def]
    return parse((FIX / rel).read_text()).traces[0]


def test_lab_trace_release_is_inferred_not_claimed() -> None:
    a = annotate(_trace("lab/xnode-icmp-src.txt"))
    assert a is not None
    assert a.release is None and a.release_source == "trace" and a.layout_confidence is None
    assert "23.03.1" in a.release_candidates
    assert not any(r.startswith(("23.06", "23.09", "24.")) for r in a.release_candidates)
    words = a.release_guess or ""
    assert "confidence" not in words and "inferred from the table layout" in words
    assert "22.12.1..22.12.2, 23.03.1..23.03.3" in words


def test_24_03_trace_open_stage_lists_candidates_with_their_releases() -> None:
    t = _trace("ovn-24.03.9/trace3.txt")
    a = annotate(t)
    assert a is not None and "24.03.9" in a.release_candidates and a.release is None
    opened = [a.steps[s.line] for s in t.tables() if s.line in a.steps and a.steps[s.line].stage_candidates]
    assert opened
    for st in opened:
        assert st.stage is None and set(st.stage_releases) == set(st.stage_candidates)
        assert all(st.stage_releases[n] for n in st.stage_candidates)


def test_pinned_release_words() -> None:
    t = _trace("lab/xnode-icmp-src.txt")
    a = annotate(t, ovn_version="23.03.1")
    assert a is not None and a.release == "23.03.1" and a.release_source == "option"
    assert a.release_guess == "OVN 23.03.1, pinned by --ovn-version" and a.layout_confidence == 1.0
    b = annotate(t, ovn_version="24.03.9")  # a wrong pin: followed, but the contradiction is said
    assert b is not None and b.release == "24.03.9"
    assert "but the trace contradicts it" in (b.release_guess or "")
    assert b.layout_confidence is not None and b.layout_confidence < 1.0


def test_database_release_words() -> None:
    ctx = load_context(FIX / "lab" / "ovnsb_db.db", "sb")
    a = Correlator(ctx).annotate(_trace("lab/xnode-icmp-src.txt"))
    assert a is not None and a.release == "23.03.1" and a.release_source == "database"
    assert "from the databases" in (a.release_guess or "")


@pytest.mark.lab
def test_lab_session_fixture_is_the_release_the_fixtures_claim(lab: Lab) -> None:
    """Keeps the 23.03.1 label of the cases true: the lab's northd says so."""
    ctx = load_context(lab.node_dir("kube-master") / "ovnsb_db.db", "sb")
    assert ctx.ovn_version == "23.03.1"
