"""What a Correlator remembers between traces (table meanings, the StepOvn of a step by what it is made of,
the verdict's facts) never changes a trace's meaning: every trace fixture annotated by one Correlator after
all the others equals the same trace annotated by a fresh Correlator, with no facts, with the lab's NB/SB
dumps, and with a pinned release."""

from __future__ import annotations

import pytest

from ovntrace.correlate import Correlator
from ovntrace.model import Trace
from ovntrace.model.cluster import ClusterContext
from ovntrace.parser import parse
from tests.conftest import FIX

CONTEXT = FIX / "context"


def _traces() -> list[Trace]:
    files = sorted(p for p in FIX.rglob("*.txt") if not any(k in p.name for k in ("show", "list", "dpif", "ofctl")))
    return [t for p in files for t in parse(p.read_text(encoding="utf-8")).traces]


def _lab_context() -> ClusterContext:
    from ovntrace.sources import load_cluster

    return load_cluster((str(CONTEXT / "lab-nb-dump.json"),), (str(CONTEXT / "lab-sb-dump.json"),), [], (), None,
                        None)


@pytest.mark.parametrize("facts", ["none", "lab dumps", "pinned 23.03.1"])
def test_a_shared_correlator_reads_every_trace_as_a_fresh_one(facts: str) -> None:
    ctx = _lab_context() if facts == "lab dumps" else None
    version = "23.03.1" if facts.startswith("pinned") else None
    traces = _traces()
    shared = Correlator(ctx, version)
    together = [shared.annotate(t) for t in traces]
    alone = [Correlator(ctx, version).annotate(t) for t in traces]
    assert sum(a is not None for a in alone) > 100
    for t, a, b in zip(traces, together, alone, strict=True):
        assert a == b, t.passes[0].steps[0].line if t.passes and t.passes[0].steps else t
