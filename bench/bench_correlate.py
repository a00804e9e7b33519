"""Correlation benchmarks.

``python bench/bench_correlate.py --annotate [--lines N] [--baseline DIR] [--runs K] [--context]``:
correlation alone, in process. Each run is a fresh interpreter that parses ``N`` lines of real traces
(:func:`bench_parse.big_input`) once, then times only ``Correlator(...).annotate(t)`` for every trace
(CPU and wall; the first loop, with the process's caches cold, as ``explain`` runs it, and a second
loop); with ``--baseline DIR`` (a directory holding another ``ovntrace/``, e.g. ``git archive main
ovntrace | tar -x -C DIR``) the baseline runs alternate with these, and the annotations' ``repr`` digest
of both must be equal (same meaning, byte for byte). ``--distinct``: the input is every trace fixture
once instead (nothing repeats). ``--context``: with the lab's NB/SB dumps (fixtures/context) as cluster
facts. ``--profile``: cProfile of this tree's first loop (its CPU figures then include the profiler).

``python bench/bench_correlate.py --startup [--baseline DIR] [--runs K]``: what correlation adds to the start-up
of ``explain`` of a ~450-line trace: importing it and annotating that trace with cold caches, in fresh
interpreters (CPU), and which model/ovn/correlate modules it imports.

``python bench/bench_correlate.py --dir D``: correlation on a big SB (below).

``D`` is the output of ``bench/bigsb/build.py --dir D`` (build.json, trace.txt, ovnsb_db.db,
ovnnb_db.db; the lab still running in ``D/lab`` for the live runs). In one run, side by side:

(a) the baseline: OVN's ``ovn-detrace --ovnsb=tcp:… --ovnnb=tcp:… < trace.txt`` against the live big
    SB/NB: wall time, output lines, annotation lines per OpenFlow table step;
(b) ``ovntrace explain trace.txt --sb SRC --nb SRC`` with SRC the live remotes (tcp) and the db files:
    wall time (best of ``--repeat``, interpreter start included), output lines, lines per table step,
    table steps with a logical flow (``--format json``), live and file JSON identical or not, and the
    ratio to (a). Target (issue 4): ≥ 20× faster than ovn-detrace, at most one annotation per step.

(b) is skipped, saying why, when ``ovntrace explain --help`` has no ``--sb``; a run that fails is
reported with its error, not hidden. Results also go to ``D/bench-correlate.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DETRACE = "/usr/bin/ovn-detrace"
TARGET_RATIO = 20.0
TABLE_LINE = re.compile(r"^\s*\d+\.\s")


def ovntrace_argv() -> list[str]:
    venv = ROOT / ".venv" / "bin" / "ovntrace"
    if venv.exists():
        return [str(venv)]
    found = shutil.which("ovntrace")
    return [found] if found else [sys.executable, "-m", "ovntrace.cli"]


def timed(
    argv: list[str], stdin: str | None = None, timeout: float = 1200.0
) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    res = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
    return time.perf_counter() - t0, res


def reachable(remote: str) -> bool:
    """A ``tcp:IP:PORT`` remote accepts connections (the lab is up)."""
    if not remote.startswith("tcp:"):
        return True
    host, _, port = remote[4:].rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


def table_steps(trace: str) -> int:
    return sum(1 for line in trace.splitlines() if TABLE_LINE.match(line))


def bench_detrace(trace: str, sb: str, nb: str, repeat: int) -> dict[str, Any]:
    if not Path(DETRACE).exists():
        return {"skipped": f"{DETRACE} not found (Debian ovn-central/ovn-host, python3-openvswitch)"}
    times: list[float] = []
    res: subprocess.CompletedProcess[str] | None = None
    for _ in range(repeat):
        dt, res = timed([DETRACE, f"--ovnsb={sb}", f"--ovnnb={nb}"], stdin=trace)
        if res.returncode != 0:
            return {"error": f"exit {res.returncode}: {(res.stderr or res.stdout).strip()[:300]}"}
        times.append(dt)
    assert res is not None
    # the same on an empty input: connecting and the full SB/NB sync (register_all), no cookie looked up
    sync_only, _ = timed([DETRACE, f"--ovnsb={sb}", f"--ovnnb={nb}"], stdin="")
    out_lines = res.stdout.count("\n")
    annotations = sum(1 for line in res.stdout.splitlines() if line.startswith("  "))
    steps = table_steps(trace)
    return {
        "command": f"{DETRACE} --ovnsb={sb} --ovnnb={nb} < trace.txt",
        "seconds": min(times),
        "all_seconds": [round(t, 3) for t in times],
        "sync_only_seconds": round(sync_only, 3),
        "output_lines": out_lines,
        "annotation_lines": annotations,
        "table_steps": steps,
        "annotation_lines_per_step": round(annotations / steps, 1) if steps else None,
    }


def explain_has_sources(cmd: list[str]) -> bool:
    res = subprocess.run([*cmd, "explain", "--help"], capture_output=True, text=True, timeout=60, check=False)
    return "--sb" in res.stdout


def lflow_steps(doc: dict[str, Any]) -> tuple[int, int]:
    """(table steps, table steps whose ``ovn.lflow`` is set) in an ``ovntrace.explain/1`` document."""
    total = with_lflow = 0

    def walk(steps: list[dict[str, Any]]) -> None:
        nonlocal total, with_lflow
        for s in steps:
            if s.get("kind") == "table":
                total += 1
                if (s.get("ovn") or {}).get("lflow"):
                    with_lflow += 1
            walk(s.get("children") or [])

    for t in doc.get("traces", []):
        for p in t.get("passes", []):
            walk(p.get("steps", []))
    return total, with_lflow


def plain_lines(cmd: list[str], trace_file: Path) -> int | None:
    """Output lines of ``ovntrace explain --no-ovn`` (no correlation): the base the annotations add to."""
    res = subprocess.run(
        [*cmd, "explain", str(trace_file), "--no-ovn", "--color", "never"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return res.stdout.count("\n") if res.returncode == 0 else None


def bench_explain(
    cmd: list[str], trace_file: Path, sb: str, nb: str, repeat: int, steps: int, base_lines: int | None
) -> dict[str, Any]:
    base = [*cmd, "explain", str(trace_file), "--sb", sb, "--nb", nb, "--color", "never"]
    times: list[float] = []
    res: subprocess.CompletedProcess[str] | None = None
    for _ in range(repeat):
        dt, res = timed(base)
        if res.returncode != 0:
            return {"command": " ".join(base), "error": f"exit {res.returncode}: {res.stderr.strip()[:300]}"}
        times.append(dt)
    assert res is not None
    out_lines = res.stdout.count("\n")
    dt_json, rj = timed([*base, "--format", "json"])
    info: dict[str, Any] = {
        "command": " ".join(base),
        "seconds": min(times),
        "all_seconds": [round(t, 3) for t in times],
        "output_lines": out_lines,
        "output_lines_per_step": round(out_lines / steps, 2) if steps else None,
        "no_ovn_output_lines": base_lines,
        "added_lines_per_step": round((out_lines - base_lines) / steps, 2) if steps and base_lines else None,
        "json_seconds": round(dt_json, 3),
    }
    if rj.returncode == 0:
        doc = json.loads(rj.stdout)
        total, with_lflow = lflow_steps(doc)
        info["json_table_steps"] = total
        info["json_steps_with_lflow"] = with_lflow
        info["_json"] = doc
    else:
        info["json_error"] = f"exit {rj.returncode}: {rj.stderr.strip()[:300]}"
    return info


ANNOTATE_CHILD = r"""
import cProfile, hashlib, json, pstats, sys, time
sys.setrecursionlimit(10000)
path, ctx_dir, profile = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
from ovntrace.parser import parse
res = parse(open(path, encoding="utf-8").read())
ctx = None
if ctx_dir:
    from ovntrace.sources import load_cluster
    ctx = load_cluster((ctx_dir + "/lab-nb-dump.json",), (ctx_dir + "/lab-sb-dump.json",), [], (), None, None)
from ovntrace.correlate import Correlator
def loop():
    c = Correlator(ctx, None, None)
    return [c.annotate(t) for t in res.traces]
out = {}
prof = cProfile.Profile() if profile else None
for name in ("first", "second"):
    c0, w0 = time.process_time(), time.perf_counter()
    ovn = prof.runcall(loop) if prof is not None and name == "first" else loop()
    out[name + "_cpu_s"], out[name + "_wall_s"] = time.process_time() - c0, time.perf_counter() - w0
out["digest"] = hashlib.sha256(repr(ovn).encode()).hexdigest()
out["traces"], out["annotated"] = len(res.traces), sum(o is not None for o in ovn)
if prof is not None:  # the first loop (cold caches), as explain runs it
    pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(40)
    pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
print(json.dumps(out))
"""


STARTUP_CHILD = r"""
import json, sys, time
from ovntrace.parser import parse
import ovntrace.render.json_v2  # what explain has imported before correlating (parse, render)
res = parse(open(sys.argv[1], encoding="utf-8").read())
c0 = time.process_time()
from ovntrace.correlate import Correlator
c = Correlator(None, None, None)
c1 = time.process_time()
ovn = [c.annotate(t) for t in res.traces]
c2 = time.process_time()
mods = sorted(m for m in sys.modules if m.startswith(("ovntrace.correlate", "ovntrace.ovn", "ovntrace.model")))
print(json.dumps({"import_cpu_s": c1 - c0, "first_trace_cpu_s": c2 - c1, "modules": mods}))
"""


def bench_startup(baseline: Path | None, runs: int) -> int:
    """What correlation adds to ``explain`` of a ~450-line trace in a fresh interpreter: importing it (after
    the parser and renderer, which explain imports anyway) and annotating the trace with cold caches."""
    trace = ROOT / "fixtures" / "ovn-24.03.9" / "trace2.txt"
    trees = {"this": ROOT} | ({"baseline": baseline.absolute()} if baseline else {})
    results: dict[str, list[dict[str, Any]]] = {k: [] for k in trees}
    for _ in range(runs):
        for name, code in trees.items():
            env = {"PYTHONPATH": str(code), "PATH": "/usr/bin:/bin"}
            res = subprocess.run([sys.executable, "-c", STARTUP_CHILD, str(trace)], capture_output=True, text=True,
                                 check=True, env=env, cwd="/")
            results[name].append(json.loads(res.stdout))
    print(f"start-up: {trace.relative_to(ROOT)} ({trace.read_text().count(chr(10))} lines), {runs} fresh interpreters "
          "each, alternating (CPU ms; compile the trees first: python -m compileall -q DIR/ovntrace)")
    for name, rs in results.items():
        for key in ("import_cpu_s", "first_trace_cpu_s"):
            vals = sorted(r[key] * 1000 for r in rs)
            print(f"  {name:8} {key:18} best {vals[0]:6.1f}  median {vals[len(vals) // 2]:6.1f}")
        print(f"  {name:8} modules: {len(rs[0]['modules'])} ({', '.join(rs[0]['modules'])})")
    return 0


def _annotate_child(code: Path, path: Path, ctx_dir: str, profile: bool) -> dict[str, Any]:
    env = {"PYTHONPATH": str(code), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    res = subprocess.run([sys.executable, "-c", ANNOTATE_CHILD, str(path), ctx_dir, "1" if profile else "0"],
                         capture_output=True, text=True, check=False, env=env, cwd="/")
    if res.returncode != 0:
        raise SystemExit(f"annotate child ({code}) failed: {res.stderr.strip()[-2000:]}")
    if profile:
        sys.stderr.write(res.stderr)
    return json.loads(res.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def bench_annotate(lines: int, baseline: Path | None, runs: int, context: bool, profile: bool,
                   distinct: bool = False) -> int:
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_parse import big_input

    if distinct:  # every real trace fixture once: no trace repeats (what a cache could only gain from repeats)
        files = sorted(p for p in (ROOT / "fixtures").rglob("*.txt")
                       if not any(k in p.name for k in ("show", "list", "dpif", "ofctl")))
        text = "\n".join(p.read_text(encoding="utf-8").rstrip("\n") + "\n" for p in files)
    else:
        text = big_input(lines)
    n = text.count("\n") + 1
    tmp = ROOT / "bench" / "results"
    tmp.mkdir(exist_ok=True)
    path = tmp / "correlate-input.txt"
    path.write_text(text, encoding="utf-8")
    ctx_dir = str(ROOT / "fixtures" / "context") if context else ""
    trees = {"this": ROOT} | ({"baseline": baseline.absolute()} if baseline else {})
    results: dict[str, list[dict[str, Any]]] = {k: [] for k in trees}
    try:
        for i in range(runs):
            for name, code in trees.items():
                results[name].append(_annotate_child(code, path, ctx_dir, profile and name == "this" and i == 0))
    finally:
        path.unlink()
    print(f"input: {n} lines, {results['this'][0]['traces']} traces "
          f"({results['this'][0]['annotated']} with OVN meaning); context: {'lab dumps' if context else 'none'}; "
          f"{runs} runs each, alternating")
    for name, rs in results.items():
        for key in ("first_cpu_s", "first_wall_s", "second_cpu_s"):
            vals = sorted(r[key] for r in rs)
            print(f"  {name:8} {key:13} best {vals[0]:.3f}  median {vals[len(vals) // 2]:.3f}  "
                  f"worst {vals[-1]:.3f}")
    digests = {r["digest"] for rs in results.values() for r in rs}
    if baseline:
        b = min(r["first_cpu_s"] for r in results["baseline"])
        t = min(r["first_cpu_s"] for r in results["this"])
        print(f"  speed-up (best first-loop CPU): {b / t:.2f}x")
    print(f"  annotations identical across every run{' and the baseline' if baseline else ''}: "
          f"{'yes' if len(digests) == 1 else 'NO'}")
    return 0 if len(digests) == 1 else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--annotate", action="store_true", help="correlation alone, in process (see the module doc)")
    ap.add_argument("--lines", type=int, default=100_000, help="--annotate: input lines")
    ap.add_argument("--baseline", type=Path, metavar="DIR", help="--annotate: a directory with another ovntrace/")
    ap.add_argument("--runs", type=int, default=3, help="--annotate: runs of each tree (alternating)")
    ap.add_argument("--context", action="store_true", help="--annotate: with the lab NB/SB dumps as facts")
    ap.add_argument("--distinct", action="store_true",
                    help="--annotate: the input is every trace fixture once (no repeats) instead of --lines")
    ap.add_argument("--profile", action="store_true", help="--annotate: cProfile of this tree's loop (stderr)")
    ap.add_argument("--startup", action="store_true",
                    help="what correlation adds to explain's start-up: its imports and a first trace (see --baseline)")
    ap.add_argument("--dir", type=Path, help="the dir of bench/bigsb/build.py")
    ap.add_argument("--repeat", type=int, default=3, help="ovntrace runs per source (best is kept)")
    ap.add_argument("--detrace-repeat", type=int, default=1, help="ovn-detrace runs (best is kept)")
    ap.add_argument("--skip-detrace", action="store_true")
    args = ap.parse_args(argv)
    if args.startup:
        return bench_startup(args.baseline, args.runs)
    if args.annotate:
        return bench_annotate(args.lines, args.baseline, args.runs, args.context, args.profile, args.distinct)
    if args.dir is None:
        ap.error("--dir is required (or --annotate)")
    d: Path = args.dir.absolute()
    build = json.loads((d / "build.json").read_text())
    trace_file = d / build["trace"]["file"]
    trace = trace_file.read_text()
    sb_live, nb_live = build["remotes"]["sb"], build["remotes"]["nb"]
    live_up = reachable(sb_live) and reachable(nb_live)
    steps = table_steps(trace)
    c = build["counts"]
    print(
        f"big SB: {c['logical_flows']} logical flows, {c['datapaths']} datapaths, {c['port_bindings']} port "
        f"bindings ({build['switches']} switches x {build['ports_per_switch']} ports); trace {trace.count(chr(10))} "
        f"lines, {steps} table steps"
    )
    results: dict[str, Any] = {"build": {k: build[k] for k in ("counts", "switches", "ports_per_switch")}}
    results["trace_lines"], results["table_steps"] = trace.count("\n"), steps

    # (a) ovn-detrace, live only (it reads OVSDB remotes, not files)
    if args.skip_detrace:
        det: dict[str, Any] = {"skipped": "--skip-detrace"}
    elif not live_up:
        det = {"skipped": f"lab not running ({sb_live} unreachable): ovn-detrace needs the live SB/NB"}
    else:
        det = bench_detrace(trace, sb_live, nb_live, args.detrace_repeat)
    results["detrace"] = det
    if "seconds" in det:
        print(
            f"(a) ovn-detrace:            {det['seconds']:8.2f} s  {det['output_lines']:6d} lines "
            f"({det['annotation_lines_per_step']} annotation lines per table step; "
            f"{det['sync_only_seconds']:.2f} s of it is connect + full DB sync, measured on an empty input)"
        )
    else:
        print(f"(a) ovn-detrace: {det.get('skipped') or det.get('error')}")

    # (b) ovntrace explain --sb/--nb, live and from the files
    cmd = ovntrace_argv()
    if not explain_has_sources(cmd):
        msg = "`ovntrace explain --help` has no --sb: correlation not built yet, (b) skipped"
        print(f"(b) {msg}")
        results["ovntrace"] = {"skipped": msg}
    else:
        runs: dict[str, Any] = {}
        sources = {"file": (str(d / build["db_files"]["sb"]), str(d / build["db_files"]["nb"]))}
        if live_up:
            sources = {"live": (sb_live, nb_live), **sources}
        else:
            runs["live"] = {"skipped": f"lab not running ({sb_live} unreachable)"}
        base_lines = plain_lines(cmd, trace_file)
        for name, (sb, nb) in sources.items():
            r = bench_explain(cmd, trace_file, sb, nb, args.repeat, steps, base_lines)
            runs[name] = r
            if "seconds" in r:
                ratio = det["seconds"] / r["seconds"] if "seconds" in det else None
                r["speedup_vs_detrace"] = round(ratio, 1) if ratio else None
                verdict = ""
                if ratio is not None:
                    meets = "meets" if ratio >= TARGET_RATIO else "BELOW"
                    verdict = f"  {ratio:6.1f}x faster ({meets} the {TARGET_RATIO:.0f}x target)"
                lf = f", {r.get('json_steps_with_lflow', '?')}/{r.get('json_table_steps', '?')} steps with an lflow"
                print(
                    f"(b) ovntrace explain {name:<5}: {r['seconds']:8.2f} s  {r['output_lines']:6d} lines "
                    f"({r['output_lines_per_step']} per table step, {r['added_lines_per_step']} more than --no-ovn"
                    f"{lf}){verdict}"
                )
            else:
                print(f"(b) ovntrace explain {name}: {r.get('skipped') or r.get('error')}")
        docs = [runs[k].pop("_json", None) for k in ("live", "file") if k in runs]
        if len(docs) == 2 and all(docs):
            same = docs[0] == docs[1]
            runs["live_file_json_identical"] = same
            print(f"live and file JSON identical: {'yes' if same else 'NO'}")
        results["ovntrace"] = runs
    (d / "bench-correlate.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"results: {d / 'bench-correlate.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
