"""Incident bundles (issue 14): open time, replay time, peak memory, on real sosreports of a lab.

    python bench/bench_bundle.py [--switches 0] [--ports 10] [--repeat 3] [--dir /tmp/ovntrace-bench-bundle]
    python bench/bench_bundle.py --fixtures [--repeat 3]

Brings a lab up (``--switches N``: the big-SB lab of bench/bigsb/build.py, N switches of ``--ports`` ports, so
the central node's sosreport holds a large SB and the nodes many flows), makes real sos 4.0 sosreports of the
central node and of kube-node2 (``sos report --batch -o openvswitch,ovn_host[,ovn_central]``), takes the lab
down, then measures in this process (best of ``--repeat``), each against a baseline run in the same process:

* open: ``open_bundle`` (what ``--context`` reads: one streaming pass, the few members it needs kept) vs a plain
  listing of the same tarball (``tarfile`` ``r|*``, every member header, no content kept: the least any reader
  of a ``.tar.xz`` must spend, since xz cannot seek);
* context: ``bundle_context`` (the NB/SB decoded, the node facts) after opening;
* replay: ``replay()`` of a cross-node trace on kube-node2 (private ovs-vswitchd started, br-int rebuilt,
  ofproto/trace, stopped) vs starting and stopping an empty private switch;
* peak memory: the maximum RSS of a child process that opens the bundle and builds the context, vs a child
  that only imports ovntrace and lists the tarball.

``--fixtures`` (no lab): the checked-in bundles and snapshots instead, per node (its node facts, each of its
databases whole and for each fixture trace's cookies) and per zone of an interconnect snapshot.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# OVNTRACE_BENCH_CODE: a dir holding another ovntrace/ to measure (a baseline), this tree's fixtures still
sys.path.insert(0, os.environ.get("OVNTRACE_BENCH_CODE") or str(ROOT))

from ovntrace.lab.lab import Lab  # noqa: E402
from ovntrace.replay.engine import replay  # noqa: E402
from ovntrace.replay.switch import PrivateSwitch  # noqa: E402
from ovntrace.sources.bundle import CONTEXT_KINDS, REPLAY_KINDS, bundle_context, open_bundle  # noqa: E402


def best(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def sosreport(lab: Lab, node: str, out: Path) -> tuple[Path, float]:
    out.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OVS_", "OVN_"))}
    env.update(lab.env(node))
    env["PATH"] = env.get("PATH", "") + ":/usr/sbin:/sbin"
    plugins = "openvswitch,ovn_host" + (",ovn_central" if node == lab.inventory.cluster.central else "")
    t0 = time.monotonic()
    subprocess.run(["sos", "report", "--batch", "-o", plugins, "--tmp-dir", str(out)], env=env, check=True,
                   capture_output=True, timeout=900)
    return next(out.glob("sosreport-*.tar.xz")), time.monotonic() - t0


def tar_list(p: Path) -> int:
    n = 0
    with tarfile.open(p, "r|*") as tf:
        for _ in tf:
            n += 1
    return n


def child_rss(code: str) -> float:
    """Peak RSS (MiB) of a fresh child python running ``code``: its own VmHWM (per address space, so not the
    parent's high-water mark that ``ru_maxrss`` keeps across fork and exec)."""
    tail = ("\nprint([ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM:')][0])")
    out = subprocess.run([sys.executable, "-c", code + tail], check=True, cwd=ROOT, capture_output=True, text=True)
    return int(out.stdout.split()[-1]) / 1024


def fixtures(repeat: int) -> dict[str, Any]:
    """The checked-in bundles and snapshots (fixtures/bundle, fixtures/snapshot), in this process, best of
    ``repeat``: per report (node) of a bundle, its node facts and each of its databases read whole and for a
    trace's cookies (issue 18: only what the trace needs); per zone of a snapshot, its NB/SB (dump tables)."""
    import gzip

    from ovntrace.correlate.index import trace_needs
    from ovntrace.parser import parse
    from ovntrace.sources.bundle import node_facts_of
    from ovntrace.sources.load import context_from_bytes, context_from_text_any
    from ovntrace.sources.snapshot import _text
    from ovntrace.sources.snapshot import parse as parse_snapshot

    fix = ROOT / "fixtures"
    out: dict[str, Any] = {}
    bundles = [fix / "bundle" / "kube-master.sosreport.tar.xz", fix / "bundle" / "kube-node1.sosreport.tar.xz"]
    t_open = best(lambda: open_bundle(bundles, CONTEXT_KINDS), repeat)
    b = open_bundle(bundles, CONTEXT_KINDS)
    out["bundle_open_s"] = round(t_open, 4)
    out["bundle_list_s"] = round(best(lambda: [tar_list(p) for p in bundles], repeat), 4)
    traces = {}
    for name in ("acl-drop-dst.txt", "xnode-dst.txt", "lb-vip.txt"):
        _, cookies = trace_needs(parse((fix / "bundle" / name).read_text()))
        traces[name] = cookies
    per: dict[str, Any] = {}
    for r in b.reports:
        row: dict[str, Any] = {"node_facts_s": round(best(lambda r=r: node_facts_of(r), repeat), 4)}
        for kind in ("nb-db", "sb-db"):
            for m in r.by_kind(kind):
                data = r.data.get(m.path)
                if data is None:
                    continue
                hint = "nb" if kind == "nb-db" else "sb"
                row[f"{kind}_bytes"] = len(data)
                row[f"{kind}_whole_s"] = round(best(lambda d=data, h=hint: context_from_bytes(d, "x", h), repeat), 4)
                if kind == "sb-db":
                    for tname, cookies in traces.items():
                        keep = ("Logical_Flow", frozenset(cookies))
                        row[f"sb-db_for_{tname}_s"] = round(best(
                            lambda d=data, k=keep: context_from_bytes(d, "x", "sb", keep=k), repeat), 4)
                        ctx = context_from_bytes(data, "x", "sb", keep=keep)
                        row[f"sb-db_for_{tname}_lflows"] = len(ctx.logical_flows)
                    row["sb-db_lflows_whole"] = len(context_from_bytes(data, "x", "sb").logical_flows)
        per[r.name] = row
    out["bundle_per_node"] = per
    snaps: dict[str, Any] = {}
    for f in sorted((fix / "snapshot").glob("*.json.gz")):
        text = gzip.decompress(f.read_bytes()).decode()
        snap = parse_snapshot(text, f.name)
        row = {"bytes": len(text), "parse_s": round(best(lambda t=text, n=f.name: parse_snapshot(t, n), repeat), 4),
               "context_s": round(best(lambda s=snap: s.context(), repeat), 4)}
        zones = snap.doc.get("zones") or {}
        if zones:  # what a trace on one node costs: the context, then its zone's facts (read by the Correlator)
            first = next(iter(zones.values()))
            node = (first.get("nodes") or [next(iter(zones))])[0]
            row["context_and_one_zone_s"] = round(best(lambda s=snap, n=node: s.context().for_node(n), repeat), 4)
        for zname, z in zones.items():
            if z.get("nb") and z.get("sb"):
                row[f"zone_{zname}_s"] = round(best(lambda z=z: (
                    context_from_text_any(_text(z["nb"]), "nb", "nb"),
                    context_from_text_any(_text(z["sb"]), "sb", "sb")), repeat), 4)
        snaps[f.name] = row
    out["snapshots"] = snaps
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--fixtures", action="store_true",
                    help="measure the checked-in bundles and snapshots only (no lab): per node and per zone")
    ap.add_argument("--switches", type=int, default=0)
    ap.add_argument("--ports", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/ovntrace-bench-bundle")
    args = ap.parse_args()
    if args.fixtures:
        print(json.dumps(fixtures(args.repeat), indent=1))
        return 0
    d = Path(args.dir)
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    if args.switches:
        sys.path.insert(0, str(ROOT / "bench" / "bigsb"))
        from build import build  # type: ignore[import-not-found]

        build(d / "big", args.switches, args.ports, down=False)
        lab = Lab.load(d / "big" / "lab")
    else:
        lab = Lab.up(None, d / "lab")
    try:
        for n in lab.inventory.node_names:
            lab._refresh_neighbors(n)
        central = lab.inventory.cluster.central
        sos_c, t_c = sosreport(lab, central, d / "sos-central")
        sos_n, t_n = sosreport(lab, "kube-node2", d / "sos-node2")
        flow = lab.microflow("kube-node2", "default/client-1", "192.168.2.3")
    finally:
        lab.down()
    paths = [sos_c, sos_n]
    res: dict[str, Any] = {"sos_seconds": {central: round(t_c, 2), "kube-node2": round(t_n, 2)},
                           "sizes": {p.name: p.stat().st_size for p in paths}}
    b = open_bundle(paths, CONTEXT_KINDS)
    rep = next(r for r in b.reports if r.root == sos_c.name.removesuffix(".tar.xz"))
    res["central"] = {"members": len(rep.members), "sb_bytes": sum(m.size for m in rep.by_kind("sb-db")),
                      "flows_bytes": sum(m.size for m in rep.by_kind("flows"))}
    base = best(lambda: [tar_list(p) for p in paths], args.repeat)
    t_open = best(lambda: open_bundle(paths, CONTEXT_KINDS), args.repeat)
    t_ctx = best(lambda: bundle_context(b), args.repeat)
    ctx = bundle_context(b)
    res["open"] = {"tar_listing_s": round(base, 4), "open_bundle_s": round(t_open, 4),
                   "ratio": round(t_open / base, 2), "context_s": round(t_ctx, 4),
                   "logical_flows": len(ctx.logical_flows), "nodes": len(ctx.nodes)}
    rb = open_bundle([sos_n], REPLAY_KINDS)
    node = rb.reports[0]

    def empty_switch() -> None:
        with PrivateSwitch():
            pass

    t_empty = best(empty_switch, args.repeat)
    out: dict[str, Any] = {}

    def do_replay() -> None:
        out["r"] = replay(node, flow)

    runs = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        do_replay()
        runs.append((time.perf_counter() - t0, out["r"]))
    t_rep, r = min(runs, key=lambda x: x[0])
    res["replay"] = {"empty_switch_s": round(t_empty, 3), "replay_s": round(t_rep, 3),
                     "ratio": round(t_rep / t_empty, 2), "build_s": round(r.built.seconds, 3),
                     "trace_s": round(r.trace_seconds, 3), "flows": r.built.flows, "ports": len(r.built.ports)}
    listing = ", ".join(repr(str(p)) for p in paths)
    res["peak_rss_mib"] = {
        "baseline_import_and_list": round(child_rss(
            "import sys, tarfile; sys.path.insert(0, '.'); import ovntrace.sources.bundle\n"
            f"for p in [{listing}]:\n    [m for m in tarfile.open(p, 'r|*')]"), 1),
        "open_and_context": round(child_rss(
            "import sys; sys.path.insert(0, '.'); from ovntrace.sources.bundle import open_bundle, bundle_context\n"
            f"bundle_context(open_bundle([{listing}]))"), 1),
        "open_for_replay": round(child_rss(
            "import sys; sys.path.insert(0, '.'); from ovntrace.sources.bundle import open_bundle, REPLAY_KINDS\n"
            f"open_bundle([{listing}], REPLAY_KINDS)"), 1),
    }
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
