"""ovn-trace parse benchmark, beside ofproto/trace's: ``python bench/bench_ovntrace.py [--lines N]``.

Builds two inputs of about N lines each by concatenating real traces: ovn-trace output (every trace in
fixtures/lab/ovn-trace, all three formats, OVN 23.03.1) and ofproto/trace output (the lab's traces,
as bench_parse.py uses), parses each (best of several runs, same process) and reports lines/s and
the ratio ovn-trace/ofproto, plus the ratio of each to a plain regex line scan (the floor).
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

OVN = sorted((FIX / "lab" / "ovn-trace").glob("*.txt"))
OFPROTO = [*sorted((FIX / "lab").glob("xnode-*.txt")), *sorted((FIX / "lab").glob("lb-*.txt"))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    res: dict[str, object] = {}
    for name, paths in (("ovn-trace", OVN), ("ofproto", OFPROTO)):
        text = big_input(a.lines, paths)
        n = text.count("\n") + 1
        parse(text)  # warm: grammars loaded
        t = best(lambda text=text: parse(text), a.repeat)  # type: ignore[misc]
        s = best(lambda text=text: regex_scan(text), a.repeat)  # type: ignore[misc]
        res[name] = {"lines": n, "seconds": round(t, 4), "lines_per_s": round(n / t), "x_regex_scan": round(t / s, 1)}
    o, f = res["ovn-trace"], res["ofproto"]
    assert isinstance(o, dict) and isinstance(f, dict)
    res["ovn_trace_speed_vs_ofproto"] = round(o["lines_per_s"] / f["lines_per_s"], 2)
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        for k in ("ovn-trace", "ofproto"):
            d = res[k]
            assert isinstance(d, dict)
            print(f"{k:10} {d['lines']:7} lines  {d['seconds']:.3f}s  {d['lines_per_s']:>8} lines/s  "
                  f"{d['x_regex_scan']}x regex scan")
        print(f"ovn-trace parses at {res['ovn_trace_speed_vs_ofproto']}x the line rate of ofproto/trace")
    return 0


if __name__ == "__main__":
    sys.exit(main())
