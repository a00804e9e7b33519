"""Decode ovn-controller actions: ``controller(userdata=00.00.00.07.00.00.00.00...,pause,meter_id=N)``.

Layout of ``userdata`` (``struct action_header`` in ``include/ovn/actions.h``; built by
``encode_start_controller_op()`` in ``lib/actions.c`` / ``ovn/lib/actions.c``): 4-byte
big-endian opcode (``enum action_opcode``), 4 pad bytes, then the per-action payload:

* ``log`` (``ACTION_OPCODE_LOG``, OVN >= 2.8): ``struct log_pin_header`` (``lib/acl-log.h``):
  1 byte verdict (``enum log_verdict``: allow 0, drop 1, reject 2, pass 3 (23.06.4/23.09.4/
  24.03.2+)), 1 byte severity (RFC 5424: alert 1, warning 4, notice 5, info 6, debug 7), then the
  ACL name bytes (no terminator).  The log meter is the action's ``meter_id``.
* nested-action opcodes (``arp``, ``nd_ns``, ``nd_na``, ``icmp4``, ``icmp6``, ``tcp_reset``,
  ``reject``, ``sctp_abort``...): OpenFlow 1.3 actions ovn-controller runs on the packet it
  builds; a trailing ``resubmit(,T)`` (NXAST_RESUBMIT_TABLE) tells where it is re-injected.

The opcode numbering is append-only except for OVN 2.9.x, where 10 was ``ND_NA_ROUTER``
(from 2.10: 10 ``ICMP``, 11 ``TCP_RESET``, 12 ``ND_NA_ROUTER``); names changed in 25.03
(27 ``MG_SPLIT_BUF`` -> ``SPLIT_BUF_ACTION``) and 25.09 (26 ``ACTIVATION_STRATEGY_RARP`` ->
``ACTIVATION_STRATEGY``).  Data: ``data/opcodes.json``, ``data/acl_log.json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ovntrace.ovn import _data
from ovntrace.ovn.releases import latest_release, nearest_release

Effect = Literal["drop", "continue", "reply", "resume", "punt", "unknown"]

# opcode name -> (logical action, effect, words).  Effects:
#   continue: a copy goes to ovn-controller, the packet goes on in OpenFlow;
#   reply:    ovn-controller builds a new packet from this one (ARP/ND/ICMP/RST...) and injects
#             it with the nested actions; the original packet stops here;
#   resume:   the packet is paused, edited by ovn-controller and resumed in the pipeline;
#   punt:     the packet is consumed by ovn-controller;
#   drop:     the packet is dropped (used for ACL log with verdict drop/reject).
_OPCODES: dict[str, tuple[str, Effect, str]] = {
    "ARP": ("arp", "reply", "ovn-controller sends an ARP request for the next hop (the packet is "
                            "buffered until the MAC is learnt)"),
    "PUT_ARP": ("put_arp", "continue", "ovn-controller learns the IPv4->MAC binding (SB MAC_Binding)"),
    "PUT_DHCP_OPTS": ("put_dhcp_opts", "resume", "ovn-controller builds the DHCPv4 reply options and "
                                                 "resumes the packet"),
    "ND_NA": ("nd_na", "reply", "ovn-controller answers the IPv6 neighbor solicitation"),
    "PUT_ND": ("put_nd", "continue", "ovn-controller learns the IPv6->MAC binding (SB MAC_Binding)"),
    "PUT_DHCPV6_OPTS": ("put_dhcpv6_opts", "resume", "ovn-controller builds the DHCPv6 reply options and "
                                                     "resumes the packet"),
    "DNS_LOOKUP": ("dns_lookup", "resume", "ovn-controller answers the DNS query from SB DNS records "
                                           "and resumes the packet"),
    "LOG": ("log", "continue", "ACL log: ovn-controller logs the packet"),
    "PUT_ND_RA_OPTS": ("put_nd_ra_opts", "resume", "ovn-controller builds the IPv6 router advertisement "
                                                   "and resumes the packet"),
    "ND_NS": ("nd_ns", "reply", "ovn-controller sends an IPv6 neighbor solicitation for the next hop"),
    "ICMP": ("icmp4/icmp6", "reply", "ovn-controller answers with an ICMP/ICMPv6 error "
                                     "(e.g. unreachable, time exceeded)"),
    "TCP_RESET": ("tcp_reset", "reply", "ovn-controller answers with a TCP RST"),
    "ND_NA_ROUTER": ("nd_na_router", "reply", "ovn-controller answers the neighbor solicitation as a router"),
    "PUT_ICMP4_FRAG_MTU": ("icmp4.frag_mtu", "reply", "ovn-controller sets the MTU in the ICMP "
                                                      "fragmentation-needed reply"),
    "ICMP4_ERROR": ("icmp4_error", "reply", "ovn-controller answers with an ICMPv4 error quoting the packet"),
    "EVENT": ("trigger_event", "punt", "ovn-controller records a controller event (e.g. empty LB backends) "
                                       "in SB Controller_Event"),
    "IGMP": ("igmp", "punt", "ovn-controller processes the IGMP/MLD report or query (multicast snooping)"),
    "BIND_VPORT": ("bind_vport", "continue", "ovn-controller binds the virtual port to this chassis"),
    "HANDLE_SVC_CHECK": ("handle_svc_check", "punt", "ovn-controller consumes the load-balancer health "
                                                     "check reply"),
    "DHCP6_SERVER": ("handle_dhcpv6_reply", "punt", "ovn-controller handles the DHCPv6 reply "
                                                    "(prefix delegation)"),
    "ICMP6_ERROR": ("icmp6_error", "reply", "ovn-controller answers with an ICMPv6 error quoting the packet"),
    "PUT_ICMP6_FRAG_MTU": ("icmp6.frag_mtu", "reply", "ovn-controller sets the MTU in the ICMPv6 "
                                                      "packet-too-big reply"),
    "REJECT": ("reject", "reply", "ACL reject: ovn-controller answers with a TCP RST or ICMP unreachable; "
                                  "the packet itself is dropped"),
    "BFD_MSG": ("handle_bfd_msg", "punt", "ovn-controller processes the BFD message"),
    "SCTP_ABORT": ("sctp_abort", "reply", "ovn-controller answers with an SCTP ABORT"),
    "PUT_FDB": ("put_fdb", "continue", "ovn-controller learns the MAC->port binding (SB FDB)"),
    "ACTIVATION_STRATEGY_RARP": ("activation_strategy_rarp", "punt",
                                 "ovn-controller activates the migrated port on this chassis (RARP)"),
    "ACTIVATION_STRATEGY": ("activation_strategy", "punt",
                            "ovn-controller activates the migrated port on this chassis"),
    "MG_SPLIT_BUF": ("mg_split_buf", "continue", "ovn-controller continues a multicast-group output "
                                                 "that was too large for one flow"),
    "SPLIT_BUF_ACTION": ("split_buf_action", "continue", "ovn-controller continues a multicast-group "
                                                         "output that was too large for one flow"),
    "DHCP_RELAY_REQ_CHK": ("dhcp_relay_req_chk", "resume", "ovn-controller checks/relays the DHCP request "
                                                           "and resumes the packet"),
    "DHCP_RELAY_RESP_CHK": ("dhcp_relay_resp_chk", "resume", "ovn-controller checks the relayed DHCP "
                                                             "response and resumes the packet"),
}


@dataclass(frozen=True)
class AclLog:
    """Payload of an ACL ``log`` action."""

    verdict: str
    severity: str
    name: str | None
    meter_id: int | None


@dataclass(frozen=True)
class ControllerAction:
    """A decoded ``controller(userdata=...)`` action of ovn-controller."""

    opcode: int
    name: str
    logical_action: str
    effect: Effect
    words: str
    pause: bool
    meter_id: int | None
    release: str
    acl_log: AclLog | None = None
    resubmit_tables: tuple[int, ...] = ()
    payload: bytes = b""
    #: Other names this opcode number had in other releases (when ``release`` was not given).
    other_names: tuple[str, ...] = ()
    source: str = ""


_CTRL_RE = re.compile(r"controller\((.*)\)\s*$")


def parse_controller_text(text: str) -> tuple[bytes, bool, int | None]:
    """``controller(userdata=00.00...,pause,meter_id=3)`` or bare ``00.00.00.07...`` ->
    (userdata bytes, pause, meter_id)."""
    s = text.strip()
    m = _CTRL_RE.search(s)
    inner = m.group(1) if m else s
    um = re.search(r"userdata=([0-9a-fA-F.]+)", inner)
    hexpart = um.group(1) if um else inner.split(",", 1)[0]
    pause = bool(re.search(r"(^|,)pause(,|$)", inner))
    mm = re.search(r"meter_id=(\d+)", inner)
    meter = int(mm.group(1)) if mm else None
    hexpart = hexpart.strip()
    data = bytes(int(b, 16) for b in re.split(r"[.:\s]+", hexpart) if b)
    return data, pause, meter


def opcode_names(release: str | None) -> dict[int, str]:
    """``ACTION_OPCODE_*`` number -> name for a release (empty for OVN 2.5)."""
    tag = nearest_release(release).release if release else latest_release()
    g = _data.group_for_tag("opcodes", tag)
    return {int(v): str(k) for k, v in g.data.items()} if g else {}


def _other_names(opcode: int, name: str) -> tuple[str, ...]:
    seen = {str(k) for g in _data.groups("opcodes") for k, v in g.data.items() if int(v) == opcode}
    return tuple(sorted(seen - {name}))


def _acl_names(release: str) -> tuple[dict[int, str], dict[int, str], str]:
    g = _data.group_for_tag("acl_log", release)
    if g is None:
        return {0: "allow", 1: "drop", 2: "reject"}, {}, ""
    return ({int(v): k for k, v in g.data["verdicts"].items()},
            {int(v): k for k, v in g.data["severities"].items()}, g.citation)


def _nested_resubmits(payload: bytes) -> tuple[int, ...]:
    """Tables of NXAST_RESUBMIT_TABLE actions in OpenFlow-1.3 encoded nested actions."""
    out: list[int] = []
    i = 0
    while i + 8 <= len(payload):
        typ = int.from_bytes(payload[i:i + 2], "big")
        length = int.from_bytes(payload[i + 2:i + 4], "big")
        if length < 8 or length % 8 or i + length > len(payload):
            break
        if typ == 0xFFFF and length >= 16:
            vendor = int.from_bytes(payload[i + 4:i + 8], "big")
            subtype = int.from_bytes(payload[i + 8:i + 10], "big")
            if vendor == 0x00002320 and subtype in (14, 44):  # RESUBMIT_TABLE(_CT)
                out.append(payload[i + 12])
        i += length
    return tuple(out)


def decode_controller_userdata(hexdots: str, release: str | None) -> ControllerAction:
    """Decode the ``userdata`` (or the whole ``controller(...)`` action text) of an OVN controller
    action into opcode, words and effect on the packet.

    ``release`` picks the opcode numbering (pass it: 2.9.x numbers differ); None = newest known,
    and ``other_names`` then lists what the number meant in other releases.
    """
    data, pause, meter = parse_controller_text(hexdots)
    tag = nearest_release(release).release if release else latest_release()
    g = _data.group_for_tag("opcodes", tag)
    source = g.citation if g else ""
    if len(data) < 4:
        return ControllerAction(-1, "UNKNOWN", "?", "unknown", "not an OVN controller action (no opcode)",
                                pause, meter, tag, payload=data, source=source)
    opcode = int.from_bytes(data[:4], "big")
    payload = data[8:]
    names = opcode_names(tag)
    name = names.get(opcode, f"OPCODE_{opcode}")
    others = _other_names(opcode, name) if release is None else ()
    logical, effect, words = _OPCODES.get(name, (name.lower(), "unknown", f"ovn-controller opcode {opcode}"))
    acl: AclLog | None = None
    if name == "LOG" and len(payload) >= 2:
        verdicts, severities, acl_src = _acl_names(tag)
        verdict = verdicts.get(payload[0], f"verdict{payload[0]}")
        severity = severities.get(payload[1], f"severity{payload[1]}")
        acl_name = payload[2:].decode("utf-8", "replace") or None
        acl = AclLog(verdict, severity, acl_name, meter)
        source = f"{source}; {acl_src}" if acl_src else source
        label = f'ACL "{acl_name}"' if acl_name else "an unnamed ACL"
        if verdict in ("drop", "reject"):
            effect = "drop"
            tail = ("the packet is dropped" if verdict == "drop"
                    else "the packet is dropped (a reject reply is generated by the reject action)")
        else:
            effect = "continue"
            tail = "the packet continues" if verdict == "allow" else "the packet goes on to the next ACL tier"
        words = f"ACL log ({severity}) of {label} with verdict {verdict}: {tail}"
        if meter is not None:
            words += f"; logging rate-limited by meter {meter}"
    resub = _nested_resubmits(payload) if effect in ("reply", "resume") else ()
    if resub and effect == "reply":
        words += f"; the generated packet re-enters OpenFlow at table {resub[-1]}"
    if pause and effect != "resume":
        words += " (paused, then resumed)"
    return ControllerAction(opcode, name, logical, effect, words, pause, meter, tag, acl, resub, payload,
                            others, source)
