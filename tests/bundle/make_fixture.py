"""Regenerate ``fixtures/bundle/``: real sos 4.0 sosreports of a fresh lab and live traces taken with them.

    python -m tests.bundle.make_fixture [--out fixtures/bundle] [--dir /tmp/ovntrace-bundle-fixture-lab]

Brings a lab up (the bundled inventory with fixed system-ids, ``ovntrace.lab.fixtures.fixed_inventory``, and
without its example ``k8s-api-*`` external ids, so that no secret-named value is in the files), runs the real
``sos report --batch -o openvswitch,ovn_host[,ovn_central]`` on kube-master and kube-node1, takes the live
``ofproto/trace`` of three flows on kube-node1 right after (cross-node arrival from the tunnel, the ACL drop,
the load balancer VIP), writes them with a ``manifest.json`` (file -> node, flow, command), then takes the lab
down. Review the diff before committing (the tarballs change on every run: new UUIDs).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from ovntrace.lab.fixtures import VIP, fixed_inventory, tunnel_in_flow
from ovntrace.lab.inventory import atomic_write
from ovntrace.lab.lab import Lab
from tests.bundle.conftest import make_sosreport


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "fixtures" / "bundle"))
    ap.add_argument("--dir", default="/tmp/ovntrace-bundle-fixture-lab")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    inv = fixed_inventory()
    inv = replace(inv, nodes=tuple(replace(n, external_ids={k: v for k, v in n.external_ids.items()
                                                            if not k.startswith("k8s-api")}) for n in inv.nodes))
    shutil.rmtree(args.dir, ignore_errors=True)
    lab = Lab.up(inv, args.dir)
    manifest: dict[str, dict[str, str]] = {}
    try:
        for n in lab.inventory.node_names:
            lab._refresh_neighbors(n)
        with tempfile.TemporaryDirectory() as tmp:
            for node in ("kube-master", "kube-node1"):
                p = make_sosreport(lab, node, Path(tmp) / node)
                name = f"{node}.sosreport.tar.xz"
                shutil.copyfile(p, out / name)
                manifest[name] = {"node": node, "command": "sos report --batch -o openvswitch,ovn_host"
                                  + (",ovn_central" if node == "kube-master" else ""), "sos": "4.0 (Debian 12)"}
        src = lab.trace("kube-node2", lab.microflow("kube-node2", "default/client-1", "192.168.2.3"))
        xnode = tunnel_in_flow(lab, src, "kube-node1",
                               "icmp,nw_src=192.168.3.3,nw_dst=192.168.2.3,nw_ttl=63,icmp_type=8,icmp_code=0")
        src = lab.trace("kube-node2", lab.microflow("kube-node2", "default/client-1", "192.168.2.3", proto="tcp",
                                                    dport=22))
        acl = tunnel_in_flow(lab, src, "kube-node1", "tcp,nw_src=192.168.3.3,nw_dst=192.168.2.3,nw_ttl=63,"
                             "tp_src=40000,tp_dst=22,tcp_flags=syn")
        lb = lab.microflow("kube-node1", "default/web-1", VIP, proto="tcp", dport=22)
        for file, flow, shows in (("xnode-dst.txt", xnode, "client-1 -> sshd-2 arriving from the tunnel"),
                                  ("acl-drop-dst.txt", acl, "tcp/22 from client-1, dropped by the to-lport ACL"),
                                  ("lb-vip.txt", lb, f"web-1 -> VIP {VIP}:22 (a group: not in a sos 4.0 bundle)")):
            atomic_write(out / file, lab.trace("kube-node1", flow))
            manifest[file] = {"node": "kube-node1", "flow": flow, "command": f"ovntrace lab trace kube-node1 '{flow}'",
                              "shows": shows}
        atomic_write(out / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    finally:
        left = lab.down()
        shutil.rmtree(args.dir, ignore_errors=True)
    print(f"wrote {len(manifest)} files to {out}" + (f"; left running: {left}" if left else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
