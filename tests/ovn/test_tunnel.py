from __future__ import annotations

from ovntrace.ovn.tunnel import (
    decode_geneve,
    decode_geneve_text,
    decode_stt,
    decode_vxlan,
    geneve_type,
    multicast_group_name,
)


def test_geneve_0x10003() -> None:
    md = decode_geneve(0x4, 0x10003)
    assert (md.datapath, md.inport, md.outport) == (4, 1, 3)


def test_geneve_seed_datapath_actions() -> None:
    text = ("set(tunnel(tun_id=0x4,dst=172.17.42.31,ttl=64,tp_dst=6081,"
            "geneve({class=0x102,type=0x80,len=4,0x10003}),flags(df|csum|key)))")
    md = decode_geneve_text(text)
    assert md is not None and (md.datapath, md.inport, md.outport) == (4, 1, 3)


def test_geneve_type_changed_after_2_5() -> None:
    assert geneve_type("2.5.0") == 0
    assert geneve_type("2.6.0") == 0x80
    assert geneve_type("23.03.1") == 0x80


def test_vxlan() -> None:
    md = decode_vxlan(0x003005, "23.03.1")
    assert (md.datapath, md.outport, md.inport) == (5, 3, None)
    mc = decode_vxlan((0x800 << 12) | 7, "23.03.1")
    assert mc.outport == 32768
    assert decode_vxlan(0x5, "20.06.0").encap == "vxlan-vtep"


def test_stt() -> None:
    md = decode_stt((2 << 40) | (3 << 24) | 4)
    assert (md.datapath, md.outport, md.inport) == (4, 3, 2)


def test_multicast_names_per_release() -> None:
    assert multicast_group_name(65535, "2.8.1") == "_MC_flood"
    assert multicast_group_name(65534, "2.8.1") == "_MC_unknown"
    assert multicast_group_name(32768, "23.03.1") == "_MC_flood"
    assert multicast_group_name(32769, "23.03.1") == "_MC_unknown"
    assert multicast_group_name(32772, "23.03.1") == "_MC_flood_l2"
    assert multicast_group_name(32772, "21.06.0") == "_MC_static"
    assert multicast_group_name(40000, "23.03.1") == "IP multicast group"
