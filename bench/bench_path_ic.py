"""Interconnect path benchmark (issue 13): ``python bench/bench_path_ic.py [--repeat N] [--release R]``.

Brings up the central lab and the interconnect lab (``Lab.up(..., topology="interconnect")``) of one OVN
release, one after the other in temporary directories, and times in this one process, alternating:

* ``ic``: ``run_path(client-1, sshd-2)`` on the interconnect lab: two nodes, both conntrack states (trk,new
  and trk,est), every zone's NB/SB and every conf.db read over the lab's real sshd;
* ``central``: the same path on the central lab (the baseline: one NB/SB), measured the same way;
* ``ssh_floor``: one trivial command (``true``) on each node over fresh SSH connections (what any
  collection costs before it reads anything).

Reports best and median wall seconds, the collection part, this process's CPU seconds (less sensitive to
the machine's load than wall time), the commands and connections, and the ratios ic/central and ic/ssh_floor.
Target (issue 13): a two-node path with both conntrack states in <= 2 s on the interconnect lab. The
machine's load is printed beside (2 shared cores: absolute times move with it, ratios less).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ovntrace.lab.lab import Lab  # noqa: E402
from ovntrace.path import run_path  # noqa: E402
from ovntrace.path.collect import _load_inventory, _pool  # noqa: E402

SRC, DST = "default/client-1", "default/sshd-2"


def _path(lab: Lab) -> dict[str, Any]:
    for n in lab.inventory.node_names:
        lab._refresh_neighbors(n)
    t0, c0 = time.perf_counter(), time.process_time()
    r = run_path(SRC, DST, lab.inventory_path)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert all(c.verdict.get("delivered") for c in r.chains), [c.verdict for c in r.chains]
    traces = [t.seconds for c in r.chains for t in c.traces]
    return {"wall": wall, "cpu": cpu, "collect": float(r.stats["collect_seconds"]), "commands": r.stats["commands"],
            "connections": r.stats["connections"], "traces": traces}


def _ssh_floor(lab: Lab) -> float:
    inv, inv_path = _load_inventory(lab.inventory_path)
    t0 = time.perf_counter()
    pool = _pool(inv, inv_path, False)
    try:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=len(inv.nodes)) as ex:
            list(ex.map(lambda n: pool.run(n.name, ["true"]), inv.nodes))
    finally:
        pool.close()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--release", default=None, help="e.g. 25.03 (default: the host's OVN)")
    args = ap.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {"ic": [], "central": []}
    floor: list[float] = []
    load: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-path-ic-") as d:
        ic = Lab.up(None, Path(d) / "ic", release=args.release, topology="interconnect")
        try:
            central = Lab.up(None, Path(d) / "central", release=args.release)
            try:
                for _ in range(args.repeat):
                    load.append(os.getloadavg()[0])
                    runs["ic"].append(_path(ic))
                    runs["central"].append(_path(central))
                    floor.append(_ssh_floor(ic))
            finally:
                central.down()
        finally:
            ic.down()

    def summary(rs: list[dict[str, Any]]) -> dict[str, Any]:
        walls = [r["wall"] for r in rs]
        return {"best_s": round(min(walls), 3), "median_s": round(statistics.median(walls), 3),
                "collect_median_s": round(statistics.median(r["collect"] for r in rs), 3),
                "trace_median_s": round(statistics.median(t for r in rs for t in r["traces"]), 3),
                "cpu_median_s": round(statistics.median(r["cpu"] for r in rs), 3),  # this process (paramiko, parse)
                "commands": rs[0]["commands"], "connections": rs[0]["connections"]}

    ic_s, c_s = summary(runs["ic"]), summary(runs["central"])
    report = {
        "release": args.release or "host",
        "repeat": args.repeat,
        "ic": ic_s,
        "central": c_s,
        "ssh_floor_median_s": round(statistics.median(floor), 3),
        "ratio_ic_to_central": round(ic_s["median_s"] / c_s["median_s"], 2),
        "cpu_ratio_ic_to_central": round(ic_s["cpu_median_s"] / c_s["cpu_median_s"], 2),
        "ratio_ic_to_ssh_floor": round(ic_s["median_s"] / statistics.median(floor), 2),
        "target_s": 2.0,
        "load_average_1m": [round(x, 1) for x in load],
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
