"""controller(userdata=...) decoding, checked against the real 24.03.9 flows + logical flows."""

from __future__ import annotations

import re

import pytest

from ovntrace.ovn.controller import decode_controller_userdata

from .conftest import GT

# Logical action keyword that must appear in the lflow behind each opcode.
KEYWORD = {
    "ARP": "arp {", "PUT_ARP": "put_arp(", "ND_NS": "nd_ns {", "ND_NA": "nd_na {",
    "ND_NA_ROUTER": "nd_na_router {", "PUT_ND": "put_nd(", "ICMP": "icmp", "TCP_RESET": "tcp_reset {",
    "REJECT": "reject {", "SCTP_ABORT": "sctp_abort {", "HANDLE_SVC_CHECK": "handle_svc_check(",
    "LOG": "log(", "PUT_DHCP_OPTS": "put_dhcp_opts(", "DNS_LOOKUP": "dns_lookup(",
}


def _lflows() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in (GT / "lflow-list-uuid.txt").read_text().splitlines():
        m = re.search(r"uuid=0x([0-9a-f]+),.*action=\((.*)\)$", line)
        if m:
            out[m.group(1).zfill(8)] = m.group(2)
    return out


def test_dump_flows_opcodes_match_lflows_24_03_9() -> None:
    lflows = _lflows()
    checked = 0
    for line in (GT / "dump-flows.txt").read_text().splitlines():
        m = re.search(r"cookie=0x([0-9a-f]+),.*?(controller\(userdata=[0-9a-f.]+[^)]*\))", line)
        if not m or m.group(1).zfill(8) not in lflows:
            continue
        act = decode_controller_userdata(m.group(2), "24.03.9")
        assert KEYWORD[act.name] in lflows[m.group(1).zfill(8)], (act.name, line)
        checked += 1
    assert checked >= 10


def _ud(data: bytes) -> str:
    return ".".join(f"{b:02x}" for b in data)


@pytest.mark.parametrize(("verdict", "effect"), [(0, "continue"), (1, "drop"), (2, "drop")])
def test_acl_log(verdict: int, effect: str) -> None:
    ud = _ud(bytes([0, 0, 0, 7, 0, 0, 0, 0, verdict, 4]) + b"deny-ssh")
    act = decode_controller_userdata(f"controller(userdata={ud},meter_id=3)", "23.03.1")
    assert act.name == "LOG" and act.effect == effect
    assert act.acl_log is not None
    assert (act.acl_log.verdict, act.acl_log.severity, act.acl_log.name, act.acl_log.meter_id) == (
        ["allow", "drop", "reject"][verdict], "warning", "deny-ssh", 3)
    assert "deny-ssh" in act.words


def test_log_pass_verdict_only_where_defined() -> None:
    ud = _ud(bytes([0, 0, 0, 7, 0, 0, 0, 0, 3, 6]))
    assert decode_controller_userdata(ud, "24.03.9").acl_log.verdict == "pass"  # type: ignore[union-attr]
    assert decode_controller_userdata(ud, "23.03.1").acl_log.verdict == "verdict3"  # type: ignore[union-attr]


def test_opcode_numbering_differs_in_2_9() -> None:
    assert decode_controller_userdata("00.00.00.0a.00.00.00.00", "2.9.4").name == "ND_NA_ROUTER"
    assert decode_controller_userdata("00.00.00.0a.00.00.00.00", "2.10.0").name == "ICMP"
    unknown = decode_controller_userdata("00.00.00.0a.00.00.00.00", None)
    assert unknown.name == "ICMP" and "ND_NA_ROUTER" in unknown.other_names


def test_arp_pause_and_reinjection_table() -> None:
    ud = ("00.00.00.00.00.00.00.00.00.19.00.10.80.00.06.06.ff.ff.ff.ff.ff.ff.00.00.ff.ff.00.10."
          "00.00.23.20.00.0e.ff.f8.25.00.00.00")
    act = decode_controller_userdata(f"controller(userdata={ud},pause)", "24.03.9")
    assert act.name == "ARP" and act.pause and act.effect == "reply" and act.resubmit_tables == (37,)


def test_seed_reference_sample() -> None:
    act = decode_controller_userdata("controller(userdata=00.00.00.03.00.00.00.00,pause)", "2.8.1")
    assert act.name == "ND_NA"
