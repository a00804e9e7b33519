"""Tunnel encodings of OVN logical metadata, and multicast group keys.

From ``put_encapsulation()``/table-0 tunnel flows of ``controller/physical.c``
(``ovn/controller/physical.c`` in OVN 2.x) and ``controller/physical.h`` (``OVN_GENEVE_*``):

* Geneve: VNI (``tun_id``) = datapath key (24 bits); one option, class 0x0102, length 4,
  type 0x80 (OVN >= 2.6; type 0 in OVN 2.5), value = logical inport (bits 16..30) << 16 |
  logical outport (bits 0..15).  The option is usually ``tun_metadata0``.
* STT (OVN 2.5 .. 25.03): 64-bit ``tun_id`` = datapath (0..23) | outport (24..39) | inport (40..54).
* VXLAN: VTEP (ramp switch) gateways: VNI = datapath key, no logical ports.  OVN >= 20.09
  between chassis (non-VTEP): VNI bits 0..11 = datapath key, bits 12..23 = outport key; the
  inport is not carried.  Since 21.09.1 (``OVN_VXLAN_MIN_MULTICAST`` in
  ``lib/mcast-group-index.h``) multicast outports are carried as 0x800 | (key & 0x7ff) in the
  12 outport bits.
* Multicast groups (``lib/mcast-group-index.h`` and northd): keys >= 32768; ``_MC_flood``
  65535 / ``_MC_unknown`` 65534 in OVN 2.5-2.12, 32768 / 32769 since 20.03.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ovntrace.ovn import _data
from ovntrace.ovn.releases import latest_release, nearest_release, parse_version

OVN_GENEVE_CLASS = 0x0102
OVN_GENEVE_LEN = 4
OVN_MIN_MULTICAST = 32768
OVN_VXLAN_MIN_MULTICAST = 2048


def geneve_type(release: str | None) -> int:
    """``OVN_GENEVE_TYPE``: 0x80 (critical) since OVN 2.6; 0 in OVN 2.5."""
    tag = nearest_release(release).release if release else latest_release()
    g = _data.group_for_tag("geneve", tag)
    return int(g.data["OVN_GENEVE_TYPE"]) if g else 0x80


@dataclass(frozen=True)
class TunnelMetadata:
    """Logical metadata carried by a tunnel packet; ``None`` = not carried by this encoding."""

    encap: Literal["geneve", "vxlan", "vxlan-vtep", "stt"]
    datapath: int | None
    inport: int | None
    outport: int | None
    words: str


def _int(v: int | str) -> int:
    return v if isinstance(v, int) else int(str(v), 0)


def decode_geneve(tun_id: int | str | None, option: int | str | None) -> TunnelMetadata:
    """Geneve: ``tun_id`` = datapath key; OVN option (``tun_metadata0``) = inport << 16 | outport."""
    dp = _int(tun_id) & 0xFFFFFF if tun_id is not None else None
    inport = outport = None
    if option is not None:
        ov = _int(option)
        inport, outport = (ov >> 16) & 0x7FFF, ov & 0xFFFF
    parts = []
    if dp is not None:
        parts.append(f"datapath {dp}")
    if inport is not None:
        parts.append(f"logical inport {inport}, outport {outport}")
    return TunnelMetadata("geneve", dp, inport, outport, "Geneve: " + ", ".join(parts))


_GENEVE_OPT_RE = re.compile(
    r"\{class=(0x[0-9a-fA-F]+),type=(0x[0-9a-fA-F]+),len=(\d+),(0x[0-9a-fA-F]+)(?:/[^}]*)?\}"
)


@dataclass(frozen=True)
class GeneveOption:
    opt_class: int
    opt_type: int
    length: int
    value: int

    @property
    def is_ovn(self) -> bool:
        """OVN's own option (class 0x102, len 4; type 0x80, or 0 for OVN 2.5)."""
        return (self.opt_class == OVN_GENEVE_CLASS and self.length == OVN_GENEVE_LEN
                and self.opt_type in (0, 0x80))


def parse_geneve_options(text: str) -> tuple[GeneveOption, ...]:
    """Options of a datapath ``geneve({class=0x102,type=0x80,len=4,0x10003})`` text."""
    return tuple(
        GeneveOption(int(m.group(1), 16), int(m.group(2), 16), int(m.group(3)), int(m.group(4), 16))
        for m in _GENEVE_OPT_RE.finditer(text)
    )


def decode_geneve_text(text: str, tun_id: int | str | None = None) -> TunnelMetadata | None:
    """Decode the OVN option in a ``geneve({...})`` datapath text (and ``tun_id`` from the
    surrounding ``tunnel(tun_id=0x4,...)`` if present)."""
    if tun_id is None:
        m = re.search(r"tun_id=(0x[0-9a-fA-F]+|\d+)", text)
        tun_id = m.group(1) if m else None
    for opt in parse_geneve_options(text):
        if opt.is_ovn:
            return decode_geneve(tun_id, opt.value)
    return None


def decode_vxlan(vni: int | str, release: str | None = None, vtep: bool = False) -> TunnelMetadata:
    """VXLAN VNI.  ``vtep=True`` (ramp switch/hardware VTEP): VNI = datapath key.  Otherwise
    (OVN >= 20.09 chassis-to-chassis): datapath = bits 0..11, outport = bits 12..23, with the
    multicast mapping of 21.09.1+ (0x800 bit => 32768 | low 11 bits)."""
    v = _int(vni) & 0xFFFFFF
    rel = nearest_release(release).release if release else latest_release()
    if vtep or parse_version(rel).key < (20, 9, 0):
        return TunnelMetadata("vxlan-vtep", v, None, None,
                              f"VXLAN (VTEP/ramp): datapath {v}; logical ports not carried")
    dp, out12 = v & 0xFFF, (v >> 12) & 0xFFF
    outport = out12
    g = _data.group_for_tag("mcast", rel)
    has_mc_map = bool(g and "OVN_VXLAN_MIN_MULTICAST" in g.data["constants"])
    if has_mc_map and out12 & OVN_VXLAN_MIN_MULTICAST:
        outport = OVN_MIN_MULTICAST | (out12 & (OVN_VXLAN_MIN_MULTICAST - 1))
    return TunnelMetadata("vxlan", dp, None, outport,
                          f"VXLAN: datapath {dp}, logical outport {outport}; inport not carried")


def decode_stt(tun_id: int | str) -> TunnelMetadata:
    """STT 64-bit key: datapath bits 0..23, outport 24..39, inport 40..54."""
    v = _int(tun_id)
    dp, outport, inport = v & 0xFFFFFF, (v >> 24) & 0xFFFF, (v >> 40) & 0x7FFF
    return TunnelMetadata("stt", dp, inport, outport,
                          f"STT: datapath {dp}, logical inport {inport}, outport {outport}")


def multicast_groups(release: str | None) -> dict[int, str]:
    """Fixed multicast group keys -> names (``_MC_flood``...) of a release."""
    tag = nearest_release(release).release if release else latest_release()
    g = _data.group_for_tag("mcast", tag)
    if g is None:
        return {}
    return {int(v): str(k) for k, v in g.data["groups"].items()}


def multicast_group_name(key: int, release: str | None) -> str | None:
    """Name of a multicast outport key: a fixed group, ``"IP multicast group"`` in the IP range, else None."""
    fixed = multicast_groups(release)
    if key in fixed:
        return fixed[key]
    tag = nearest_release(release).release if release else latest_release()
    g = _data.group_for_tag("mcast", tag)
    consts = g.data["constants"] if g else {}
    lo, hi = consts.get("OVN_MIN_IP_MULTICAST"), consts.get("OVN_MAX_IP_MULTICAST")
    if lo is not None and hi is not None and lo <= key <= hi:
        return "IP multicast group"
    return None


def is_multicast_key(key: int) -> bool:
    """Port keys >= 32768 are multicast groups (OVN_MIN_MULTICAST, all releases)."""
    return key >= OVN_MIN_MULTICAST
