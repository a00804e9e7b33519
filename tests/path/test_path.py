"""``ovntrace path`` against the real lab, over its real sshd (paramiko)."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from ovntrace.correlate import path as P
from ovntrace.lab.lab import Lab
from ovntrace.path import run_path
from ovntrace.pathcmd import main
from ovntrace.sources import collect

SRC, DST = "default/client-1", "default/sshd-2"
DELIVERED_LINE = (
    "pod default/client-1 @ kube-node2 → switch kube-node2 → router kube-master → switch kube-node1 ⇒ "
    "geneve 172.17.42.32 → 172.17.42.31 (dp 4, in 1, out 3) ⇒ switch kube-node1 (egress) → "
    "pod default/sshd-2 @ kube-node1"
)


def _cli(*argv: str) -> tuple[int, str, str]:
    import contextlib

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["path", *argv])
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture
def fresh_neighbors(lab: Lab) -> Lab:
    """The lab's dummy underlay: make sure the source node still knows its peers' MACs (as `lab trace` does)."""
    lab._refresh_neighbors("kube-node2")
    return lab


@pytest.mark.lab
def test_cross_node_pod_to_pod_delivered(fresh_neighbors: Lab) -> None:
    lab = fresh_neighbors
    t0 = time.monotonic()
    r = run_path(SRC, DST, lab.inventory_path, "icmp")
    wall = time.monotonic() - t0
    new, est = r.chains
    assert (new.ct, est.ct) == ("trk,new", "trk,est")
    for c in r.chains:
        assert c.line == DELIVERED_LINE
        assert c.verdict["delivered"] and c.verdict["node"] == "kube-node1"
        assert [t.node for t in c.traces] == ["kube-node2", "kube-node1"]
    assert "--ct-next trk,est" in est.traces[0].command and "--ct-next" not in new.traces[0].command
    # one connection per node, reused: NB+SB (schema + query each) + 3 conf.db + 2 chains x 2 nodes
    assert r.stats["connections"] == 3
    assert r.stats["commands"] == 11
    print(f"\nfull path: {wall:.2f}s wall, {r.stats}")
    assert wall < 10


@pytest.mark.lab
def test_ssh_acl_drop_on_destination(fresh_neighbors: Lab) -> None:
    r = run_path(SRC, DST, fresh_neighbors.inventory_path, "tcp", dport=22)
    v = r.chains[0].verdict
    assert v["kind"] == "drop" and v["node"] == "kube-node1"
    assert v["acl"] and "to-lport" in v["cause"] and "ACL" in v["cause"]
    assert r.chains[0].line.endswith("switch kube-node1 (egress, ACL) → ✗ drop")


@pytest.mark.lab
def test_second_hop_tunnel_metadata_is_what_the_source_set(fresh_neighbors: Lab) -> None:
    r = run_path(SRC, DST, fresh_neighbors.inventory_path, "icmp")
    src_trace, dst_trace = r.chains[0].traces
    tun = src_trace.trace.verdict.tunnel
    (opt,) = tun["geneve"]  # from the source's tnl_push(... geneve(options({class=0x102,type=0x80,len=4,V})))
    arriving = dict(kv.split("=", 1) if "=" in kv else (kv, "") for kv in dst_trace.flow.split(","))
    assert int(arriving["tun_metadata0"], 16) == int(opt["value"], 16)
    assert int(arriving["tun_id"], 16) == int(tun["tun_id"], 16)
    assert (arriving["tun_src"], arriving["tun_dst"]) == (tun["src"], tun["dst"])
    # inner packet after the source side's rewrites: router MAC -> pod MAC, TTL decremented
    dp_actions = src_trace.trace.passes[-1].datapath_actions or ""
    assert f"set(eth(src={arriving['dl_src']},dst={arriving['dl_dst']}))" in dp_actions
    assert arriving["nw_ttl"] == "63" and "set(ipv4(ttl=63))" in dp_actions
    # the tunnel port whose remote_ip is the source's encap IP
    node1 = fresh_neighbors.run("kube-node1", ["ovs-vsctl", "--bare", "--columns=ofport", "find", "Interface",
                                               "options:remote_ip=172.17.42.32"]).strip()
    assert arriving["in_port"] == node1
    # and kube-node1 really matched it: its trace has the decoded OVN metadata
    assert dst_trace.ovn is not None and dst_trace.trace.passes[0].fields["tun_metadata0"] == arriving["tun_metadata0"]


@pytest.mark.lab
def test_unknown_pod_is_a_clear_error(lab: Lab) -> None:
    rc, out, err = _cli("default/nope", DST, "--inventory", str(lab.inventory_path))
    assert rc == 2 and not out
    assert "default_nope" in err and "Port_Binding" in err and "default_client-1" in err


@pytest.mark.lab
def test_json_contract(fresh_neighbors: Lab) -> None:
    rc, out, err = _cli(SRC, DST, "--inventory", str(fresh_neighbors.inventory_path), "--format", "json")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["schema"] == "ovntrace.path/2"
    assert doc["path"] == DELIVERED_LINE and doc["verdict"]["delivered"]
    traces = doc["conntrack"][0]["traces"]
    assert [t["node"] for t in traces] == ["kube-node2", "kube-node1"]
    assert all(t["explain"]["schema"] == "ovntrace.explain/2" for t in traces)


def _private_inventory(lab: Lab, tmp_path: Path, known_hosts: Path) -> Path:
    """The lab's inventory with another known_hosts, in a dir without the lab's ssh_config."""
    text = lab.inventory_path.read_text().replace(str(lab.dir / "known_hosts"), str(known_hosts))
    assert str(known_hosts) in text
    inv = tmp_path / "inventory.toml"
    inv.write_text(text)
    return inv


@pytest.mark.lab
def test_unknown_host_key_rejected_then_accept_new(fresh_neighbors: Lab, tmp_path: Path) -> None:
    lab = fresh_neighbors
    kh = tmp_path / "known_hosts"
    inv = _private_inventory(lab, tmp_path, kh)
    rc, out, err = _cli(SRC, DST, "--inventory", str(inv))
    assert rc == 1 and not out
    assert "unknown host key" in err and "--accept-new" in err and not kh.exists()
    rc, out, err = _cli(SRC, DST, "--inventory", str(inv), "--accept-new")
    assert rc == 0, err
    assert len(kh.read_text().splitlines()) == 3  # every node's key recorded
    rc, out, err = _cli(SRC, DST, "--inventory", str(inv))  # now known: no flag needed
    assert rc == 0, err


@pytest.mark.lab
def test_changed_host_key_is_refused_even_with_accept_new(fresh_neighbors: Lab, tmp_path: Path) -> None:
    lab = fresh_neighbors
    lines = (lab.dir / "known_hosts").read_text().splitlines()
    keys = [ln.split(None, 1) for ln in lines]
    # every host gets the next host's key (same type, different key)
    swapped = [f"{keys[i][0]} {keys[(i + 1) % len(keys)][1]}" for i in range(len(keys))]
    kh = tmp_path / "known_hosts"
    kh.write_text("\n".join(swapped) + "\n")
    inv = _private_inventory(lab, tmp_path, kh)
    rc, _out, err = _cli(SRC, DST, "--inventory", str(inv), "--accept-new")
    assert rc == 1 and "HOST KEY CHANGED" in err
    assert kh.read_text() == "\n".join(swapped) + "\n"  # never rewritten


def test_commands_are_read_only_and_quoted() -> None:
    assert {c[0] for c in collect.COMMANDS.values()} == {"ovsdb-client", "ovs-appctl"}
    assert all(c[1] in ("dump", "get-schema", "query", "ofproto/trace") for c in collect.COMMANDS.values())
    argv = collect.argv("trace", ("trk,est",), bridge="br-int", flow="in_port=1,ip;rm -rf /")
    assert argv == ["ovs-appctl", "ofproto/trace", "br-int", "in_port=1,ip;rm -rf /", "--ct-next", "trk,est"]


def test_datapath_hops_fold_pipelines() -> None:
    hops = [("switch a", "ingress"), ("switch a", "egress"), ("router r", "ingress"), ("switch b", "egress")]
    assert P.datapath_hops(hops) == ["switch a", "router r", "switch b (egress)"]


@pytest.mark.lab
def test_hops_and_full_are_separate_options(fresh_neighbors: Lab) -> None:
    """`--hops`: each hop's explained trace after the path, folded as `explain` folds; `--full`: unfolded."""
    inv = str(fresh_neighbors.inventory_path)
    rc, plain, _ = _cli(SRC, DST, "--inventory", inv)
    assert rc == 0 and "== kube-node2" not in plain
    rc, hops, _ = _cli(SRC, DST, "--inventory", inv, "--hops")
    assert rc == 0 and "== kube-node2, ct trk,new" in hops and "== kube-node1, ct trk,new" in hops
    rc, full, _ = _cli(SRC, DST, "--inventory", inv, "--full")
    assert rc == 0 and "== kube-node2, ct trk,new" in full
    assert "no-op" in hops and "no-op" not in full and len(full.splitlines()) > len(hops.splitlines())
