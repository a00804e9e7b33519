"""End-to-end explain benchmark (issue 18): ``python bench/bench_explain.py [--lines N] [--json]``.

Input: ``N`` lines of real traces concatenated (:func:`bench_parse.big_input`). In one run, side by side:
* ``ovntrace explain FILE --format json|text|markdown`` as a subprocess (OVN meaning included, no
  database; the console script's code, bytecode compiled first, no ``PYTHON*`` variable of this shell),
  once per ``--jobs`` value (default ``1,auto``: one process, and the workers): wall and CPU seconds
  (``wait4``: user+sys of the child and of its workers, which it waits for; the machine is shared, CPU is
  the steadier number), lines/s of wall and of CPU; then, in one more run of each that is not timed (reading
  /proc every 20 ms stalls the process read), peak RSS (VmHWM of the main process) per input line and the
  peak of the RSS and of the PSS summed over the process and its workers (PSS counts a page shared by n
  processes 1/n in each: the honest sum after ``fork``);
* the baseline in the same run: a plain regex line scan of the same text, and ``python -c pass``;
  each explain is also given as a ratio to them.
* start-up: ``ovntrace explain`` of a ~400-line real trace (best of 5 wall) against ``python -c pass``
  (``bench/bench_startup.py`` is the start-up benchmark: alternating rounds, a baseline, a breakdown).
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


#: what pip's generated ``ovntrace`` console script runs (``main()``: its exit path included)
ENTRY = "import sys;sys.argv[0]='ovntrace';from ovntrace.cli import main;sys.exit(main())"


def _env(code: Path | None) -> dict[str, str]:
    """This environment without its ``PYTHON*`` variables (``PYTHONDONTWRITEBYTECODE`` would make every run
    compile the sources), the tree or the baseline on ``PYTHONPATH``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(code or ROOT)
    return env


def explain(path: Path, fmt: str, code: Path | None = None, jobs: str | None = None,
            sample: bool = False) -> dict[str, Any]:
    """One run of the CLI; ``code``: a directory holding another ``ovntrace`` package (the baseline).

    A timed run (``sample`` false) is the console script's code, timed by ``wait4`` (wall, CPU of the
    process and its workers, peak RSS of the biggest); nothing else runs meanwhile. A ``sample`` run (for
    memory only: reading ``smaps_rollup`` every 20 ms stalls the process being read) samples the RSS and PSS
    summed over the process and its workers, and the main process's VmHWM."""
    import tempfile
    import threading

    args = ["explain", str(path), "--format", fmt, "--color", "never", "-q"]
    if jobs is not None:
        args += ["--jobs", jobs]
    argv = [sys.executable, "-c", HWM if sample else ENTRY, *args]
    peak = [0, 0]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, text=True, env=_env(code), cwd="/")
        if sample:
            c0 = child_cpu()

            def sampler() -> None:
                while proc.poll() is None:
                    rss, pss = _tree_kb(proc.pid)
                    peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
                    time.sleep(0.02)

            th = threading.Thread(target=sampler, daemon=True)
            th.start()
            code_ = proc.wait()
            wall, cpu = time.perf_counter() - t0, child_cpu() - c0
            th.join()
            maxrss = 0
        else:
            _, status, ru = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
            proc.returncode = code_ = os.waitstatus_to_exitcode(status)
            cpu, maxrss = ru.ru_utime + ru.ru_stime, ru.ru_maxrss
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if code_ != 0:
        raise SystemExit(f"explain failed ({code_}): {stderr[-2000:]}")
    hwm_kb = int([ln for ln in stderr.splitlines() if ln.startswith("HWM ")][-1].split()[1]) if sample else maxrss
    import hashlib

    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_kb": hwm_kb, "out_bytes": len(stdout),
            "sum_rss_kb": peak[0], "sum_pss_kb": peak[1], "sha": hashlib.sha256(stdout.encode()).hexdigest()}


def _row(r: dict[str, float], mem: dict[str, float], n: int) -> dict[str, float]:
    """Times from the best timed run ``r``; memory from the sampled run ``mem``."""
    return {"wall_s": round(r["wall_s"], 2), "cpu_s": round(r["cpu_s"], 2),
            "lines_per_wall_s": round(n / r["wall_s"]), "lines_per_cpu_s": round(n / r["cpu_s"]),
            "peak_rss_bytes_per_line": round(mem["peak_rss_kb"] * 1024 / n),
            "peak_sum_rss_bytes_per_line": round(mem["sum_rss_kb"] * 1024 / n),
            "peak_sum_pss_bytes_per_line": round(mem["sum_pss_kb"] * 1024 / n)}


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
    import compileall

    for tree in (ROOT, args.baseline):  # bytecode for both (an installed ovntrace has it)
        if tree is not None:
            compileall.compile_dir(str(tree / "ovntrace"), quiet=1)
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
    mems = {(fmt, name): explain(big, fmt, code, None if code else name, sample=True)
            for fmt in args.formats.split(",") for name, code in configs}

    def best_of(rs: list[dict[str, Any]]) -> dict[str, Any]:
        b = dict(min(rs, key=lambda r: r["wall_s"]))
        b["cpu_s"] = min(r["cpu_s"] for r in rs)
        b["wall_spread_s"] = max(r["wall_s"] for r in rs) - b["wall_s"]
        return b

    shas: dict[str, set[Any]] = {}
    for fmt in args.formats.split(","):
        base = best_of(runs[(fmt, "baseline")]) if args.baseline else None
        if base is not None:
            report[f"{fmt}_baseline"] = _row(base, mems[(fmt, "baseline")], n)
        for jobs in jobs_list:
            r = best_of(runs[(fmt, jobs)])
            row: dict[str, Any] = dict(_row(r, mems[(fmt, jobs)], n))
            row["output_bytes"] = int(r["out_bytes"])
            row["wall_spread_s"] = round(r["wall_spread_s"], 2)
            row["ratio_cpu_to_regex_scan"] = round(r["cpu_s"] / t_scan, 1)
            if base is not None:
                row["speedup_wall"] = round(base["wall_s"] / r["wall_s"], 2)
                row["speedup_cpu"] = round(base["cpu_s"] / r["cpu_s"], 2)
            report[f"{fmt}_jobs_{jobs}"] = row
        shas[fmt] = {x["sha"] for (f, _), rs in runs.items() if f == fmt for x in rs}
        shas[fmt] |= {m["sha"] for (f, _), m in mems.items() if f == fmt}
    report["same_output"] = {fmt: len(v) == 1 for fmt, v in shas.items()}  # every run (and the baseline) alike
    m_lines = MEDIUM.read_text(encoding="utf-8").count("\n")
    cli = [sys.executable, "-c", ENTRY, "explain", str(MEDIUM), "--color", "never"]
    t_cli = best(lambda: subprocess.run(cli, capture_output=True, check=True, env=_env(None), cwd="/"), 5)
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
