"""The real lab: OVS/OVN daemons from Debian's packages, on loopback, brought up once per run."""

from __future__ import annotations

import os
import re
import subprocess
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from ovntrace.lab import inventory as inv_mod
from ovntrace.lab import runbook
from ovntrace.lab.cli import main
from ovntrace.lab.errors import LabError
from ovntrace.lab.lab import Lab, alive
from tests.conftest import need_lab_packages

pytestmark = pytest.mark.lab

ENCAP = {"kube-master": "172.17.42.30", "kube-node1": "172.17.42.31", "kube-node2": "172.17.42.32"}


def _blocks(plan_text: str) -> list[tuple[str, str]]:
    """(node, script) for each block of a printed plan."""
    out: list[tuple[str, str]] = []
    for chunk in re.split(r"^(?=# ===== )", plan_text, flags=re.M)[1:]:
        m = re.match(r"# ===== (\S+):", chunk)
        assert m
        out.append((m.group(1), chunk))
    return out


def _topology(show: str) -> dict[str, dict[str, list[str]]]:
    """From `ovn-nbctl show`: {'switch NAME' | 'router NAME': {port: [addresses/networks]}}."""
    topo: dict[str, dict[str, list[str]]] = {}
    cur: dict[str, list[str]] = {}
    port = ""
    for line in show.splitlines():
        m = re.match(r"^(switch|router) \S+ \((.+)\)$", line)
        if m:
            cur = topo.setdefault(f"{m.group(1)} {m.group(2)}", {})
            continue
        m = re.match(r"^    port (\S+)$", line)
        if m:
            port = m.group(1)
            cur[port] = []
            continue
        m = re.match(r"^        (addresses|networks): \[(.*)\]$", line)
        if m and port:
            cur[port] += [a.strip('" ') for a in m.group(2).split(",")]
    return topo


def _seed_checks(topo: dict[str, dict[str, list[str]]]) -> None:
    # The seed's `ovn-nbctl show`: router kube-master with rtos-<node> 192.168.N.1/24 and
    # rtoj-kube-master 100.64.1.1/24; per-node switches with stor-<node> and k8s-<node>; join.
    r = topo["router kube-master"]
    assert r["rtoj-kube-master"][0].endswith("100.64.1.1/24") or r["rtoj-kube-master"] == ["100.64.1.1/24"]
    for n, net in (("kube-master", 1), ("kube-node1", 2), ("kube-node2", 3)):
        assert r[f"rtos-{n}"] == [f"192.168.{net}.1/24"]
        sw = topo[f"switch {n}"]
        assert set(sw) >= {f"stor-{n}", f"k8s-{n}"}
        assert sw[f"k8s-{n}"][0].endswith(f" 192.168.{net}.2")
    assert set(topo["switch join"]) >= {"jtor-kube-master", "jtor-GR_kube-master"}
    assert topo["switch kube-node1"]["default_sshd-2"] == ["0a:00:00:00:00:01 192.168.2.3"]
    assert topo["router GR_kube-master"]["rtoj-GR_kube-master"] == ["100.64.1.2/24"]
    assert set(topo["switch ext_kube-master"]) == {"etor-GR_kube-master", "breth0_kube-master"}


def test_lab_up_is_fast(lab: Lab) -> None:
    assert lab.up_seconds <= 20, lab.up_seconds  # type: ignore[attr-defined]


def test_printed_plan_runs_cleanly_on_a_fresh_lab(bare_lab: Lab) -> None:
    text = runbook.render(bare_lab.inventory)
    for node, script in _blocks(text):
        res = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            env=bare_lab._full_env(node),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert res.returncode == 0, f"{node}: {res.stderr}\n{script}"
    show = bare_lab.run("kube-master", ["ovn-nbctl", "show"])
    _seed_checks(_topology(show))
    # every step's check now says it is done (except where the printed plan held a redacted secret)
    secrets = bare_lab.inventory.secrets()
    for phase in runbook.plan(bare_lab.inventory):
        for st in phase.steps:
            if st.check and not any(s in st.command for s in secrets):
                bare_lab.sh(st.node, st.check)
    token = bare_lab.run(
        "kube-node1", ["ovs-vsctl", "get", "Open_vSwitch", ".", "external_ids:k8s-api-token"]
    )
    assert token.strip() == '"***"'  # the printed plan never shows the secret


def test_lab_topology_is_the_seeds(lab: Lab) -> None:
    _seed_checks(_topology(lab.run("kube-master", ["ovn-nbctl", "show"])))
    acls = lab.run("kube-master", ["ovn-nbctl", "acl-list", "kube-node1"])
    assert "to-lport  1001" in acls and "drop log(name=deny-ssh-from-client-1" in acls
    assert "10.96.0.22:22" in lab.run("kube-master", ["ovn-nbctl", "lb-list"])
    ids = lab.run(
        "kube-master", ["ovs-vsctl", "get", "Open_vSwitch", ".", "external_ids:ovn-bridge-mappings"]
    )
    assert ids.strip() == '"physnet:breth0"'


def test_plan_rerun_changes_nothing(lab: Lab) -> None:
    before = lab.run("kube-master", ["ovn-nbctl", "show"])
    for node, script in _blocks(runbook.render(lab.inventory)):
        lab.sh(node, script)
    assert lab.run("kube-master", ["ovn-nbctl", "show"]) == before


def test_status_three_chassis_and_tunnels(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    st = lab.status()
    assert st["running"] and not st["errors"]
    assert len(st["processes"]) == 15
    assert sorted(c["hostname"] for c in st["chassis"]) == sorted(ENCAP)
    assert {c["hostname"]: c["ip"] for c in st["chassis"]} == ENCAP
    for node, tuns in st["tunnels"].items():
        remotes = sorted(re.search(r"remote_ip=(\S+)", t["options"]).group(1) for t in tuns)  # type: ignore[union-attr]
        assert remotes == sorted(ip for n, ip in ENCAP.items() if n != node)
        assert all(t["type"] == "geneve" for t in tuns)
    assert main(["lab", "status", "--dir", str(lab.dir)]) == 0
    out = capsys.readouterr().out
    assert "chassis in SB: 3" in out and "15/15 processes" in out
    assert "tunnels: vport" in out


def test_cross_node_trace_reaches_the_tunnel(lab: Lab) -> None:
    flow = lab.microflow("kube-node2", "default/client-1", "192.168.2.3")
    assert flow.startswith(f"in_port={lab.ofport('kube-node2', inv_mod.load().pod('client-1').iface)},icmp,")
    assert "dl_src=0a:00:00:00:00:03" in flow and f"dl_dst={runbook.router_mac('rtos-kube-node2')}" in flow
    trace = lab.trace("kube-node2", flow)
    tun = lab.run(
        "kube-node2",
        ["ovs-vsctl", "--bare", "--columns=ofport", "find", "Interface", 'options:remote_ip="172.17.42.31"'],
    ).strip()
    assert re.search(rf"^\s+output:{tun}$", trace, re.M)
    assert "-> output to native tunnel" in trace
    assert "-> tunneling to 172.17.42.31 via breth0" in trace
    actions = trace.strip().splitlines()[-1]
    assert actions.startswith("Datapath actions:") and "tnl_push(" in actions
    assert "dst=172.17.42.31" in actions and "geneve(" in actions


@pytest.fixture(scope="module")
def dummy_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A lab whose tunnel ports are plain dummies (``--tunnels dummy``: --enable-dummy=override)."""
    need_lab_packages()
    lab = Lab.up(None, tmp_path_factory.mktemp("dummy", numbered=True), tunnels="dummy")
    try:
        yield lab
    finally:
        assert not lab.down()


def test_dummy_tunnels_end_in_a_plain_datapath_port(dummy_lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    lab = dummy_lab
    assert Lab.load(lab.dir).tunnels == "dummy"
    flow = lab.microflow("kube-node2", "default/client-1", "192.168.2.3")
    trace = lab.trace("kube-node2", flow)
    tun = lab.run(
        "kube-node2",
        ["ovs-vsctl", "--bare", "--columns=ofport", "find", "Interface", 'options:remote_ip="172.17.42.31"'],
    ).strip()
    assert re.search(rf"^\s+output:{tun}$", trace, re.M)
    assert "native tunnel" not in trace and "tnl_push" not in trace
    actions = trace.strip().splitlines()[-1]
    # the last datapath action is a plain port number: the dummy geneve port's datapath port
    dp_port = re.search(rf" {tun}/(\d+): \(geneve\)", lab.run("kube-node2", ["ovs-appctl", "dpif/show"]))
    assert dp_port, "no geneve port in dpif/show"
    assert actions.startswith("Datapath actions:") and actions.endswith("," + dp_port.group(1)), actions
    assert main(["lab", "status", "--dir", str(lab.dir)]) == 0
    assert "tunnels: dummy" in capsys.readouterr().out


def test_bad_tunnel_form_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="tunnels 'gre'") as e:
        Lab.up(None, tmp_path / "x", tunnels="gre")
    assert e.value.exit_code == 2 and not (tmp_path / "x").exists()


def test_trace_with_ct_next_and_bridge(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    flow = lab.microflow("kube-node2", "client-1", "192.168.2.3")
    assert main(["lab", "trace", "kube-node2", flow, "--ct-next", "trk,est", "--dir", str(lab.dir)]) == 0
    out = capsys.readouterr().out
    assert "ct_state=est|trk" in out or "ct_state=trk|est" in out
    assert (
        main(["lab", "trace", "kube-node2", "in_port=LOCAL,ip", "--bridge", "breth0", "--dir", str(lab.dir)])
        == 0
    )
    assert 'bridge("breth0")' in capsys.readouterr().out


def test_microflow_shapes(lab: Lab) -> None:
    same = lab.microflow("kube-node1", "web-1", "192.168.2.3", proto="tcp", dport=22)
    assert "dl_dst=0a:00:00:00:00:01" in same and ",tcp," in same and "tp_dst=22" in same
    arp = lab.microflow("kube-node1", "sshd-2", "192.168.2.1", proto="arp")
    assert "arp_op=1" in arp and "arp_tpa=192.168.2.1" in arp
    with pytest.raises(LabError, match="is on kube-node1"):
        lab.microflow("kube-node2", "sshd-2", "192.168.3.3")


def test_ssh_to_each_node(lab: Lab) -> None:
    for node, ip in ENCAP.items():
        res = subprocess.run(
            ["ssh", "-F", str(lab.ssh_config), node, "ovs-vsctl show; echo node=$OVNTRACE_LAB_NODE"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert res.returncode == 0, res.stderr
        assert f"node={node}" in res.stdout
        others = set(ENCAP.values()) - {ip}
        for other in others:
            assert f'remote_ip="{other}"' in res.stdout
    inv = inv_mod.load(lab.inventory_path)
    ssh = inv.node("kube-node1").ssh
    assert ssh is not None and ssh.host == "127.0.0.1" and Path(ssh.key).exists()
    assert Path(ssh.known_hosts).read_text().count("ssh-ed25519") == 3


def test_env_targets_a_node(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "env", "kube-node2", "--dir", str(lab.dir)]) == 0
    out = capsys.readouterr().out
    script = out + "ovs-vsctl get Open_vSwitch . external_ids:ovn-encap-ip\novn-nbctl ls-list\n"
    res = subprocess.run(
        ["bash", "-ec", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"PATH": os.environ["PATH"]},
    )
    assert res.returncode == 0, res.stderr
    assert '"172.17.42.32"' in res.stdout and "(kube-node1)" in res.stdout


def test_pod_add_and_del(lab: Lab) -> None:
    pod = lab.pod_add("kube-node2", "default/extra-1")
    assert pod.ip == "192.168.3.4"
    assert "default_extra-1" in lab.run("kube-master", ["ovn-sbctl", "show"])
    flow = lab.microflow("kube-node2", "extra-1", "192.168.3.3")
    assert "dl_dst=0a:00:00:00:00:03" in flow
    lab.pod_del("default/extra-1")
    assert "default_extra-1" not in lab.run("kube-master", ["ovn-nbctl", "show"])
    with pytest.raises(LabError, match="no pod"):
        lab.pod_del("default/extra-1")


def test_second_up_says_it_is_running(lab: Lab) -> None:
    with pytest.raises(LabError, match="already running") as e:
        Lab.up(None, lab.dir)
    assert e.value.exit_code == 3


def _procs_mentioning(path: Path) -> list[int]:
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if str(path).encode() in (p / "cmdline").read_bytes():
                    pids.append(int(p.name))
            except OSError:
                pass
    return [pid for pid in pids if (Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] not in "ZX")]


def test_partial_start_rolls_back(tmp_path_factory: pytest.TempPathFactory) -> None:
    inv = inv_mod.load()
    bad = inv_mod.parse(
        {
            **tomllib.loads(inv_mod.dumps(inv)),
            # valid for the inventory (which checks VIPs now), refused by ovn-nbctl: no such switch
            "acls": [{"name": "broken", "switch": "no-such-switch", "match": "ip4", "action": "drop"}],
        }
    )
    d = tmp_path_factory.mktemp("rb") / "lab"
    with pytest.raises(LabError, match="rolled back"):
        Lab.up(bad, d)
    assert not d.exists()
    assert _procs_mentioning(d) == []


def test_down_stops_everything_fast(bare_lab: Lab) -> None:
    procs = list(bare_lab.procs)
    assert len(procs) == 15 and all(alive(p) for p in procs)
    t0 = time.monotonic()
    assert main(["lab", "down", "--dir", str(bare_lab.dir)]) == 0
    took = time.monotonic() - t0
    assert took <= 3, took
    assert not any(alive(p) for p in procs)
    assert not bare_lab.dir.exists()
    assert _procs_mentioning(bare_lab.dir) == []


# -- OVN 25.03: Debian 13 binaries under chroot, the host's sshd, the inventory's per-node prefix ------------


def _ovntrace(*args: str) -> subprocess.CompletedProcess[str]:
    import sys

    return subprocess.run(
        [sys.executable, "-c", "from ovntrace.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith(("OVS_", "OVN_"))},
    )


def test_25_03_lab_runs_the_trixie_binaries_in_a_chroot(lab25: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    lab = lab25
    assert lab.up_seconds <= 20, lab.up_seconds  # type: ignore[attr-defined]
    assert lab.release == "25.03" and lab.root is not None
    assert lab.versions == {"ovs": "3.5.0", "ovn": "25.03.0"}
    # every daemon runs from the chroot: its root is the rootfs
    for p in lab.procs:
        if p.name != "sshd":
            assert os.readlink(f"/proc/{p.pid}/root") == str(lab.root), p
    assert "ovn-controller 25.03.0" in lab.run("kube-node1", ["ovn-controller", "--version"])
    # the inventory tells every client to run node commands through the chroot
    inv = inv_mod.load(lab.inventory_path)
    for n in inv.nodes:
        assert n.ssh is not None and n.ssh.prefix == f"chroot {lab.root}"
    st = lab.status()
    assert st["running"] and not st["errors"] and len(st["chassis"]) == 3
    assert main(["lab", "status", "--dir", str(lab.dir)]) == 0
    out = capsys.readouterr().out
    assert "release: 25.03 (OVN 25.03.0, OVS 3.5.0; in chroot " in out and "15/15 processes" in out


def test_25_03_ssh_with_the_prefix_reaches_the_node(lab25: Lab) -> None:
    res = subprocess.run(
        ["ssh", "-F", str(lab25.ssh_config), "kube-node1", "chroot", str(lab25.root), "sh", "-c",
         "'ovs-vsctl --version | head -1; echo node=$OVNTRACE_LAB_NODE'"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "ovs-vsctl (Open vSwitch) 3.5.0" in res.stdout and "node=kube-node1" in res.stdout


def test_25_03_cross_node_trace_reaches_the_tunnel(lab25: Lab) -> None:
    trace = lab25.trace("kube-node2", lab25.microflow("kube-node2", "default/client-1", "192.168.2.3"))
    actions = trace.strip().splitlines()[-1]
    assert "tnl_push(" in actions and "dst=172.17.42.31" in actions and "geneve(" in actions


def test_25_03_path_gives_the_right_verdicts(lab25: Lab) -> None:
    lab25._refresh_neighbors("kube-node2")
    icmp = _ovntrace("path", "default/client-1", "default/sshd-2", "--inventory", str(lab25.inventory_path))
    assert icmp.returncode == 0, icmp.stdout + icmp.stderr
    verdicts = [ln.strip() for ln in icmp.stdout.splitlines() if ln.strip().startswith("verdict:")]
    assert len(verdicts) == 2 and verdicts[0] == verdicts[1], verdicts  # both conntrack states
    assert verdicts[0].startswith("verdict: DELIVERED on kube-node1: delivered to pod default/sshd-2 "
                                  "(logical port default_sshd-2, ofport "), verdicts
    assert "arrived over geneve from chassis " in verdicts[0] and "(hostname kube-node2, 172.17.42.32)" in verdicts[0]
    ssh = _ovntrace("path", "default/client-1", "default/sshd-2", "--tcp", "--dport", "22",
                    "--inventory", str(lab25.inventory_path))  # fmt: skip
    assert ssh.returncode == 0, ssh.stdout + ssh.stderr
    assert "verdict: DROP on kube-node1: dropped by ACL deny-ssh-from-client-1 (to-lport, priority 1001)" in ssh.stdout


def test_25_03_fresh_lab_doctor_is_clean_and_apply_changes_nothing(lab25: Lab) -> None:
    res = _ovntrace("doctor", "--inventory", str(lab25.inventory_path))
    assert res.returncode == 0, res.stdout + res.stderr
    assert re.search(r"^\d+ checks on 3 node\(s\) in .*: 0 error\(s\), 0 warning\(s\)$", res.stdout, re.M), res.stdout
    again = _ovntrace("provision", "apply", "--inventory", str(lab25.inventory_path), "--node", "kube-node1",
                      "--step", "compute", "--yes")  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 run, 7 skipped" in again.stdout


def test_25_03_doctor_finds_a_break_and_apply_fixes_it_in_the_chroot(lab25: Lab) -> None:
    lab = lab25
    lab.run("kube-node2", ["ovs-vsctl", "remove", "Open_vSwitch", ".", "external_ids", "ovn-encap-ip"])
    try:
        res = _ovntrace("doctor", "--inventory", str(lab.inventory_path), "--format", "json")
        import json

        doc = json.loads(res.stdout)
        found = [f for f in doc["findings"] if f["node"] == "kube-node2" and f["check"] == "ovn-encap-ip"]
        assert found and found[0]["fix"]["step"] == "compute.2", doc["findings"]
        fixed = _ovntrace(*found[0]["fix"]["apply"].split()[1:], "--yes")
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        got = lab.run("kube-node2", ["ovs-vsctl", "get", "Open_vSwitch", ".", "external_ids:ovn-encap-ip"])
        assert got.strip() == '"172.17.42.32"'  # set by `provision apply`, through the chroot prefix
        assert _ovntrace("doctor", "--inventory", str(lab.inventory_path)).returncode == 0
    finally:  # leave the session lab as it was for the other tests, whatever happened
        lab.run("kube-node2", ["ovs-vsctl", "set", "Open_vSwitch", ".", "external_ids:ovn-encap-ip=172.17.42.32"])


def test_two_releases_side_by_side(lab: Lab, lab25: Lab) -> None:
    assert lab.release == "23.03" and lab.root is None and lab.versions == {"ovs": "3.1.0", "ovn": "23.03.1"}
    assert "ovn-controller 23.03.1" in lab.run("kube-node1", ["ovn-controller", "--version"])
    assert "ovn-controller 25.03.0" in lab25.run("kube-node1", ["ovn-controller", "--version"])
    assert lab.inventory.cluster.nb_port != lab25.inventory.cluster.nb_port
    assert all(alive(p) for p in (*lab.procs, *lab25.procs))
    assert Lab.load(lab25.dir).release == "25.03" and Lab.load(lab.dir).release == "23.03"


def test_25_03_snapshot_then_explain_with_its_context(lab25: Lab, tmp_path: Path) -> None:
    import json

    snap = tmp_path / "c25.snapshot.json"
    res = _ovntrace("snapshot", "--inventory", str(lab25.inventory_path), "-o", str(snap))
    assert res.returncode == 0, res.stdout + res.stderr
    doc = json.loads(snap.read_text())
    assert doc["schema"] == "ovntrace.snapshot/2"
    assert "25.03.0" in snap.read_text()  # the SB's and the nodes' OVN version, read through the chroot
    trace = tmp_path / "t.txt"
    trace.write_text(lab25.trace("kube-node2", lab25.microflow("kube-node2", "client-1", "192.168.2.3")))
    ex = _ovntrace("explain", str(trace), "--context", str(snap), "--on", "kube-node2", "--format", "json")
    assert ex.returncode == 0, ex.stderr
    t = json.loads(ex.stdout)["traces"][0]
    assert t["ovn"]["release"] == "25.03.0"
    assert t["verdict"]["kind"] == "tunnel" and t["verdict"]["tunnel"]["dst"] == "172.17.42.31"
