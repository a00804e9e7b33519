"""A big Southbound from db files (issue 18): ``python bench/bench_sbfiles.py --dir D [--baseline B] [--detrace]``.

``D`` is the output of ``bench/bigsb/build.py --dir D`` (trace.txt, ovnsb_db.db, ovnnb_db.db). In one run,
alternately (``--repeat`` rounds, best kept), each a subprocess with its CPU seconds (user+sys; the machine is
shared, CPU is the steadier number), wall seconds and peak RSS (VmHWM):

* ``decode``: the floor the issue names: read both db files and ``json.loads`` every record, nothing else
  (``decode_gc_off``: the same with the cyclic GC disabled, as ovntrace reads: the harder floor);
* ``explain``: ``ovntrace explain D/trace.txt --sb D/ovnsb_db.db --nb D/ovnnb_db.db -f json`` (this tree);
* ``baseline``: the same with the code in ``B`` (a dir holding another ``ovntrace/``, e.g. ``git archive
  COMMIT ovntrace | tar -x -C B``), and whether its JSON is byte-identical;
* with ``--detrace``: OVN's ``ovn-detrace`` on the same files: an ``ovsdb-server`` (started here, on copies of
  the two files, unix sockets in a temporary dir under ``--work-dir`` (default: the system's temporary
  dir; ``D`` is only read), stopped by its pid) and
  ``ovn-detrace --ovnsb=unix:...``; wall seconds, once (it takes tens of seconds);
* with ``--live``: ``ovntrace explain --sb unix:... --nb unix:...`` against that same server (best of
  ``--repeat``, the baseline's too), and whether its JSON is the files' JSON.

In process (one run each, after the above): the CPU of decoding every record of both files, and of
``load_cluster`` of both for the trace's cookies (this tree and the baseline): the file part alone, without
interpreter start, parse or rendering.

Both trees are byte-compiled first (``--no-compile``: not): a user's installed ovntrace has its bytecode, as
ovn-detrace's modules have theirs, while a child started with ``PYTHONDONTWRITEBYTECODE`` set compiles every
module it imports, each run.

Printed as JSON; ratios: explain / decode (below 1: faster than decoding the files), baseline / explain,
detrace / explain.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HWM = ("import atexit,sys;atexit.register(lambda: sys.stderr.write('HWM '+[l for l in open('/proc/self/status') "
       "if l.startswith('VmHWM')][0].split()[1]+'\\n'));")
DECODE = HWM + """
import json
for path in sys.argv[1:]:
    data = open(path, 'rb').read()
    pos = 0
    while pos < len(data):
        nl = data.index(b'\\n', pos)
        n = int(data[pos:nl].split()[2])
        json.loads(data[nl + 1:nl + 1 + n])
        pos = nl + 1 + n
"""
# the same two steps timed inside the process (no interpreter start, no trace work): decoding every record,
# and ovntrace's load of both files for the trace's cookies (parse first, untimed)
INPROC = """
import json, sys, time
from pathlib import Path
sys.setrecursionlimit(10000)
trace, sb, nb = sys.argv[1:4]
t = time.process_time()
for path in (sb, nb):
    data = open(path, 'rb').read()
    pos = 0
    while pos < len(data):
        nl = data.index(b'\\n', pos)
        n = int(data[pos:nl].split()[2])
        json.loads(data[nl + 1:nl + 1 + n])
        pos = nl + 1 + n
    del data
decode = time.process_time() - t
from ovntrace.parser import parse
from ovntrace.correlate.index import trace_needs
from ovntrace.sources import load_cluster
keys, cookies = trace_needs(parse(Path(trace).read_text()))
t = time.process_time()
load_cluster([nb], [sb], [], [], keys or None, cookies)
print(json.dumps({"decode_cpu_s": round(decode, 3), "load_cpu_s": round(time.process_time() - t, 3)}))
"""
DECODE_NOGC = DECODE.replace("import json\n", "import json, gc\ngc.disable()\n", 1)
EXPLAIN = HWM + ("sys.setrecursionlimit(10000);from ovntrace.cli import run;"
                 "sys.exit(run(sys.argv[1:],sys.stdin,sys.stdout,sys.stderr))")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def child(argv: list[str], code: Path | None = None) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(code or ROOT)}
    c0, t0 = _cpu(), time.perf_counter()
    res = subprocess.run(argv, capture_output=True, text=True, env=env, cwd="/", check=False)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    if res.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed: {res.stderr[-2000:]}")
    hwm = int([ln for ln in res.stderr.splitlines() if ln.startswith("HWM ")][-1].split()[1])
    return {"cpu_s": round(cpu, 3), "wall_s": round(wall, 3), "peak_rss_mb": round(hwm / 1024, 1), "out": res.stdout}


def best(runs: list[dict[str, object]]) -> dict[str, object]:
    top = min(runs, key=lambda r: float(r["cpu_s"]))  # type: ignore[arg-type]
    return {k: v for k, v in top.items() if k != "out"}


@contextlib.contextmanager
def served(d: Path, work: Path | None = None) -> Iterator[tuple[str, int]]:
    """A real ovsdb-server of our own serving copies of the two files of ``d`` (in a temporary dir under
    ``work``, unix socket), stopped by its pid at the end: yields its remote and pid."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-sbfiles-", dir=work))
    try:
        for name in ("ovnsb_db.db", "ovnnb_db.db"):
            shutil.copy(d / name, tmp / name)
        pidfile = tmp / "ovsdb-server.pid"
        subprocess.run(["ovsdb-server", "--detach", "--no-chdir", f"--pidfile={pidfile}",
                        f"--log-file={tmp / 'ovsdb-server.log'}", f"--remote=punix:{tmp / 'db.sock'}",
                        f"--unixctl={tmp / 'ctl'}", str(tmp / "ovnsb_db.db"), str(tmp / "ovnnb_db.db")],
                       check=True, capture_output=True)
        pid = int(pidfile.read_text().strip())
        try:
            yield f"unix:{tmp / 'db.sock'}", pid
        finally:
            os.kill(pid, 15)
            for _ in range(100):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def server_cpu(pid: int) -> float:
    """CPU seconds (user+sys) the server process has used so far."""
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


_SYNC_LIMIT = "stop = time.time() + 10"  # ovn-detrace's initial sync limit (OVN 23.03 utilities/ovn-detrace.in)


def detrace(d: Path, remote: str, sync_s: float | None = None, work: Path | None = None) -> dict[str, object]:
    """ovn-detrace on the db files, served by :func:`served`. ``sync_s``: a copy of the installed ovn-detrace
    with its 10 s limit on the initial sync raised to that (on busy cores the sync alone can take longer; the
    work is the same), run by the same interpreter."""
    argv = ["ovn-detrace"]
    tmp = None
    if sync_s is not None:
        text = Path(shutil.which("ovn-detrace") or "/usr/bin/ovn-detrace").read_text()
        if _SYNC_LIMIT not in text:
            raise SystemExit("ovn-detrace: its initial sync limit is not where expected; run without --detrace-sync")
        tmp = Path(tempfile.mkdtemp(prefix="bench-detrace-", dir=work))
        copy = tmp / "ovn-detrace"
        copy.write_text(text.replace(_SYNC_LIMIT, f"stop = time.time() + {sync_s:g}", 1))
        argv = [text.split("\n", 1)[0].removeprefix("#!").strip(), str(copy)]
    try:
        t0, c0 = time.perf_counter(), _cpu()
        res = subprocess.run([*argv, f"--ovnsb={remote}", f"--ovnnb={remote}"],
                             input=(d / "trace.txt").read_text(), capture_output=True, text=True, check=False,
                             timeout=1800)
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "exit": res.returncode, "sync_limit_s": sync_s or 10,
            "lines": res.stdout.count("\n"), "stderr": res.stderr[-300:]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True, type=Path)
    ap.add_argument("--baseline", type=Path, metavar="B")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--detrace", action="store_true", help="ovn-detrace against an ovsdb-server on the files")
    ap.add_argument("--live", action="store_true",
                    help="explain with --sb/--nb unix:SOCK of that ovsdb-server too (and the baseline's)")
    ap.add_argument("--work-dir", type=Path, help="where the served copies go (default: the temporary dir)")
    ap.add_argument("--live-repeat", type=int, help="live rounds (default: --repeat)")
    ap.add_argument("--detrace-sync", type=float, metavar="S",
                    help="run ovn-detrace with its 10 s initial-sync limit raised to S seconds (a patched copy)")
    ap.add_argument("--no-compile", action="store_true",
                    help="do not byte-compile the two trees first (then, with PYTHONDONTWRITEBYTECODE set, every "
                         "child compiles every module it imports: ~0.2 s of CPU an installed ovntrace never spends)")
    args = ap.parse_args()
    d: Path = args.dir
    if not args.no_compile:  # as pip installs it (and as ovn-detrace's modules are): bytecode compiled
        for tree in (ROOT, args.baseline) if args.baseline else (ROOT,):
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(tree) / "ovntrace")], check=True,
                           capture_output=True)
    sb, nb = d / "ovnsb_db.db", d / "ovnnb_db.db"
    cmd = [sys.executable, "-c", EXPLAIN, "explain", str(d / "trace.txt"), "--sb", str(sb), "--nb", str(nb),
           "-f", "json", "-q"]
    runs: dict[str, list[dict[str, object]]] = {"decode": [], "decode_gc_off": [], "explain": [], "baseline": []}
    for _ in range(args.repeat):
        runs["decode"].append(child([sys.executable, "-c", DECODE, str(sb), str(nb)]))
        runs["decode_gc_off"].append(child([sys.executable, "-c", DECODE_NOGC, str(sb), str(nb)]))
        runs["explain"].append(child(cmd))
        if args.baseline:
            runs["baseline"].append(child(cmd, args.baseline))
    inproc = []
    for code in (None, args.baseline) if args.baseline else (None,):
        env = {**os.environ, "PYTHONPATH": str(code or ROOT)}
        res = subprocess.run([sys.executable, "-c", INPROC, str(d / "trace.txt"), str(sb), str(nb)],
                             capture_output=True, text=True, env=env, cwd="/", check=True)
        inproc.append(json.loads(res.stdout.splitlines()[-1]))
    lflows = str(runs["explain"][0]["out"]).count('"lflow": {')
    report: dict[str, object] = {"dir": str(d), "bytecode_compiled": not args.no_compile,
                                 "sb_mb": round(sb.stat().st_size / 1e6, 1),
                                 "nb_mb": round(nb.stat().st_size / 1e6, 1), "steps_with_lflow": lflows}
    build = d / "build.json"
    if build.exists():
        report["build"] = {k: v for k, v in json.loads(build.read_text()).items() if "count" in k or k == "counts"}
    for k, v in runs.items():
        if v:
            report[k] = best(v)
    e = min(float(r["cpu_s"]) for r in runs["explain"])  # type: ignore[arg-type]
    dec = min(float(r["cpu_s"]) for r in runs["decode"])  # type: ignore[arg-type]
    report["explain_cpu_over_decode_cpu"] = round(e / dec, 3)
    dec_nogc = min(float(r["cpu_s"]) for r in runs["decode_gc_off"])  # type: ignore[arg-type]
    report["explain_cpu_over_decode_gc_off_cpu"] = round(e / dec_nogc, 3)
    report["in_process"] = {"decode_cpu_s": inproc[0]["decode_cpu_s"], "load_cpu_s": inproc[0]["load_cpu_s"],
                            "load_over_decode": round(inproc[0]["load_cpu_s"] / inproc[0]["decode_cpu_s"], 3)}
    if len(inproc) > 1:
        report["in_process"]["baseline_load_cpu_s"] = inproc[1]["load_cpu_s"]  # type: ignore[index]
    if args.baseline:
        b = min(float(r["cpu_s"]) for r in runs["baseline"])  # type: ignore[arg-type]
        report["speedup_cpu_vs_baseline"] = round(b / e, 2)
        report["json_identical_to_baseline"] = runs["baseline"][0]["out"] == runs["explain"][0]["out"]
    if args.detrace or args.live:
        ew = min(float(r["wall_s"]) for r in runs["explain"])  # type: ignore[arg-type]
        with served(d, args.work_dir) as (remote, pid):
            live: list[dict[str, object]] = []
            live_base: list[dict[str, object]] = []

            def timed(code: Path | None = None) -> dict[str, object]:
                c0 = server_cpu(pid)
                r = child(lcmd, code)
                r["server_cpu_s"] = round(server_cpu(pid) - c0, 3)
                return r

            if args.live:
                lcmd = [*cmd[:5], "--sb", remote, "--nb", remote, "-f", "json", "-q"]
                for _ in range(args.live_repeat or args.repeat):
                    live.append(timed())
                    if args.baseline:
                        live_base.append(timed(args.baseline))
                report["explain_live"] = best(live)
                report["live_json_identical_to_files"] = live[0]["out"] == runs["explain"][0]["out"]
                # every round (client CPU, server CPU, wall): the spread, not only the best
                report["explain_live_rounds"] = [[r["cpu_s"], r["server_cpu_s"], r["wall_s"]] for r in live]
                if live_base:
                    report["baseline_live"] = best(live_base)
                    report["baseline_live_rounds"] = [[r["cpu_s"], r["server_cpu_s"], r["wall_s"]] for r in live_base]
                    report["live_json_identical_to_baseline"] = live[0]["out"] == live_base[0]["out"]
            if args.detrace:
                c0 = server_cpu(pid)
                dt = detrace(d, remote, args.detrace_sync, args.work_dir)
                dt["server_cpu_s"] = round(server_cpu(pid) - c0, 3)
                report["ovn_detrace"] = dt
                report["detrace_wall_over_explain_files_wall"] = round(float(dt["wall_s"]) / ew, 1)  # type: ignore[arg-type]
                if live:
                    lw = min(float(r["wall_s"]) for r in live)  # type: ignore[arg-type]
                    report["detrace_wall_over_explain_live_wall"] = round(float(dt["wall_s"]) / lw, 1)  # type: ignore[arg-type]
                    # load-independent: client + server CPU of each (what the wall would be on idle cores)
                    lc = min(float(r["cpu_s"]) + float(r["server_cpu_s"]) for r in live)  # type: ignore[arg-type]
                    dc = float(dt["cpu_s"]) + float(dt["server_cpu_s"])  # type: ignore[arg-type]
                    report["detrace_cpu_over_explain_live_cpu"] = round(dc / lc, 1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
