"""Issue 11 item 9 against the session lab: a sosreport-like folder made from the lab's REAL databases and
outputs (db files copied from the running ovsdb-servers, their ``ovsdb-client dump`` JSON, a clustered copy
made by the real ``ovsdb-tool create-cluster``, every node's conf.db and ``ovs-vsctl show`` / ``ovs-ofctl
show br-int`` / ``ovs-appctl dpif/show`` as the real tools print them, some gzipped, one stray non-OVN
JSON file) gives, with ``--context DIR --on NODE``, the same OVN meaning (datapath names, logical flows,
verdict) for real lab traces as the lab's live databases and node."""

from __future__ import annotations

import gzip
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ovntrace.cli import run
from ovntrace.lab.lab import Lab
from tests.truth.conftest import remotes

pytestmark = pytest.mark.lab


def _put(path: Path, data: bytes | str, gz: bool = False) -> None:
    raw = data.encode() if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        raw = gzip.compress(raw)
    path.write_bytes(raw)


def sosreport_folder(lab: Lab, root: Path) -> Path:
    central = lab.inventory.cluster.central
    cdir = lab.node_dir(central)
    m = root / central
    _put(m / "var/lib/ovn/ovnsb_db.db", (cdir / "ovnsb_db.db").read_bytes())
    _put(m / "var/lib/ovn/ovnnb_db.db", (cdir / "ovnnb_db.db").read_bytes(), gz=True)
    sb_sock, nb_sock = f"unix:{cdir / 'ovnsb_db.sock'}", f"unix:{cdir / 'ovnnb_db.sock'}"
    _put(m / "sos_commands/ovn/ovsdb-client_dump_OVN_Southbound.json",
         lab.run(central, ["ovsdb-client", "dump", "--format=json", sb_sock, "OVN_Southbound"]), gz=True)
    _put(m / "sos_commands/ovn/ovsdb-client_dump_OVN_Northbound.json",
         lab.run(central, ["ovsdb-client", "dump", "--format=json", nb_sock, "OVN_Northbound"]))
    clustered = root / "tmp-clustered.db"
    lab.run(central, ["ovsdb-tool", "create-cluster", str(clustered), str(cdir / "ovnsb_db.db"),
                      f"unix:{root / 'raft.sock'}"])
    _put(m / "var/lib/ovn/ovnsb_db-clustered.db", clustered.read_bytes())
    clustered.unlink()
    _put(m / "sos_commands/ovn/ovn-nbctl_show", lab.run(central, ["ovn-nbctl", "show"]))
    _put(m / "sos_commands/ovn/ovn-sbctl_show", lab.run(central, ["ovn-sbctl", "show"]))
    for i, n in enumerate(x.name for x in lab.inventory.nodes):
        conf = (lab.node_dir(n) / "conf.db").read_bytes()
        vsctl = lab.run(n, ["ovs-vsctl", "show"])
        ofctl = lab.run(n, ["ovs-ofctl", "show", "br-int"])
        dpif = lab.run(n, ["ovs-appctl", "dpif/show"])
        if i % 2:  # flat, named by the file names
            _put(root / f"{n}.conf.db", conf, gz=True)
            _put(root / f"{n}.ovs-vsctl-show.txt", vsctl)
            _put(root / f"{n}.ovs-ofctl-show-br-int.txt", ofctl, gz=True)
            _put(root / f"{n}-ovs-appctl-dpif-show.txt", dpif)
        else:  # one sosreport-like folder per node
            _put(root / n / "etc/openvswitch/conf.db", conf)
            _put(root / n / "sos_commands/openvswitch/ovs-vsctl_-t_5_show", vsctl, gz=True)
            _put(root / n / "sos_commands/openvswitch/ovs-ofctl_show_br-int", ofctl)
            _put(root / n / "sos_commands/openvswitch/ovs-appctl_dpif.show", dpif)
    _put(root / "pod.json", json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1"}}))
    return root


def explain(trace: str, *argv: str) -> tuple[Any, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = run(["explain", "-", "--format", "json", *argv], io.StringIO(trace), out, err)
    assert rc == 0, err.getvalue()
    return json.loads(out.getvalue()), err.getvalue()


def meaning(doc: Any) -> list[Any]:
    """Per trace: the path (datapath names, pipelines, ports), the verdict, the OVN summary, and every
    step's OVN annotation (stage, logical flow, port names)."""
    def steps(ss: list[dict[str, Any]]) -> list[Any]:
        got: list[Any] = []
        for s in ss:
            got.append((s.get("line"), s.get("ovn")))
            got += steps(s.get("children") or [])
        return got

    return [(t["path"], t["verdict"], t["ovn"], [steps(p["steps"]) for p in t["passes"]]) for t in doc["traces"]]


def test_sosreport_folder_means_the_same_as_the_live_lab(lab: Lab, tmp_path: Path) -> None:
    for n in ("kube-node1", "kube-node2"):
        lab._refresh_neighbors(n)
    folder = sosreport_folder(lab, tmp_path / "sosreport")
    sb, nb = remotes(lab)
    cases = [("kube-node1", lab.microflow("kube-node1", "default/web-1", "192.168.2.3")),
             ("kube-node2", lab.microflow("kube-node2", "default/client-1", "192.168.2.3"))]
    for node, flow in cases:
        trace = lab.trace(node, flow)
        live, _ = explain(trace, "--sb", sb, "--nb", nb, "--node", f"{node}=unix:{lab.node_dir(node) / 'db.sock'}",
                          "--on", node)
        got, err = explain(trace, "--context", str(folder), "--on", node)
        assert '"lflow_ambiguous": ["' not in json.dumps(got)  # explain/2: the key is always there
        assert meaning(got) == meaning(live), node
        path = live["traces"][0]["path"]
        assert path and all(h["datapath"]["name"] for h in path if h.get("datapath"))
        # what the folder held twice or could not use is said, once per thing, naming the files
        assert f"{folder / 'pod.json'}: skipped" in err
        assert "the same OVN_Southbound as" in err and "ovnsb_db-clustered.db" in err
        assert "not tied to any node" not in err and "--on" not in err
    _, err = explain(lab.trace(*cases[0]), "--context", str(folder), "--on", "kube-node9")
    assert "--on kube-node9: no such node in the context; nodes present: kube-master, kube-node1, kube-node2" in err


def test_folder_nodes_are_named_by_path_or_content(lab: Lab, tmp_path: Path) -> None:
    from ovntrace.sources import load_context

    folder = sosreport_folder(lab, tmp_path / "sos")
    ctx = load_context(folder)
    names = sorted(n.name for n in ctx.nodes)
    assert names == sorted(x.name for x in lab.inventory.nodes)
    for nf in ctx.nodes:  # each node's facts come from its own conf.db and outputs
        assert nf.system_id and nf.hostname == nf.name and any(i.ofport for i in nf.interfaces)
    shutil.rmtree(folder)
