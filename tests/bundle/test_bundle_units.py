"""Pure pieces of the bundle reader, on real text: the list format of the checked-in sosreport's
``ovsdb-client -f list dump`` (read from the real tarball), and sos's file names."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from ovntrace.sources.bundle import classify
from ovntrace.sources.bundle_list import ListError, looks_like_list, parse_list
from ovntrace.sources.convert import node_facts

NODE1 = Path(__file__).resolve().parents[2] / "fixtures" / "bundle" / "kube-node1.sosreport.tar.xz"


def _member(suffix: str) -> str:
    with tarfile.open(NODE1) as tf:
        (m,) = [m for m in tf.getmembers() if m.name.endswith(suffix)]
        f = tf.extractfile(m)
        assert f is not None
        return f.read().decode()


def test_list_dump_gives_the_node_facts() -> None:
    text = _member("sos_commands/openvswitch/ovsdb-client_-f_list_dump")
    assert looks_like_list(text)
    nf = node_facts(parse_list(text))
    assert nf.name == nf.hostname == "kube-node1" and nf.system_id and nf.encap_ip == "172.17.42.31"
    by_name = {i.name: i for i in nf.interfaces}
    assert by_name["br-int"].ofport == 65534
    tunnels = [i for i in nf.interfaces if i.type == "geneve"]
    assert len(tunnels) == 2 and all(i.remote_ip and i.options["key"] == "flow" for i in tunnels)
    assert {i.iface_id for i in nf.interfaces if i.iface_id} >= {"default_sshd-2", "default_web-1"}
    assert nf.ct_zones  # from br-int's ct-zone-* external ids


def test_list_format_values_and_errors() -> None:
    t = parse_list('_uuid               : 5028fbec-5665-4cbd-95fc-d520c250c580\n'
                   'external_ids        : {hostname=n1, note="a, b=c", "k y"="v\\"q"}\n'
                   'ovs_version         : []\nbridges             : [a, b]\n', "Open_vSwitch")
    row = next(iter(t["Open_vSwitch"].values()))
    assert row["external_ids"] == {"hostname": "n1", "note": "a, b=c", "k y": 'v"q'}
    assert row["ovs_version"] is None and row["bridges"] == ["a", "b"]
    with pytest.raises(ListError) as e:
        parse_list("ovs-vsctl: unix:/x/db.sock: database connection failed (No such file or directory)\n")
    assert e.value.line == 1


@pytest.mark.parametrize(("path", "want"), [
    ("sosreport-h-1/sos_commands/openvswitch/ovs-ofctl_-O_OpenFlow15_dump-flows_br-int", ("flows", "br-int",
                                                                                          "OpenFlow15")),
    ("sosreport-h-1/sos_commands/openvswitch/ovs-ofctl_dump-flows_breth0", ("flows", "breth0", None)),
    ("sosreport-h-1/sos_commands/openvswitch/ovs-ofctl_-O_OpenFlow13_dump-groups_br-int", ("groups", "br-int",
                                                                                           "OpenFlow13")),
    ("sosreport-h-1/sos_commands/openvswitch/ovs-vsctl_-t_5_show", ("vsctl-show", None, None)),
    ("sosreport-h-1/var/lib/ovn/etc/ovnsb_db.db", ("sb-db", None, None)),
    ("mg/network_logs/ovnk_database_store.tar.gz!ovnk_database_store/ovnkube-node-ab12c_nbdb", ("nb-db", None,
                                                                                                None)),
    ("mg/network_logs/leader_sbdb.gz", ("sb-db", None, None)),
    ("sosreport-h-1/sos_commands/openvswitch/ovs-appctl_bond.show_eth0", ("other", None, None)),
])
def test_sos_and_must_gather_names(path: str, want: tuple[str, str | None, str | None]) -> None:
    assert classify(path) == want
