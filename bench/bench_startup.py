"""Start-up benchmark (issue 18): ``python bench/bench_startup.py [--baseline DIR] [--repeat N]``.

``ovntrace explain`` of a real ~450-line OVN trace (text, no database), wall and CPU time including
interpreter start, best of N, alternating with ``python -c pass`` (the floor) and, with ``--baseline DIR`` (a
directory holding another ``ovntrace/``, e.g. ``git archive a960efc ovntrace | tar -x -C DIR``), the
baseline code, all in one run. Also lists which ``ovntrace`` modules the command imported.
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
TRACE = ROOT / "fixtures" / "ovn-24.03.9" / "trace2.txt"
CLI = [sys.executable, "-m", "ovntrace.cli", "explain", str(TRACE), "--color", "never"]


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def once(argv: list[str], code: Path | None, cpu: list[float] | None = None) -> float:
    """Wall seconds of one run; its CPU seconds (user+sys, the steadier number on a shared machine) are
    appended to ``cpu``."""
    env = {**os.environ, "PYTHONPATH": str(code or ROOT)}  # cwd "/": the cwd would come first on sys.path
    c0, t0 = _child_cpu(), time.perf_counter()
    subprocess.run(argv, capture_output=True, check=True, env=env, cwd="/")
    if cpu is not None:
        cpu.append(_child_cpu() - c0)
    return time.perf_counter() - t0


def imported(code: Path | None) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(code or ROOT)}  # cwd "/": the cwd would come first on sys.path
    probe = ("import sys,runpy;sys.argv=['ovntrace','explain',sys.argv[1],'--color','never'];"
             "import io,contextlib\nwith contextlib.redirect_stdout(io.StringIO()):\n"
             " from ovntrace.cli import run; run(sys.argv[1:],sys.stdin,sys.stdout,sys.stderr)\n"
             "print(' '.join(sorted(m for m in sys.modules if m.startswith('ovntrace'))))")
    out = subprocess.run([sys.executable, "-c", probe, str(TRACE)], capture_output=True, text=True, check=True,
                         env=env, cwd="/")
    return out.stdout.split()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", type=Path, metavar="DIR")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    runs: dict[str, list[float]] = {"python_pass": [], "explain": [], "explain_baseline": []}
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(args.repeat):
        runs["python_pass"].append(once([sys.executable, "-c", "pass"], None, cpu["python_pass"]))
        runs["explain"].append(once(CLI, None, cpu["explain"]))
        if args.baseline:
            runs["explain_baseline"].append(once(CLI, args.baseline, cpu["explain_baseline"]))
    best = {k: round(min(v) * 1000, 1) for k, v in runs.items() if v}
    best_cpu = {k: round(min(v) * 1000, 1) for k, v in cpu.items() if v}
    mods = imported(None)
    report: dict[str, object] = {"trace_lines": TRACE.read_text(encoding="utf-8").count("\n"),
                                 "best_ms": best, "best_cpu_ms": best_cpu,
                                 "ratio_to_python_start": round(best["explain"] / best["python_pass"], 2),
                                 "ovntrace_modules": len(mods)}
    if args.baseline:
        report["speedup_vs_baseline"] = round(best["explain_baseline"] / best["explain"], 2)
        report["cpu_speedup_vs_baseline"] = round(best_cpu["explain_baseline"] / best_cpu["explain"], 2)
        base = imported(args.baseline)
        report["ovntrace_modules_baseline"] = len(base)
        report["no_longer_imported"] = sorted(set(base) - set(mods))
    report["modules"] = mods
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
