"""The ``MLF_*`` bits of ``MFF_LOG_FLAGS`` per release (``data/flags.json``: ``enum mff_log_flags_bits`` of
``ovn/lib/logical-fields.h`` (OVN 2.6-2.11) and ``include/ovn/logical-fields.h`` (2.12+), with the ``flags.*``
symbol names registered in ``lib/logical-fields.c``; OVN 2.5 had no flags).

Apart from :mod:`ovntrace.ovn.registers` (which re-exports these) so that decoding the reg10 flags of a
trace imports no more than it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ovntrace.ovn import _data
from ovntrace.ovn.releases import latest_release, nearest_release


@dataclass(frozen=True)
class FlagBit:
    """One ``MLF_*`` bit of ``MFF_LOG_FLAGS`` (``end_bit`` for multi-bit fields like NETWORK_ID)."""

    bit: int
    name: str
    symbol: str | None
    end_bit: int | None = None


def _tag(release: str | None) -> str:
    return nearest_release(release).release if release else latest_release()


@cache
def flag_bits(release: str | None) -> tuple[FlagBit, ...]:
    """The ``MLF_*`` bits of a release (empty for OVN 2.5, which had no logical flags)."""
    g = _data.group_for_tag("flags", _tag(release))
    if g is None:
        return ()
    return tuple(FlagBit(int(b["bit"]), str(b["name"]), b.get("symbol"), b.get("end_bit")) for b in g.data)


def decode_flags(value: int, release: str | None, mask: int | None = None) -> list[str]:
    """Names of the ``MLF_*`` flags set in ``value`` (restricted to ``mask`` if given).

    Unknown set bits come out as ``"bit<N>"``; multi-bit fields as ``"MLF_NETWORK_ID=<v>"``.
    Bit meanings differ between releases (bit 12 is MLF_FROM_CTRL in 22.03.8 but
    MLF_CHECK_PORT_SEC from 22.06; bit 18 is MLF_IGMP_IGMP_SNOOP_INJECT in 23.06.4/24.03.2 and
    MLF_OVERRIDE_LOCAL_ONLY in 24.03.5+), so pass the release when known.
    """
    if mask is not None:
        value &= mask
    out: list[str] = []
    covered = 0
    for fb in flag_bits(release):
        if fb.end_bit is not None:
            width = fb.end_bit - fb.bit + 1
            field_mask = ((1 << width) - 1) << fb.bit
            covered |= field_mask
            v = (value & field_mask) >> fb.bit
            if v:
                out.append(f"{fb.name}={v}")
        else:
            covered |= 1 << fb.bit
            if value & (1 << fb.bit):
                out.append(fb.name)
    rest = value & ~covered
    out.extend(f"bit{b}" for b in range(32) if rest & (1 << b))
    return out
