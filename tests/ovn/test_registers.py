from __future__ import annotations

from ovntrace.ovn.registers import (
    decode_flags,
    describe_flags_write,
    describe_register,
    normalize_register,
    overlays,
)


def test_core_registers() -> None:
    assert describe_register("reg14", "23.03.1").role == "logical inport"
    assert describe_register("NXM_NX_REG15[0..15]", "23.03.1").role == "logical outport"
    assert describe_register("OXM_OF_METADATA", "2.8.1").role == "logical datapath"
    assert describe_register("reg6", "2.5.0").role == "logical inport"  # OVN 2.5 used reg5-7
    assert describe_register("reg10", "23.03.1").role == "logical flags"


def test_reg13_split_from_24_03() -> None:
    old = describe_register("reg13", "23.03.1")
    new = describe_register("reg13", "24.03.9")
    old_fields = [(s.name, s.bits) for s in old.subfields if s.name.startswith("MFF_")]
    assert old_fields == [("MFF_LOG_CT_ZONE", "all")]
    assert ("MFF_LOG_CT_ZONE", "0..15") in [(s.name, s.bits) for s in new.subfields]
    assert ("MFF_LOG_ENCAP_ID", "16..31") in [(s.name, s.bits) for s in new.subfields]


def test_flags_per_release() -> None:
    assert decode_flags(0x1, "2.6.0") == ["MLF_ALLOW_LOOPBACK"]
    assert decode_flags(0x1000, "22.03.8") == ["MLF_FROM_CTRL"]  # backport on 22.03 branch
    assert decode_flags(0x1000, "23.03.1") == ["MLF_CHECK_PORT_SEC"]
    assert decode_flags(0x10001, "24.03.9") == ["MLF_ALLOW_LOOPBACK", "MLF_RX_FROM_TUNNEL"]
    assert decode_flags(0x8000, "23.03.1") == ["bit15"]
    assert decode_flags(0x30000000, "25.09.0") == ["MLF_NETWORK_ID=3"]
    assert describe_flags_write(0, 0x1000, "24.03.9") == ["MLF_CHECK_PORT_SEC=0"]


def test_regbits_named() -> None:
    info = describe_register("reg0", "23.03.1")
    names = {s.name: s.bits for s in info.subfields}
    assert names["REGBIT_CONNTRACK_DEFRAG"] == "0"
    assert names["REGBIT_PORT_SEC_DROP"] == "15"


def test_overlays_and_names() -> None:
    assert overlays("reg0") == ("xxreg0[96..127]", "xreg0[32..63]")
    assert overlays("reg9") == ("xxreg2[64..95]", "xreg4[0..31]")
    assert normalize_register("OXM_OF_PKT_REG4[48]") == ("xreg4", 48, 48)
    assert normalize_register("NXM_NX_TUN_METADATA0[16..30]") == ("tun_metadata0", 16, 30)
