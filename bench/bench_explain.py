"""End-to-end explain benchmark (issue 18): ``python bench/bench_explain.py [--lines N] [--json]``.

Input: ``N`` lines of real traces concatenated (:func:`bench_parse.big_input`). In one run, side by side:
* ``ovntrace explain FILE --format json|text|markdown`` as a subprocess (OVN meaning included, no
  database), once per ``--jobs`` value (default ``1,auto``: one process, and the workers): wall and CPU
  seconds (user+sys of the child and of its workers, which it waits for; the machine is shared, CPU is the
  steadier number), lines/s of wall and of CPU, peak RSS (VmHWM of the main process) per input line, and the
  peak over the run of the RSS and of the PSS summed over the process and its workers (sampled every 20 ms
  from /proc; PSS counts a page shared by n processes 1/n in each: the honest sum after ``fork``);
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
from typing import Any

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


def _tree_kb(pid: int) -> tuple[int, int]:
    """RSS and PSS (kB) summed over ``pid`` and its children."""
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids += [int(x) for x in f.read().split()]
    except OSError:
        return 0, 0
    rss = pss = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for ln in f:
                    if ln.startswith("Rss:"):
                        rss += int(ln.split()[1])
                    elif ln.startswith("Pss:"):
                        pss += int(ln.split()[1])
        except OSError:
            pass
    return rss, pss


def explain(path: Path, fmt: str, code: Path | None = None, jobs: str | None = None) -> dict[str, float]:
    """One run of the CLI; ``code``: a directory holding another ``ovntrace`` package (the baseline)."""
    import tempfile
    import threading

    argv = [sys.executable, "-c", HWM, "explain", str(path), "--format", fmt, "--color", "never", "-q"]
    if jobs is not None:
        argv += ["--jobs", jobs]
    env = {**os.environ, "PYTHONPATH": str(code or ROOT)}  # cwd "/": the cwd would come first on sys.path
    peak = [0, 0]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        c0, t0 = child_cpu(), time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, text=True, env=env, cwd="/")

        def sample() -> None:
            while proc.poll() is None:
                rss, pss = _tree_kb(proc.pid)
                peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
                time.sleep(0.02)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        code_ = proc.wait()
        wall, cpu = time.perf_counter() - t0, child_cpu() - c0
        th.join()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if code_ != 0:
        raise SystemExit(f"explain failed ({code_}): {stderr[-2000:]}")
    hwm_kb = int([ln for ln in stderr.splitlines() if ln.startswith("HWM ")][-1].split()[1])
    import hashlib

    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_kb": hwm_kb, "out_bytes": len(stdout),
            "sum_rss_kb": peak[0], "sum_pss_kb": peak[1], "sha": hashlib.sha256(stdout.encode()).hexdigest()}


def _row(r: dict[str, float], n: int) -> dict[str, float]:
    return {"wall_s": round(r["wall_s"], 2), "cpu_s": round(r["cpu_s"], 2),
            "lines_per_wall_s": round(n / r["wall_s"]), "lines_per_cpu_s": round(n / r["cpu_s"]),
            "peak_rss_bytes_per_line": round(r["peak_rss_kb"] * 1024 / n),
            "peak_sum_rss_bytes_per_line": round(r["sum_rss_kb"] * 1024 / n),
            "peak_sum_pss_bytes_per_line": round(r["sum_pss_kb"] * 1024 / n)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--formats", default="json,text,markdown")
    ap.add_argument("--jobs", default="1,auto", help="--jobs values to run, comma-separated")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each (best wall and best CPU kept)")
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
    jobs_list = args.jobs.split(",")
    configs = [(j, None) for j in jobs_list] + ([("baseline", args.baseline)] if args.baseline else [])
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for _ in range(args.repeat):  # alternating: every configuration once per round
        for fmt in args.formats.split(","):
            for name, code in configs:
                got = explain(big, fmt, code, None if code else name)
                runs.setdefault((fmt, name), []).append(got)

    def best_of(rs: list[dict[str, Any]]) -> dict[str, Any]:
        b = dict(min(rs, key=lambda r: r["wall_s"]))
        b["cpu_s"] = min(r["cpu_s"] for r in rs)
        b["wall_spread_s"] = max(r["wall_s"] for r in rs) - b["wall_s"]
        return b

    shas: dict[str, set[Any]] = {}
    for fmt in args.formats.split(","):
        base = best_of(runs[(fmt, "baseline")]) if args.baseline else None
        if base is not None:
            report[f"{fmt}_baseline"] = _row(base, n)
        for jobs in jobs_list:
            r = best_of(runs[(fmt, jobs)])
            row: dict[str, Any] = dict(_row(r, n))
            row["output_bytes"] = int(r["out_bytes"])
            row["wall_spread_s"] = round(r["wall_spread_s"], 2)
            row["ratio_cpu_to_regex_scan"] = round(r["cpu_s"] / t_scan, 1)
            if base is not None:
                row["speedup_wall"] = round(base["wall_s"] / r["wall_s"], 2)
                row["speedup_cpu"] = round(base["cpu_s"] / r["cpu_s"], 2)
            report[f"{fmt}_jobs_{jobs}"] = row
        shas[fmt] = {x["sha"] for (f, _), rs in runs.items() if f == fmt for x in rs}
    report["same_output"] = {fmt: len(v) == 1 for fmt, v in shas.items()}  # every run (and the baseline) alike
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
