"""The interconnect lab (issue 13), for real on both releases: every node its own zone (NB, SB,
ovn-northd, ovn-controller on its own SB), joined by ovn-kubernetes' transit switch over geneve.

Oracles: the real ofproto/trace of each node's ovs-vswitchd, and each zone's own NB/SB (the tunnel
keys, the ACL's logical flow whose cookie the receiving trace must show). Nothing is mocked.
"""

from __future__ import annotations

import re

import pytest

from ovntrace.lab import runbook_ic
from ovntrace.lab.inventory import TRANSIT_SWITCH, TRANSIT_SWITCH_KEY
from ovntrace.lab.lab import Lab

SRC, DST = "kube-node2", "kube-node1"  # client-1 -> sshd-2 crosses from kube-node2's zone to kube-node1's


def _last_actions(trace: str) -> str:
    acts = re.findall(r"^Datapath actions: (.*)$", trace, re.M)
    assert acts, trace[-2000:]
    return acts[-1]


def tunnel_port(lab: Lab, node: str, peer: str) -> str:
    """The geneve port on ``node``'s br-int toward ``peer``'s encap IP (made by ovn-controller)."""
    ip = lab.inventory.node(peer).encap_ip
    out = lab.run(node, ["ovs-vsctl", "--bare", "--columns=name", "find", "Interface", "type=geneve",
                         f'options:remote_ip="{ip}"']).split()
    assert len(out) == 1, f"tunnel ports on {node} toward {peer} ({ip}): {out}"
    return out[0]


def geneve_md(lab: Lab, src: str, dst: str) -> int:
    """tun_metadata0 across the transit switch: ingress port key << 16 | egress port key (node ids)."""
    inv = lab.inventory
    return inv.node_id(src) << 16 | inv.node_id(dst)


def receive_flow(lab: Lab, src: str, dst: str, src_ip: str, dst_ip: str, l4: str) -> str:
    """The packet as ``dst`` receives it from ``src``'s tunnel after hop 1's rewrites (transit MACs, ttl 63)."""
    inv = lab.inventory
    port = lab.ofport(dst, tunnel_port(lab, dst, src))
    return (
        f"in_port={port},tun_id={TRANSIT_SWITCH_KEY:#x},tun_src={inv.node(src).encap_ip},"
        f"tun_dst={inv.node(dst).encap_ip},tun_metadata0={geneve_md(lab, src, dst):#x},"
        f"dl_src={runbook_ic.transit_mac(inv, src)},dl_dst={runbook_ic.transit_mac(inv, dst)},"
        f"{l4},nw_src={src_ip},nw_dst={dst_ip},nw_ttl=63"
    )


def pod_dp_port(lab: Lab, node: str, pod: str) -> str:
    """The datapath port number of a pod's interface (what a delivering trace's actions end in)."""
    iface = lab.inventory.pod(pod).iface
    out = lab.run(node, ["ovs-appctl", "dpif/show"])
    m = re.search(rf"^\s+{re.escape(iface)} \d+/(\d+):", out, re.M)
    assert m, out
    return m.group(1)


def test_zones_and_transit_switch(ic: Lab) -> None:
    inv = ic.inventory
    assert inv.interconnect and ic.zones() == inv.node_names
    for zone in ic.zones():
        key = ic.run(zone, ["ovn-sbctl", "--bare", "--columns=tunnel_key", "find", "Datapath_Binding",
                            f"external_ids:name={TRANSIT_SWITCH}"]).strip()
        assert key == str(TRANSIT_SWITCH_KEY), (zone, key)
        # each zone's SB: its own chassis plus the others as remote ones
        rows = ic.run(zone, ["ovn-sbctl", "--format=csv", "--data=bare", "--no-headings",
                             "--columns=name,other_config", "list", "Chassis"])
        remote = sorted(line.split(",")[0] for line in rows.splitlines() if "is-remote=true" in line)
        assert remote == sorted(n for n in inv.node_names if n != zone), (zone, rows)
    st = ic.status()
    assert st["topology"] == "interconnect" and st["running"], st


def test_cross_node_source_hop_ends_in_geneve(ic: Lab) -> None:
    tr = ic.trace(SRC, ic.microflow(SRC, "client-1", "192.168.2.3"))
    acts = _last_actions(tr)
    assert "tnl_push" in acts, acts
    assert f"vni={TRANSIT_SWITCH_KEY:#x}" in acts, acts
    md = geneve_md(ic, SRC, DST)
    assert re.search(rf"options\(\{{class=0x102,type=0x80,len=4,{md:#x}\}}\)", acts), acts
    assert f"dst={ic.inventory.node(DST).encap_ip}" in acts, acts


def test_cross_node_receiving_hop_delivers(ic: Lab) -> None:
    flow = receive_flow(ic, SRC, DST, "192.168.3.3", "192.168.2.3", "icmp,icmp_type=8,icmp_code=0")
    tr = ic.trace(DST, flow)
    acts = _last_actions(tr)
    assert acts.endswith("," + pod_dp_port(ic, DST, "sshd-2")) or acts == pod_dp_port(ic, DST, "sshd-2"), acts
    assert "tnl_push" not in acts


def _acl_cookies(lab: Lab, zone: str) -> list[str]:
    """The cookies of the seed ACL's logical flows in ``zone``'s own SB (first 32 bits of each uuid; a
    release may make more than one flow of it, e.g. 25.03 with and without the log)."""
    stage = "ls_out_acl_eval" if lab.release >= "25" else "ls_out_acl"
    out = lab.run(zone, ["ovn-sbctl", "--bare", "--columns=_uuid,match", "find", "Logical_Flow",
                         f"external_ids:stage-name={stage}"])
    lines = out.split("\n")
    found = ["0x" + lines[i - 1].strip()[:8].lstrip("0") for i, line in enumerate(lines)
             if i > 0 and "tcp.dst == 22" in line and "192.168.3.3" in line]
    assert found, f"no ACL flow in {zone}'s SB:\n{out[:3000]}"
    return found


def test_acl_drop_on_receiving_node(ic: Lab) -> None:
    # the sending zone has no such ACL: hop 1 still leaves by the tunnel
    out = _last_actions(ic.trace(SRC, ic.microflow(SRC, "client-1", "192.168.2.3", proto="tcp", dport=22)))
    assert "tnl_push" in out, out
    flow = receive_flow(ic, SRC, DST, "192.168.3.3", "192.168.2.3", "tcp,tp_src=40000,tp_dst=22,tcp_flags=syn")
    tr = ic.trace(DST, flow)
    acts = _last_actions(tr)
    dp = pod_dp_port(ic, DST, "sshd-2")
    assert not re.search(rf"(^|,){dp}$", acts), acts
    cookies = _acl_cookies(ic, DST)
    assert any(f"cookie {c}" in tr for c in cookies), (cookies, tr[-3000:])


def test_same_node_stays_local(ic: Lab) -> None:
    tr = ic.trace(DST, ic.microflow(DST, "sshd-2", "192.168.2.4"))
    acts = _last_actions(tr)
    assert "tnl_push" not in acts and acts.endswith("," + pod_dp_port(ic, DST, "web-1")), acts


def test_to_external_leaves_by_own_gateway_router(ic: Lab) -> None:
    tr = ic.trace(SRC, ic.microflow(SRC, "client-1", "8.8.8.8"))
    src_ip = ic.inventory.node(SRC).ip
    assert f"nat(src={src_ip})" in tr, tr[-3000:]
    assert "tnl_push" not in _last_actions(tr)


def test_lab_trace_passes_ovs_error_text(ic: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 16: a typo'd field shows OVS's own words, not ovs-appctl's "server returned an error"."""
    from ovntrace.lab.cli import main

    assert main(["lab", "trace", "--dir", str(ic.dir), SRC, "in_prt=1,icmp"]) == 2
    err = capsys.readouterr().err
    assert "Bad openflow flow syntax" in err and "unknown field in_prt" in err, err
    assert "server returned an error" not in err and "LabError" not in err
