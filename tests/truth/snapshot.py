"""Snapshot the truth for offline tests: ``python -m tests.truth.snapshot --out fixtures/truth``.

Brings a lab up (the bundled inventory with the fixed system-ids of ``fixtures/lab``), traces every
case of :mod:`tests.truth.cases`, runs the real ``ovn-detrace`` on each trace against the live SB/NB,
and writes to ``--out``: ``<case>.txt`` (the trace), ``<case>.detrace.txt`` (ovn-detrace's output),
``truth.json`` (per case: node, flow, and the truth of :func:`tests.truth.detrace.truth_from_output`),
``ovnsb_db.db``/``ovnnb_db.db`` (after ``ovsdb-server/compact``) and ``manifest.json`` (versions,
commands). Then takes the lab down.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from ovntrace.lab.fixtures import fixed_inventory
from ovntrace.lab.lab import Lab
from tests.truth.cases import CASES
from tests.truth.detrace import DETRACE, run_detrace, sb_lflows, truth_from_output


def _first_line(argv: list[str]) -> str:
    res = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    return (res.stdout or res.stderr).splitlines()[0] if (res.stdout or res.stderr) else ""


def _dpkg(pkg: str) -> str:
    return _first_line(["dpkg-query", "-W", "-f=${Package} ${Version}", pkg])


def snapshot(out: Path, lab_dir: Path) -> dict[str, object]:
    out.mkdir(parents=True, exist_ok=True)
    lab = Lab.up(fixed_inventory(), lab_dir)
    try:
        c = lab.inventory.cluster
        sb, nb = f"tcp:{c.db_address}:{c.sb_port}", f"tcp:{c.db_address}:{c.nb_port}"
        lflows = sb_lflows(sb)
        truth: dict[str, object] = {}
        files = []
        for case in CASES:
            flow = case.flow(lab)
            trace = lab.trace(case.node, flow)
            det = run_detrace(trace, sb, nb)
            (out / f"{case.name}.txt").write_text(trace)
            (out / f"{case.name}.detrace.txt").write_text(det)
            truth[case.name] = {"node": case.node, "flow": flow, "truth": truth_from_output(det, lflows)}
            files.append(
                {
                    "case": case.name,
                    "node": case.node,
                    "trace": f"{case.name}.txt",
                    "trace_command": f"ovntrace lab trace {case.node} {shlex.quote(flow)}",
                    "detrace": f"{case.name}.detrace.txt",
                    "detrace_command": f"{DETRACE} --ovnsb=tcp:127.0.0.1:SB_PORT --ovnnb=tcp:127.0.0.1:NB_PORT "
                    f"< {case.name}.txt",
                    "shows": case.shows,
                }
            )
        central = lab.inventory.cluster.central
        d = lab.node_dir(central)
        for db in ("ovnsb_db", "ovnnb_db"):
            lab.run(central, ["ovs-appctl", "-t", str(d / f"{db}.ctl"), "ovsdb-server/compact"])
            shutil.copyfile(d / f"{db}.db", out / f"{db}.db")
        (out / "truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
        manifest: dict[str, object] = {
            "generator": "python -m tests.truth.snapshot --out fixtures/truth",
            "versions": {
                "ovs-vswitchd": _first_line(["ovs-vswitchd", "--version"]),
                "ovn-controller": _first_line(["ovn-controller", "--version"]),
                "ovn-detrace": f"{DETRACE} {_first_line([DETRACE, '--version'])}",
                "packages": [
                    _dpkg(p)
                    for p in ("openvswitch-switch", "ovn-central", "ovn-host", "ovn-common", "python3-openvswitch")
                ],
            },
            "files": files,
            "db_files": {"sb": "ovnsb_db.db", "nb": "ovnnb_db.db"},
        }
        (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        return manifest
    finally:
        lab.down()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("fixtures/truth"))
    ap.add_argument("--dir", type=Path, default=Path("/tmp/bigsb-truth-lab"), help="the (temporary) lab dir")
    args = ap.parse_args(argv)
    m = snapshot(args.out.absolute(), args.dir.absolute())
    print(json.dumps(m["versions"], indent=1))
    print(f"wrote {len(m['files'])} cases to {args.out}")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
