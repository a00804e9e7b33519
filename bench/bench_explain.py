"""End-to-end explain benchmark (issue 18): ``python bench/bench_explain.py [--lines N] [--json]``.

Input: ``N`` lines of real traces concatenated (:func:`bench_parse.big_input`). In one run, side by side:
* ``ovntrace explain FILE --format json|text|markdown`` as a subprocess (OVN meaning included, no
  database): wall and CPU seconds (children's user+sys; the machine is shared, CPU is the steadier
  number), lines/s of CPU, and peak RSS (VmHWM of the child) per input line;
* the baseline in the same run: a plain regex line scan of the same text, and ``python -c pass``;
  each explain is also given as a ratio to them.
* start-up: ``ovntrace explain`` of a ~400-line real trace (best of 5 wall) against ``python -c pass``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from bench_parse import MEDIUM, best, big_input, regex_scan  # noqa: E402

HWM = (
    "import runpy,sys,atexit;"
    "atexit.register(lambda: sys.stderr.write('HWM '+[l for l in open('/proc/self/status') "
    "if l.startswith('VmHWM')][0].split()[1]+'\\n'));"
    "sys.argv=['ovntrace']+sys.argv[1:];sys.setrecursionlimit(10000);"
    "from ovntrace.cli import run;sys.exit(run(sys.argv[1:],sys.stdin,sys.stdout,sys.stderr))"
)


def child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def explain(path: Path, fmt: str, code: Path | None = None) -> dict[str, float]:
    """One run of the CLI; ``code``: a directory holding another ``ovntrace`` package (the baseline)."""
    argv = [sys.executable, "-c", HWM, "explain", str(path), "--format", fmt, "--color", "never", "-q"]
    env = {**os.environ, "PYTHONPATH": str(code or ROOT)}  # cwd "/": the cwd would come first on sys.path
    c0, t0 = child_cpu(), time.perf_counter()
    res = subprocess.run(argv, capture_output=True, text=True, check=True, env=env, cwd="/")
    wall, cpu = time.perf_counter() - t0, child_cpu() - c0
    hwm_kb = int([ln for ln in res.stderr.splitlines() if ln.startswith("HWM ")][-1].split()[1])
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_kb": hwm_kb, "out_bytes": len(res.stdout)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--formats", default="json,text,markdown")
    ap.add_argument("--baseline", type=Path, metavar="DIR",
                    help="a directory with the baseline's ovntrace/ (e.g. `git archive a960efc ovntrace | tar -x "
                    "-C DIR`): each format is run with it too, alternately, and the ratio reported")
    args = ap.parse_args()
    text = big_input(args.lines)
    n = text.count("\n") + 1
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    big = out / "explain-input.txt"
    big.write_text(text, encoding="utf-8")
    t_scan = best(lambda: regex_scan(text), 3)
    t_py = best(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), 5)
    report: dict[str, object] = {"input_lines": n, "regex_scan_s": round(t_scan, 4),
                                 "python_start_ms": round(t_py * 1000, 1)}
    for fmt in args.formats.split(","):
        r = explain(big, fmt)
        if args.baseline:
            b = explain(big, fmt, args.baseline)
            report[f"{fmt}_baseline"] = {"wall_s": round(b["wall_s"], 2), "cpu_s": round(b["cpu_s"], 2),
                                         "lines_per_cpu_s": round(n / b["cpu_s"]),
                                         "peak_rss_bytes_per_line": round(b["peak_rss_kb"] * 1024 / n),
                                         "speedup_cpu": round(b["cpu_s"] / r["cpu_s"], 2)}
        report[fmt] = {
            "wall_s": round(r["wall_s"], 2), "cpu_s": round(r["cpu_s"], 2),
            "lines_per_cpu_s": round(n / r["cpu_s"]), "lines_per_wall_s": round(n / r["wall_s"]),
            "ratio_cpu_to_regex_scan": round(r["cpu_s"] / t_scan, 1),
            "peak_rss_bytes_per_line": round(r["peak_rss_kb"] * 1024 / n), "output_bytes": int(r["out_bytes"]),
        }
    m_lines = MEDIUM.read_text(encoding="utf-8").count("\n")
    cli = [sys.executable, "-m", "ovntrace.cli", "explain", str(MEDIUM), "--color", "never"]
    t_cli = best(lambda: subprocess.run(cli, capture_output=True, check=True), 5)
    report["startup"] = {"trace_lines": m_lines, "explain_wall_ms": round(t_cli * 1000, 1),
                         "ratio_to_python_start": round(t_cli / t_py, 1)}
    big.unlink()
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        for k, v in report.items():
            print(f"{k:20} {v}")


if __name__ == "__main__":
    main()
