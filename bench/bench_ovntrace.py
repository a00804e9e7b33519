"""ovn-trace parse benchmark, beside ofproto/trace's: ``python bench/bench_ovntrace.py [--lines N]``.

Builds inputs of about N lines each by concatenating real traces: ovn-trace output (every trace in
fixtures/lab/ovn-trace, all three formats, OVN 23.03.1; the same for OVN 25.03.0 in fixtures/lab/ovn-trace/25.03;
and each format on its own, both releases: --detailed, --summary, --minimal, --ovs) and ofproto/trace output
(the lab's traces, as bench_parse.py uses), parses each (best of several runs, same process) and reports
lines/s, the ratio to ofproto/trace's line rate, and the ratio of each to a plain regex line scan (the floor).
Then the logical/physical comparison (ovntrace.correlate.compare) on the real ovn-trace + ofproto/trace pairs
of both releases: its time as a fraction of parsing the same pastes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "fixtures"
sys.path.insert(0, str(ROOT))

from bench.bench_parse import best, big_input, regex_scan  # noqa: E402
from ovntrace.parser import parse  # noqa: E402

D = FIX / "lab" / "ovn-trace"
OVN = sorted(D.glob("*.txt"))
OVN25 = sorted(p for p in (D / "25.03").glob("*.txt") if not p.name.startswith(("pair-", "divergence-")))
_ALL = OVN + sorted((D / "ovs").glob("*.txt")) + OVN25
FORMATS = {
    "detailed": [p for p in _ALL if p.name.endswith("-detailed.txt") and "-ovs-" not in p.name],
    "summary": [p for p in _ALL if p.name.endswith("-summary.txt")],
    "minimal": [p for p in _ALL if p.name.endswith("-minimal.txt")],
    "--ovs": [p for p in _ALL if "-ovs-" in p.name],
}
PAIRS = sorted((D / "23.03").glob("*.txt")) + sorted(p for p in (D / "25.03").glob("*.txt")
                                                      if p.name.startswith(("pair-", "divergence-")))
OFPROTO = [*sorted((FIX / "lab").glob("xnode-*.txt")), *sorted((FIX / "lab").glob("lb-*.txt"))]


def _bench_compare(repeat: int) -> dict[str, object]:
    from ovntrace.correlate.compare import compare_result

    texts = [p.read_text(encoding="utf-8") for p in PAIRS]
    results = [parse(t) for t in texts]
    tp = best(lambda: [parse(t) for t in texts], repeat)
    tc = best(lambda: [compare_result(r.traces) for r in results], repeat)
    return {"pastes": len(texts), "lines": sum(t.count("\n") for t in texts), "parse_seconds": round(tp, 4),
            "compare_seconds": round(tc, 4), "compare_over_parse": round(tc / tp, 3)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    res: dict[str, object] = {}
    inputs = [("ofproto", OFPROTO), ("ovn-trace", OVN), ("ovn-trace-25.03", OVN25),
              *((f"ovn-trace {k}", v) for k, v in FORMATS.items())]
    for name, paths in inputs:
        text = big_input(a.lines, paths)
        n = text.count("\n") + 1
        parse(text)  # warm: grammars loaded
        t = best(lambda text=text: parse(text), a.repeat)  # type: ignore[misc]
        s = best(lambda text=text: regex_scan(text), a.repeat)  # type: ignore[misc]
        res[name] = {"lines": n, "seconds": round(t, 4), "lines_per_s": round(n / t), "x_regex_scan": round(t / s, 1)}
    f = res["ofproto"]
    assert isinstance(f, dict)
    for name, _ in inputs:
        d = res[name]
        assert isinstance(d, dict)
        d["x_ofproto_line_rate"] = round(d["lines_per_s"] / f["lines_per_s"], 2)
    o = res["ovn-trace"]
    assert isinstance(o, dict)
    res["ovn_trace_speed_vs_ofproto"] = o["x_ofproto_line_rate"]
    res["compare"] = _bench_compare(a.repeat)
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        for k, _ in inputs:
            d = res[k]
            assert isinstance(d, dict)
            print(f"{k:20} {d['lines']:7} lines  {d['seconds']:.3f}s  {d['lines_per_s']:>8} lines/s  "
                  f"{d['x_regex_scan']:>5}x regex scan  {d['x_ofproto_line_rate']:>5}x ofproto's line rate")
        print(f"ovn-trace parses at {res['ovn_trace_speed_vs_ofproto']}x the line rate of ofproto/trace")
        c = res["compare"]
        assert isinstance(c, dict)
        print(f"compare: {c['pastes']} pastes ({c['lines']} lines): parse {c['parse_seconds']:.4f}s, "
              f"compare {c['compare_seconds']:.4f}s = {c['compare_over_parse']}x the parse")
    return 0


if __name__ == "__main__":
    sys.exit(main())
