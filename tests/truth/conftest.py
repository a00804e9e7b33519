"""Truth tests use the session lab of ``tests/conftest.py`` (one lab per pytest run)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from ovntrace.lab.lab import Lab
from tests.truth.cases import CASES
from tests.truth.detrace import SbLflow, run_detrace, sb_lflows, truth_from_output

__all__ = ["TruthRun", "remotes", "truth_runs"]


@dataclass(frozen=True)
class TruthRun:
    name: str
    node: str
    flow: str
    trace: str
    detrace: str  # ovn-detrace's output on the trace
    truth: dict[str, list[dict[str, Any]]]


def remotes(lab: Lab) -> tuple[str, str]:
    """(SB, NB) tcp remotes of the lab's central databases."""
    c = lab.inventory.cluster
    return f"tcp:{c.db_address}:{c.sb_port}", f"tcp:{c.db_address}:{c.nb_port}"


@pytest.fixture(scope="session")
def lflows(lab: Lab) -> dict[str, SbLflow]:
    return sb_lflows(remotes(lab)[0])


@pytest.fixture(scope="session")
def truth_runs(lab: Lab, lflows: dict[str, SbLflow]) -> dict[str, TruthRun]:
    """Every case traced in the session lab, with the real ovn-detrace's output and the truth from it."""
    sb, nb = remotes(lab)
    runs: dict[str, TruthRun] = {}
    for case in CASES:
        flow = case.flow(lab)
        trace = lab.trace(case.node, flow)
        out = run_detrace(trace, sb, nb)
        runs[case.name] = TruthRun(case.name, case.node, flow, trace, out, truth_from_output(out, lflows))
    return runs
