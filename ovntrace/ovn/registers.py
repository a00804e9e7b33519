"""Logical fields -> OpenFlow registers, the ``MFF_LOG_FLAGS`` bits and northd's register bits.

Sources (per release tag, in ``data/``):

* ``fields.json``: ``#define MFF_LOG_<NAME> MFF_<REG>`` of ``ovn/lib/logical-fields.h``
  (OVN 2.5-2.11), ``include/ovn/logical-fields.h`` (2.12+);
* ``flags.json``: ``enum mff_log_flags_bits`` of the same header (2.6+; 2.5 had no flags)
  with the ``flags.*`` symbol names registered in ``lib/logical-fields.c``;
* ``regbits.json``: ``#define REGBIT_*``/``REG_*`` string constants of northd
  (``ovn-northd.c``/``northd.c``/``northd.h``), i.e. what northd keeps in reg0..reg9/xxreg*.

OVS overlays (``lib/flow.h``): ``xxregN`` = ``reg(4N)`` (bits 96..127) .. ``reg(4N+3)`` (bits
0..31); ``xregN`` = ``reg(2N)`` (bits 32..63) and ``reg(2N+1)`` (bits 0..31).  OVN writes its
logical reg0..reg7 through ``xxreg0``/``xxreg1`` and reg8/reg9 through ``xreg4``, so traces
show ``set_field:...->xxreg0`` for ``reg0[0] = 1``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ovntrace.ovn import _data
from ovntrace.ovn.flags import FlagBit as FlagBit  # re-exported: the flag bits live in ovn.flags
from ovntrace.ovn.flags import decode_flags as decode_flags
from ovntrace.ovn.flags import flag_bits
from ovntrace.ovn.releases import latest_release, nearest_release
from ovntrace.parser.fields import parse_subfield

#: What each ``MFF_LOG_*`` logical field holds, in words (restated from the header comments).
LOGICAL_FIELD_ROLES: dict[str, tuple[str, str]] = {
    "DATAPATH": ("logical datapath",
                 "tunnel key of the logical switch/router (SB Datapath_Binding.tunnel_key)"),
    "INPORT": ("logical inport", "tunnel key of the logical input port (SB Port_Binding.tunnel_key)"),
    "OUTPORT": ("logical outport", "tunnel key of the logical output port, or of a multicast group "
                                   "(SB Multicast_Group.tunnel_key, >= 32768)"),
    "FLAGS": ("logical flags", "MLF_* flag bits (flags.loopback etc.)"),
    "DNAT_ZONE": ("DNAT ct zone", "conntrack zone used for DNAT on a gateway/distributed router port"),
    "SNAT_ZONE": ("SNAT ct zone", "conntrack zone used for SNAT on a gateway/distributed router port"),
    "NAT_ZONE": ("NAT ct zone", "alias of the DNAT zone register"),
    "CT_ZONE": ("port ct zone", "conntrack zone of the logical port (ct_next/ct_commit of switch ACLs)"),
    "ENCAP_ID": ("encap id", "index of the tunnel encapsulation chosen for the port (multi-encap chassis)"),
    "TUN_OFPORT": ("tunnel ofport", "OpenFlow port the packet arrived on from a tunnel"),
    "REG0": ("logical reg0", "first logical scratch register (reg0..reg9 are cleared between pipelines)"),
    "XXREG0": ("logical xxreg0", "128-bit view of logical reg0..reg3"),
    "LB_ORIG_DIP_IPV4": ("LB original IPv4 dst", "load balancer VIP (original destination IPv4)"),
    "LB_ORIG_DIP_IPV4_OLD": ("LB original IPv4 dst (old location)", "pre-upgrade location of the LB VIP"),
    "LB_ORIG_DIP_IPV6": ("LB original IPv6 dst", "load balancer VIP (original destination IPv6)"),
    "LB_ORIG_TP_DPORT": ("LB original L4 dst port", "load balancer VIP port"),
    "LB_AFF_MATCH_IP4_ADDR": ("LB affinity IPv4", "backend IPv4 for LB session affinity"),
    "LB_AFF_MATCH_IP6_ADDR": ("LB affinity IPv6", "backend IPv6 for LB session affinity"),
    "LB_AFF_MATCH_LS_IP6_ADDR": ("LB affinity IPv6 (switch)", "backend IPv6 for LB affinity on switches"),
    "LB_AFF_MATCH_LS_IP6_ADDR_OLD": ("LB affinity IPv6 (switch, old)", "pre-upgrade location"),
    "LB_AFF_MATCH_LR_IP6_ADDR": ("LB affinity IPv6 (router)", "backend IPv6 for LB affinity on routers"),
    "LB_AFF_MATCH_PORT": ("LB affinity port", "backend L4 port for LB session affinity"),
    "LB_AFF_MATCH_PORT_OLD": ("LB affinity port (old location)", "pre-upgrade location"),
    "CT_ORIG_NW_DST_ADDR": ("ct original IPv4 dst", "original IPv4 destination loaded from conntrack"),
    "CT_ORIG_IP6_DST_ADDR": ("ct original IPv6 dst", "original IPv6 destination loaded from conntrack"),
    "CT_ORIG_TP_DST_PORT": ("ct original L4 dst port", "original L4 destination port loaded from conntrack"),
    "CT_SAVED_STATE": ("saved ct state", "conntrack state bits saved by the CT_STATE_SAVE table"),
    "REMOTE_OUTPORT": ("remote outport", "logical outport on the remote side (EVPN/transit)"),
    "RESULT_REG": ("result register", "result of a lookup action"),
}

#: Sub-ranges of a shared register, by field (bits low, high), where the header says so.
_FIELD_BITS: dict[str, tuple[int, int]] = {"ENCAP_ID": (16, 31), "TUN_OFPORT": (16, 31)}

# names only hand-written flows use; the NXM/OXM namespaces are ovntrace.parser.fields' business
_EXTRA_ALIASES = {"TUN_ID": "tun_id"}


def normalize_register(name: str) -> tuple[str, int | None, int | None]:
    """``"NXM_NX_REG14[0..14]"`` -> ``("reg14", 0, 14)``; ``"xxreg0"`` -> ``("xxreg0", None, None)``."""
    sf = parse_subfield(name.strip())
    if sf is None:
        return name.strip(), None, None
    base = sf.field
    base = _EXTRA_ALIASES.get(base, base.lower() if base.isupper() else base)
    return base, sf.start, sf.end


def overlays(reg: str) -> tuple[str, ...]:
    """Where a 32-bit ``regN`` also appears: ``("xxreg0[96..127]", "xreg0[32..63]")`` for reg0."""
    m = re.fullmatch(r"reg(\d+)", reg)
    if not m:
        return ()
    n = int(m.group(1))
    xx_lo = (3 - n % 4) * 32
    x_lo = 32 if n % 2 == 0 else 0
    return (f"xxreg{n // 4}[{xx_lo}..{xx_lo + 31}]", f"xreg{n // 2}[{x_lo}..{x_lo + 31}]")


def covered_regs(reg: str) -> tuple[str, ...]:
    """The 32-bit registers a wide register spans: ``xxreg1`` -> reg4..reg7, ``xreg4`` -> reg8, reg9."""
    m = re.fullmatch(r"(xx|x)reg(\d+)", reg)
    if not m:
        return (reg,) if re.fullmatch(r"reg\d+", reg) else ()
    n = int(m.group(2))
    if m.group(1) == "xx":
        return tuple(f"reg{4 * n + i}" for i in range(4))
    return (f"reg{2 * n}", f"reg{2 * n + 1}")


@dataclass(frozen=True)
class BitField:
    """A named bit or bit range inside a register (``name`` e.g. ``REGBIT_CONNTRACK_NAT``)."""

    name: str
    register: str
    low: int | None
    high: int | None
    symbol: str | None = None
    source: str = ""

    @property
    def bits(self) -> str:
        if self.low is None:
            return "all"
        return str(self.low) if self.low == self.high else f"{self.low}..{self.high}"


@dataclass(frozen=True)
class RegisterInfo:
    """Meaning of an OpenFlow register in OVN's br-int for a release."""

    name: str
    role: str
    description: str
    logical_fields: tuple[str, ...]
    subfields: tuple[BitField, ...]
    overlays: tuple[str, ...]
    release: str
    source: str


def _tag(release: str | None) -> str:
    return nearest_release(release).release if release else latest_release()


def logical_fields(release: str | None) -> dict[str, str]:
    """``MFF_LOG_*`` name (without prefix) -> OpenFlow register, e.g. ``{"INPORT": "reg14", ...}``."""
    g = _data.group_for_tag("fields", _tag(release))
    if g is None:
        return {}
    return {k: v for k, v in g.data["fields"].items() if not v.startswith("log_")}


def n_logical_regs(release: str | None) -> int:
    """Number of logical scratch registers (reg0..reg(N-1)): 5 in OVN 2.5, 10 since 2.6."""
    g = _data.group_for_tag("fields", _tag(release))
    return int(g.data.get("n_log_regs", 5)) if g else 10


def describe_flags_write(value: int, mask: int, release: str | None) -> list[str]:
    """For ``set_field:V/M->reg10``: ``["MLF_CHECK_PORT_SEC=0", ...]`` per flag the mask touches."""
    out: list[str] = []
    names = {fb.bit: fb for fb in flag_bits(release)}
    for b in range(32):
        if mask & (1 << b):
            fb = names.get(b)
            nm = fb.name if fb else f"bit{b}"
            out.append(f"{nm}={1 if value & (1 << b) else 0}")
    return out


def regbits(release: str | None) -> tuple[BitField, ...]:
    """northd's named register bits/ranges (``REGBIT_*``, ``REG_*``) of a release."""
    g = _data.group_for_tag("regbits", _tag(release))
    if g is None:
        return ()
    out: list[BitField] = []
    for name, spec in g.data.items():
        reg, lo, hi = normalize_register(str(spec))
        out.append(BitField(name, reg, lo, hi, None, g.citation))
    return tuple(out)


def describe_register(name: str, release: str | None) -> RegisterInfo:
    """What an OpenFlow register/field means in OVN for ``release`` (None = newest known).

    ``name`` may be ``reg14``, ``NXM_NX_REG14[0..14]``, ``OXM_OF_METADATA``, ``xxreg0``,
    ``OXM_OF_PKT_REG4``, ``tun_id``, ``tun_metadata0``...
    """
    tag = _tag(release)
    reg, _, _ = normalize_register(name)
    fields_g = _data.group_for_tag("fields", tag)
    src = fields_g.citation if fields_g else ""
    lfs = logical_fields(tag)
    mine = [f for f, r in lfs.items() if r == reg]
    # Logical registers written through wide overlays.
    wide = [f for f, r in lfs.items() if r != reg and reg in covered_regs(r) and r.startswith("x")]
    subfields: list[BitField] = []
    for f in mine:
        lo, hi = _FIELD_BITS.get(f, (None, None))
        if f == "CT_ZONE" and "ENCAP_ID" in lfs and lfs["ENCAP_ID"] == reg:
            lo, hi = 0, 15
        subfields.append(BitField(f"MFF_LOG_{f}", reg, lo, hi, None, src))
    if reg == lfs.get("FLAGS"):
        for fb in flag_bits(tag):
            subfields.append(BitField(fb.name, reg, fb.bit, fb.end_bit if fb.end_bit is not None else fb.bit,
                                      fb.symbol, src))
    for rb in regbits(tag):
        if rb.register == reg or (reg in covered_regs(rb.register) and rb.register != reg):
            subfields.append(rb)
    n_regs = n_logical_regs(tag)
    m = re.fullmatch(r"reg(\d+)", reg)
    if mine and mine[0] not in ("REG0",):
        role, desc = LOGICAL_FIELD_ROLES.get(mine[0], (mine[0].lower(), ""))
        extra = [LOGICAL_FIELD_ROLES.get(f, (f.lower(), ""))[0] for f in mine[1:]]
        if extra:
            role = f"{role} + {' + '.join(extra)}"
    elif m and int(m.group(1)) < n_regs:
        role = f"logical reg{m.group(1)}"
        desc = (f"logical scratch register reg{m.group(1)} of the pipeline (reg0..reg{n_regs - 1} are "
                "cleared before the egress pipeline and on datapath hops); meaning depends on the stage")
    elif reg.startswith("xxreg") or reg.startswith("xreg"):
        role = f"wide view of {', '.join(covered_regs(reg))}"
        desc = "OVS overlay register; OVN writes its logical reg0..reg9 through these"
    elif reg == "tun_id":
        role, desc = "tunnel key", ("Geneve/VXLAN VNI or STT key: the logical datapath key (VXLAN in OVN "
                                    ">= 20.09 non-VTEP mode: datapath in bits 0..11, outport in 12..23)")
    elif re.fullmatch(r"tun_metadata\d+", reg):
        role, desc = "Geneve OVN option", ("OVN Geneve option (class 0x102, type 0x80, 4 bytes): logical "
                                           "inport << 16 | logical outport (mapped to tun_metadata0 "
                                           "unless other TLVs were mapped first)")
    elif reg == "in_port":
        role, desc = "OpenFlow input port", "physical port the packet entered br-int on"
    else:
        role, desc = "unused by OVN", "not one of OVN's logical fields in this release"
    if mine and m and int(m.group(1)) < n_regs:
        desc += f"; reg{m.group(1)} is also a logical scratch register (meaning depends on the stage)"
    if wide and not mine:
        desc += "; also part of " + ", ".join(f"{lfs[f]} ({f})" for f in wide)
    return RegisterInfo(reg, role, desc, tuple(f"MFF_LOG_{f}" for f in mine), tuple(subfields),
                        overlays(reg), tag, src)
