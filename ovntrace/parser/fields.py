"""OpenFlow field names: the two namespaces traces mix, mapped to one canonical name.

Matches and ``set_field`` destinations use meta-flow names (``reg13``, ``eth_src``); ``load``/``move``/
``push``/``pop`` and ``... is now ...`` details use NXM/OXM names (``NXM_NX_REG13[0..15]``). The canonical
name is the one ``Flow:`` lines print (OVS lib/match.c ``match_format``): ``dl_src``, ``nw_dst``,
``tp_src``, ``metadata``, ``regN`` ... Widths from OVS include/openvswitch/meta-flow.h (3.5).
"""

from __future__ import annotations

import functools
import re

from ovntrace.model.actions import Subfield

# canonical name -> width in bits, for the integer-valued fields whose state is tracked bit by bit
INT_WIDTHS: dict[str, int] = {
    "metadata": 64,
    "tun_id": 64,
    "pkt_mark": 32,
    "ct_mark": 32,
    "ct_label": 128,
    "ct_zone": 16,
    "recirc_id": 32,
    "dp_hash": 32,
    "conj_id": 32,
    "skb_priority": 32,
    **{f"reg{i}": 32 for i in range(32)},
}
# tun_metadataN are variable-length (up to 992 bits); OVN's option is 32 bits wide.
TUN_METADATA_WIDTH = 992
for _i in range(64):
    INT_WIDTHS[f"tun_metadata{_i}"] = TUN_METADATA_WIDTH

# views over registers (OVS: xregN = reg(2N) high : reg(2N+1) low; xxregN = reg(4N) high .. reg(4N+3))
VIEW_WIDTH = {"xreg": 64, "xxreg": 128}

_ALIASES: dict[str, str] = {
    "eth_src": "dl_src",
    "eth_dst": "dl_dst",
    "eth_type": "dl_type",
    "ip_src": "nw_src",
    "ip_dst": "nw_dst",
    "ip_proto": "nw_proto",
    "ip_ttl": "nw_ttl",
    "ip_ecn": "nw_ecn",
    "ip_frag": "nw_frag",
    "tcp_src": "tp_src",
    "tcp_dst": "tp_dst",
    "udp_src": "tp_src",
    "udp_dst": "tp_dst",
    "sctp_src": "tp_src",
    "sctp_dst": "tp_dst",
    "tunnel_id": "tun_id",
    "in_port_oxm": "in_port",
    "nsp": "nsh_spi",
    "nsi": "nsh_si",
    "vlan_vid": "dl_vlan",
    "vlan_pcp": "dl_vlan_pcp",
    "icmpv4_type": "icmp_type",
    "icmpv4_code": "icmp_code",
}

_NXM: dict[str, str] = {
    "OXM_OF_METADATA": "metadata",
    "NXM_NX_TUN_ID": "tun_id",
    "OXM_OF_TUNNEL_ID": "tun_id",
    "NXM_OF_IN_PORT": "in_port",
    "OXM_OF_IN_PORT": "in_port",
    "NXM_NX_PKT_MARK": "pkt_mark",
    "NXM_NX_CT_STATE": "ct_state",
    "NXM_NX_CT_ZONE": "ct_zone",
    "NXM_NX_CT_MARK": "ct_mark",
    "NXM_NX_CT_LABEL": "ct_label",
    "NXM_NX_RECIRC_ID": "recirc_id",
    "NXOXM_ET_DP_HASH": "dp_hash",
    "NXM_NX_DP_HASH": "dp_hash",
    "NXM_OF_ETH_SRC": "dl_src",
    "NXM_OF_ETH_DST": "dl_dst",
    "NXM_OF_ETH_TYPE": "dl_type",
    "NXM_OF_VLAN_TCI": "vlan_tci",
    "NXM_OF_IP_SRC": "nw_src",
    "NXM_OF_IP_DST": "nw_dst",
    "NXM_OF_IP_PROTO": "nw_proto",
    "NXM_OF_IP_TOS": "nw_tos",
    "NXM_NX_IP_TTL": "nw_ttl",
    "NXM_NX_IP_ECN": "nw_ecn",
    "NXM_NX_IPV6_SRC": "ipv6_src",
    "NXM_NX_IPV6_DST": "ipv6_dst",
    "NXM_OF_ARP_OP": "arp_op",
    "NXM_OF_ARP_SPA": "arp_spa",
    "NXM_OF_ARP_TPA": "arp_tpa",
    "NXM_NX_ARP_SHA": "arp_sha",
    "NXM_NX_ARP_THA": "arp_tha",
    "NXM_OF_TCP_SRC": "tp_src",
    "NXM_OF_TCP_DST": "tp_dst",
    "NXM_OF_UDP_SRC": "tp_src",
    "NXM_OF_UDP_DST": "tp_dst",
    "NXM_OF_ICMP_TYPE": "icmp_type",
    "NXM_OF_ICMP_CODE": "icmp_code",
    "NXM_NX_ICMPV6_TYPE": "icmpv6_type",
    "NXM_NX_ICMPV6_CODE": "icmpv6_code",
    "NXM_NX_ND_TARGET": "nd_target",
    "NXM_NX_TUN_IPV4_SRC": "tun_src",
    "NXM_NX_TUN_IPV4_DST": "tun_dst",
    "NXM_NX_TUN_FLAGS": "tun_flags",
    "NXM_NX_TCP_FLAGS": "tcp_flags",
    "NXM_NX_IP_FRAG": "nw_frag",
}

_INDEXED = [
    (re.compile(r"NXM_NX_REG(\d+)$"), "reg"),
    (re.compile(r"NXOXM_ET_REG(\d+)$"), "reg"),
    (re.compile(r"OXM_OF_PKT_REG(\d+)$"), "xreg"),
    (re.compile(r"NXM_NX_XXREG(\d+)$"), "xxreg"),
    (re.compile(r"NXOXM_ET_XXREG(\d+)$"), "xxreg"),
    (re.compile(r"NXM_NX_TUN_METADATA(\d+)$"), "tun_metadata"),
]

_SUBFIELD_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d*)(?:\.\.(\d+))?\])?$")


@functools.cache
def canonical(name: str) -> str:
    """``NXM_NX_REG14`` -> ``reg14``; ``eth_src`` -> ``dl_src``; ``reg14`` -> ``reg14``."""
    if name in _NXM:
        return _NXM[name]
    for rx, prefix in _INDEXED:
        m = rx.match(name)
        if m:
            return f"{prefix}{int(m.group(1))}"
    return _ALIASES.get(name, name)


@functools.cache
def parse_subfield(text: str) -> Subfield | None:
    """``NXM_NX_XXREG0[96..127]`` -> ``Subfield("xxreg0", 96, 127)``; ``reg13`` -> whole field."""
    m = _SUBFIELD_RE.match(text.strip())
    if not m:
        return None
    name, start, end = m.groups()
    if start is None or start == "":
        return Subfield(canonical(name), None, None, text)
    s = int(start)
    return Subfield(canonical(name), s, int(end) if end is not None else s, text)


def field_width(name: str) -> int | None:
    """Width of an integer-tracked field or register view; ``None`` for the others."""
    width = INT_WIDTHS.get(name)
    if width is not None:
        return width
    for prefix, width in VIEW_WIDTH.items():
        if name.startswith(prefix) and name[len(prefix) :].isdecimal() and name[len(prefix) :].isascii():
            return width
    return None
