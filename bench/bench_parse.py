"""Parser benchmark: ``python bench/bench_parse.py [--lines N]``.

Reports, side by side in one run (ratios against baselines measured in the same process):
* parse + register state of a large input made by concatenating real traces (fixtures), in lines/s,
  and its ratio to a plain regex line scan of the same text (the floor);
* peak memory per input line (a fresh subprocess: ru_maxrss after parsing minus after importing);
* parse of a real ~450-line OVN trace;
* ``ovntrace explain`` wall time of that trace including interpreter start (best of several runs),
  against ``python -c pass`` as the interpreter-start baseline.

``--memory``: peak RSS growth per input line of parse and of ``explain --format json`` at 50k, 100k and
200k lines (the per-line figure must stay flat: memory grows no faster than the input).

``--baseline DIR`` (a directory holding another ``ovntrace/``, e.g. ``git archive main ovntrace | tar -x
-C DIR``): parse CPU and wall seconds of the big input, this tree against DIR's, each in a fresh
interpreter (bench/_parse_child.py), alternating, ``--rounds`` times; best and spread of each; then
``import ovntrace.parser`` time (best of ``-X importtime`` runs) and peak RSS growth per line of both.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "fixtures"
SOURCES = [
    *sorted((FIX / "lab").glob("xnode-*.txt")),
    *sorted((FIX / "lab").glob("lb-*.txt")),
    FIX / "ovn-24.03.9" / "trace2.txt",
    FIX / "ovn-24.03.9" / "trace4.txt",
    FIX / "seed" / "kube-node2-pod-to-sshd2.txt",
    FIX / "ovs-3.5.0" / "t3.txt",
]
MEDIUM = FIX / "ovn-24.03.9" / "trace2.txt"


def big_input(n_lines: int, sources: list[Path] | None = None) -> str:
    """About ``n_lines`` of real traces: ``sources`` (default: a mix of every kind) repeated, one after another."""
    chunks: list[str] = []
    total = 0
    texts = [p.read_text(encoding="utf-8") for p in (sources or SOURCES)]
    i = 0
    while total < n_lines:
        t = texts[i % len(texts)]
        chunks.append(t if t.endswith("\n") else t + "\n")
        total += t.count("\n") + 1
        i += 1
    return "\n".join(chunks)


def best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def regex_scan(text: str) -> int:
    rx = re.compile(r"^\s*(\d{1,3})\. |^\s*(\S+)")
    n = 0
    for line in text.split("\n"):
        if rx.match(line):
            n += 1
    return n


def _rss_child(path: str) -> dict[str, float]:
    """Peak RSS (VmHWM: ru_maxrss would include the forking parent's) before and after parsing."""
    code = (
        "import sys,json;from ovntrace.parser import parse;from ovntrace.parser.loader import grammar;"
        "hwm=lambda:int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]);"
        "[grammar(g) for g in ('lines','actions','kv')];"
        "t=open(sys.argv[1]).read();r0=hwm();"
        "res=parse(t);r1=hwm();"
        "print(json.dumps({'before_kb':r0,'after_kb':r1,'lines':t.count(chr(10))+1}))"
    )
    out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def _rss_explain(path: str) -> dict[str, float]:
    """Peak RSS of ``ovntrace explain --format json`` (the real CLI entry, OVN correlation on, output
    to /dev/null) in a fresh interpreter: VmHWM after importing everything, and at the end."""
    code = (
        "import sys,json,os;from ovntrace import cli;from ovntrace.parser.loader import grammar;"
        "import ovntrace.correlate, ovntrace.render.json;"
        "hwm=lambda:int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]);"
        "[grammar(g) for g in ('lines','actions','kv')];sys.setrecursionlimit(10000);r0=hwm();"
        "out=open(os.devnull,'w');rc=cli.run(['explain','--format','json','-q',sys.argv[1]],sys.stdin,out,sys.stderr);"
        "r1=hwm();n=sum(1 for _ in open(sys.argv[1]));"
        "print(json.dumps({'before_kb':r0,'after_kb':r1,'lines':n,'rc':rc}))"
    )
    out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def memory_growth(sizes: list[int]) -> dict[str, object]:
    """Peak RSS growth per input line, parse and explain --format json, at several input sizes: the
    per-line figure must not grow with the size (memory no faster than the input)."""
    tmp = ROOT / "bench" / "results"
    tmp.mkdir(exist_ok=True)
    rows = []
    for n in sizes:
        path = tmp / f"big-{n}.txt"
        path.write_text(big_input(n), encoding="utf-8")
        parse_rss = _rss_child(str(path))
        explain = _rss_explain(str(path))
        rows.append({
            "lines": parse_rss["lines"],
            "mb": round(path.stat().st_size / 1e6, 1),
            "parse_bytes_per_line": round((parse_rss["after_kb"] - parse_rss["before_kb"]) * 1024 / parse_rss["lines"]),
            "explain_json_bytes_per_line":
                round((explain["after_kb"] - explain["before_kb"]) * 1024 / explain["lines"]),
            "explain_json_peak_mb": round(explain["after_kb"] / 1024),
        })
        path.unlink()
    return {"memory": rows}


def _child_parse(tree: Path, path: Path, repeat: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "_parse_child.py"), str(tree), str(path), str(repeat)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def _import_ms(tree: Path, module: str, runs: int) -> float:
    """Best cumulative ``-X importtime`` of ``module`` with ``tree`` first on the path (ms)."""
    best_us = float("inf")
    env = {**__import__("os").environ, "PYTHONPATH": str(tree)}
    for _ in range(runs):
        r = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], capture_output=True,
                           text=True, env=env, cwd="/")
        for line in r.stderr.splitlines():
            parts = [x.strip() for x in line.split(":", 1)[-1].split("|")]
            if len(parts) == 3 and parts[2] == module:
                best_us = min(best_us, int(parts[1]))
    return round(best_us / 1000, 1)


def _rss_tree(tree: Path, path: Path) -> dict[str, float]:
    code = (
        "import sys,json;sys.path.insert(0,sys.argv[2]);from ovntrace.parser import parse;"
        "hwm=lambda:int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]);"
        "t=open(sys.argv[1]).read();parse(t[:20000]);r0=hwm();"
        "res=parse(t);r1=hwm();"
        "print(json.dumps({'before_kb':r0,'after_kb':r1,'lines':t.count(chr(10))+1}))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path), str(tree)], capture_output=True, text=True,
                         check=True)
    d = json.loads(out.stdout)
    return {"bytes_per_line": round((d["after_kb"] - d["before_kb"]) * 1024 / d["lines"]),
            "peak_mb": d["after_kb"] // 1024}


def against_baseline(base: Path, n_lines: int, rounds: int) -> dict[str, object]:
    """This tree against ``base``, alternating fresh interpreters (CPU seconds are the steadier number on
    a shared machine; wall is reported too)."""
    tmp = ROOT / "bench" / "results"
    tmp.mkdir(exist_ok=True)
    path = tmp / "big-baseline.txt"
    text = big_input(n_lines)
    path.write_text(text, encoding="utf-8")
    lines = text.count("\n") + 1
    runs: dict[str, list[dict[str, float]]] = {"baseline": [], "after": []}
    for _ in range(rounds):
        for name, tree in (("baseline", base), ("after", ROOT)):
            runs[name].append(_child_parse(tree, path, 2))
    out: dict[str, object] = {"input_lines": lines, "rounds": rounds}
    for name, rs in runs.items():
        cpu = sorted(r["cpu"] for r in rs)
        wall = sorted(r["wall"] for r in rs)
        out[name] = {"cpu_s_best": round(cpu[0], 3), "cpu_s_worst": round(cpu[-1], 3),
                     "wall_s_best": round(wall[0], 3), "lines_per_cpu_s": round(lines / cpu[0])}
    b, a = runs["baseline"], runs["after"]
    out["speedup_cpu_best"] = round(min(r["cpu"] for r in b) / min(r["cpu"] for r in a), 2)
    out["import_parser_ms"] = {"baseline": _import_ms(base, "ovntrace.parser", 9),
                               "after": _import_ms(ROOT, "ovntrace.parser", 9)}
    out["parse_rss"] = {"baseline": _rss_tree(base, path), "after": _rss_tree(ROOT, path)}
    path.unlink()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--memory", action="store_true",
                    help="only the memory growth table: parse and explain --format json at 50k, 100k, 200k lines")
    ap.add_argument("--baseline", type=Path, metavar="DIR",
                    help="a directory holding the baseline's ovntrace/: parse CPU, import time and memory against it")
    ap.add_argument("--rounds", type=int, default=3, help="with --baseline: alternating runs of each")
    args = ap.parse_args()
    if args.baseline:
        print(json.dumps(against_baseline(args.baseline.resolve(), args.lines, args.rounds), indent=1))
        return
    if args.memory:
        sys.path.insert(0, str(ROOT))
        print(json.dumps(memory_growth([50_000, 100_000, 200_000]), indent=1))
        return
    sys.path.insert(0, str(ROOT))
    from ovntrace.parser import parse
    from ovntrace.parser.loader import grammar

    for g in ("lines", "actions", "kv"):
        grammar(g)
    text = big_input(args.lines)
    n = text.count("\n") + 1
    t_scan = best(lambda: regex_scan(text), 3)
    # cold memo: parse once (first parse fills the per-text action/flow caches), then best of 2
    t0 = time.perf_counter()
    result = parse(text)
    t_first = time.perf_counter() - t0
    t_parse = best(lambda: parse(text), 2)
    tables = sum(1 for t in result.traces for _ in t.tables())
    tmp = ROOT / "bench" / "results"
    tmp.mkdir(exist_ok=True)
    big = tmp / "big-input.txt"
    big.write_text(text, encoding="utf-8")
    rss = _rss_child(str(big))
    per_line = (rss["after_kb"] - rss["before_kb"]) * 1024 / rss["lines"]

    medium = MEDIUM.read_text(encoding="utf-8")
    m_lines = medium.count("\n")
    t_medium = best(lambda: parse(medium), 5)
    t_medium_scan = best(lambda: regex_scan(medium), 5)

    def wall(cmd: list[str]) -> float:
        return best(lambda: subprocess.run(cmd, capture_output=True, check=True), 5)

    t_py = wall([sys.executable, "-c", "pass"])
    t_cli = wall([sys.executable, "-m", "ovntrace.cli", "explain", str(MEDIUM), "--color", "never"])
    report = {
        "input_lines": n,
        "traces": len(result.traces),
        "tables": tables,
        "regex_scan_s": round(t_scan, 4),
        "parse_first_s": round(t_first, 3),
        "parse_s": round(t_parse, 3),
        "lines_per_s": round(n / t_parse),
        "lines_per_s_first": round(n / t_first),
        "ratio_to_regex_scan": round(t_parse / t_scan, 1),
        "peak_rss_growth_bytes_per_line": round(per_line),
        "medium_lines": m_lines,
        "medium_parse_ms": round(t_medium * 1000, 1),
        "medium_ratio_to_regex_scan": round(t_medium / t_medium_scan, 1),
        "python_start_ms": round(t_py * 1000, 1),
        "explain_cli_wall_ms": round(t_cli * 1000, 1),
        "explain_cli_ratio_to_python_start": round(t_cli / t_py, 1),
    }
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        for k, v in report.items():
            print(f"{k:36} {v}")
    big.unlink()


if __name__ == "__main__":
    main()
