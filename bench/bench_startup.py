"""Start-up benchmark (issue 18): ``python bench/bench_startup.py [--baseline DIR] [--repeat N]``.

``ovntrace explain`` of a real 445-line OVN trace (text to a pipe, no database), wall and CPU time including
interpreter start, alternating in one run: ``python -c pass`` (the floor), this tree, and with ``--baseline
DIR`` (a directory holding another ``ovntrace/``, e.g. ``git archive 1089dae ovntrace | tar -x -C DIR``) the
baseline code. Reports best and median of each, the load average, whether the outputs (text, JSON, Markdown)
are identical, which ``ovntrace`` modules the command imported, and an in-process breakdown (imports, the
first explain, the cold release inference inside it, a second warm explain).

How the child runs, as a user's ``ovntrace`` does:

* the code of pip's console script (``from ovntrace.cli import main; sys.exit(main())``), not ``-m`` (runpy);
* the tree or the baseline first on ``PYTHONPATH``; run this with a venv's python where ovntrace is NOT
  installed editable (an editable install's finder is imported at every interpreter start, ~25 ms), e.g.
  ``python3 -m venv /tmp/v && /tmp/v/bin/pip install lark rich textual ovsdbapp paramiko shtab`` then
  ``/tmp/v/bin/python bench/bench_startup.py --baseline DIR``; a warning says when the finder is there;
* bytecode compiled first for both trees (``compileall``), and no ``PYTHON*`` variable of this shell passed on
  (``PYTHONDONTWRITEBYTECODE`` would make every run compile the sources, ``PYTHONUNBUFFERED`` a write per line).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import statistics
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRACE = ROOT / "fixtures" / "ovn-24.03.9" / "trace2.txt"
ARGS = ["explain", str(TRACE), "--color", "never"]
#: what pip's generated ``ovntrace`` script runs (its argv[0] fix-up included)
ENTRY = ("import re, sys\nfrom ovntrace.cli import main\n"
         "sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\nsys.exit(main())")
#: the in-process breakdown, run in a fresh child (times in ms)
PROBE = """
import io, sys, time
T = time.perf_counter
t0 = T()
from ovntrace import cli
t1 = T()
before = set(sys.modules)
cold = {}
try:  # the first trace's release inference (cold: nothing cached yet), when this tree has it
    from ovntrace.ovn import infer
    real = infer.infer_releases
    def timed(*a, **k):
        s = T()
        try:
            return real(*a, **k)
        finally:
            cold.setdefault("ms", (T() - s) * 1000)
    infer.infer_releases = timed
except Exception:
    pass
t2 = T()
out = io.StringIO()
code = cli.run(sys.argv[1:], io.StringIO(), out, io.StringIO())
t3 = T()
cli.run(sys.argv[1:], io.StringIO(), io.StringIO(), io.StringIO())
t4 = T()
import json
print(json.dumps({"import_cli_ms": (t1 - t0) * 1000, "first_explain_ms": (t3 - t2) * 1000,
                  "cold_infer_releases_ms": cold.get("ms"), "second_explain_ms": (t4 - t3) * 1000,
                  "modules_imported_by_first_explain": len(set(sys.modules) - before), "status": code}))
"""


def _env(code: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(code)
    return env


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def once(argv: list[str], code: Path, cpu: list[float]) -> float:
    """Wall seconds of one run (stdout to a pipe); its CPU seconds (user+sys) are appended to ``cpu``."""
    c0, t0 = _child_cpu(), time.perf_counter()
    subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True, env=_env(code), cwd="/")
    cpu.append(_child_cpu() - c0)
    return time.perf_counter() - t0


def output(code: Path, fmt: str) -> bytes:
    return subprocess.run([sys.executable, "-c", ENTRY, *ARGS, "--format", fmt], capture_output=True,
                          check=True, env=_env(code), cwd="/").stdout


def imported(code: Path) -> list[str]:
    probe = ("import io, sys\nfrom ovntrace.cli import run\n"
             "run(sys.argv[1:], io.StringIO(), io.StringIO(), io.StringIO())\n"
             "print(' '.join(sorted(m for m in sys.modules if m.startswith('ovntrace'))))")
    out = subprocess.run([sys.executable, "-c", probe, *ARGS], capture_output=True, text=True, check=True,
                         env=_env(code), cwd="/")
    return out.stdout.split()


def phases(code: Path, rounds: int) -> dict[str, float | int | None]:
    """The in-process breakdown, best of ``rounds`` fresh children (each number's own best)."""
    runs = [json.loads(subprocess.run([sys.executable, "-c", PROBE, *ARGS], capture_output=True, text=True,
                                      check=True, env=_env(code), cwd="/").stdout) for _ in range(rounds)]
    best: dict[str, float | int | None] = {}
    for key in runs[0]:
        values = [r[key] for r in runs if r[key] is not None]
        best[key] = (round(min(values), 1) if isinstance(values[0], float) else values[0]) if values else None
    return best


def instructions(code: Path) -> int | None:
    """Instructions executed by one run (valgrind's callgrind; deterministic, whatever the load), or None."""
    import re
    import shutil
    import tempfile

    if shutil.which("valgrind") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        err = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out", sys.executable,
                              "-c", ENTRY, *ARGS], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             check=True, env=_env(code), cwd="/").stderr
    m = re.search(r"refs:\s+([\d,]+)", err)
    return int(m.group(1).replace(",", "")) if m else None


def editable_finder() -> bool:
    """True when this interpreter imports an editable install's finder for ovntrace at start-up."""
    site = Path(sysconfig.get_paths()["purelib"])
    return any("ovntrace" in p.name for p in site.glob("__editable__*"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", type=Path, metavar="DIR")
    ap.add_argument("--repeat", type=int, default=9, help="alternating rounds (default 9)")
    ap.add_argument("--phases", type=int, default=3, metavar="N", help="children for the in-process breakdown")
    ap.add_argument("--instructions", action="store_true",
                    help="also count each tree's instructions under valgrind (one run each, ~15 s)")
    args = ap.parse_args()
    trees = {"explain": ROOT} | ({"explain_baseline": args.baseline.resolve()} if args.baseline else {})
    for tree in trees.values():
        compileall.compile_dir(str(tree / "ovntrace"), quiet=1)
    if editable_finder():
        print("warning: ovntrace is installed editable in this interpreter's environment: its finder costs "
              "every start-up; use a venv without it", file=sys.stderr)
    load_before = os.getloadavg()
    wall: dict[str, list[float]] = {"python_pass": [], **{k: [] for k in trees}}
    cpu: dict[str, list[float]] = {k: [] for k in wall}
    for _ in range(args.repeat):
        wall["python_pass"].append(once([sys.executable, "-c", "pass"], ROOT, cpu["python_pass"]))
        for name, tree in trees.items():
            wall[name].append(once([sys.executable, "-c", ENTRY, *ARGS], tree, cpu[name]))

    def ms(values: list[float], f: Callable[[list[float]], float]) -> float:
        return round(f(values) * 1000, 1)

    report: dict[str, object] = {
        "trace_lines": TRACE.read_text(encoding="utf-8").count("\n"), "rounds": args.repeat,
        "load_average_before_after": [round(x, 2) for x in (*load_before, *os.getloadavg())],
        "editable_finder": editable_finder(),
        "wall_ms": {k: {"best": ms(v, min), "median": ms(v, statistics.median)} for k, v in wall.items()},
        "cpu_ms": {k: {"best": ms(v, min), "median": ms(v, statistics.median)} for k, v in cpu.items()},
    }
    best = {k: min(v) for k, v in wall.items()}
    if args.baseline:
        report["wall_speedup_best"] = round(best["explain_baseline"] / best["explain"], 2)
        report["wall_speedup_median"] = round(statistics.median(wall["explain_baseline"])
                                              / statistics.median(wall["explain"]), 2)
        report["cpu_speedup_best"] = round(min(cpu["explain_baseline"]) / min(cpu["explain"]), 2)
        report["same_output"] = {fmt: output(ROOT, fmt) == output(args.baseline, fmt)
                                 for fmt in ("text", "json", "markdown")}
    if args.instructions:
        report["instructions"] = {k: instructions(tree) for k, tree in trees.items()}
    report["phases_ms"] = {k: phases(tree, args.phases) for k, tree in trees.items()}
    mods = imported(ROOT)
    report["ovntrace_modules"] = len(mods)
    if args.baseline:
        base = imported(args.baseline)
        report["ovntrace_modules_baseline"] = len(base)
        report["no_longer_imported"] = sorted(set(base) - set(mods))
        report["newly_imported"] = sorted(set(mods) - set(base))
    report["modules"] = mods
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
