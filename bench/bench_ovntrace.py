"""ovn-trace parse benchmark, beside ofproto/trace's: ``python bench/bench_ovntrace.py [--lines N]``.

Builds two inputs of about N lines each by concatenating real traces: ovn-trace output (every trace in
fixtures/lab/ovn-trace, all three formats, OVN 23.03.1) and ofproto/trace output (the lab's traces,
as bench_parse.py uses), parses each (best of several runs, same process) and reports lines/s and
the ratio ovn-trace/ofproto, plus the ratio of each to a plain regex line scan (the floor).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "fixtures"
sys.path.insert(0, str(ROOT))

from ovntrace.parser import parse  # noqa: E402

OVN = sorted((FIX / "lab" / "ovn-trace").glob("*.txt"))
OFPROTO = [*sorted((FIX / "lab").glob("xnode-*.txt")), *sorted((FIX / "lab").glob("lb-*.txt"))]


def build(paths: list[Path], n_lines: int) -> str:
    texts = [p.read_text(encoding="utf-8") for p in paths]
    chunks: list[str] = []
    total = i = 0
    while total < n_lines:
        t = texts[i % len(texts)]
        chunks.append(t if t.endswith("\n") else t + "\n")
        total += t.count("\n") + 1
        i += 1
    return "\n".join(chunks)


def best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


def scan(text: str) -> int:
    rx = re.compile(r"^\s*(\d{1,3})\. |^\s*(\S+)")
    return sum(1 for ln in text.split("\n") if rx.match(ln))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    res: dict[str, object] = {}
    for name, paths in (("ovn-trace", OVN), ("ofproto", OFPROTO)):
        text = build(paths, a.lines)
        n = text.count("\n") + 1
        parse(text)  # warm: grammars loaded
        t = best(lambda text=text: parse(text), a.repeat)  # type: ignore[misc]
        s = best(lambda text=text: scan(text), a.repeat)  # type: ignore[misc]
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
