"""Register and field state at every table step, replayed from the actions OVS printed.

Starting from a pass's ``Flow:`` line, ``set_field``, ``load``, ``move``, ``push``/``pop`` and the
``-> X is now Y`` details are applied in order. Integer fields are tracked bit by bit as
(value, known-mask), so a partial write to an unknown register leaves the other bits unknown:
nothing is invented. What OVS restores, we restore: state after ``clone(...)``, after a patch-port
bridge (OVS ``patch_port_output`` saves and restores the flow), and ``pop`` restores what ``push``
saved. A table's exact match also tells us what the packet carried when it matched.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any

from ovntrace.model._empty import FrozenMap
from ovntrace.model.actions import Action, Subfield
from ovntrace.model.trace import StepKind
from ovntrace.parser.actions import STATE_ACTIONS
from ovntrace.parser.fields import INT_WIDTHS, TUN_METADATA_WIDTH, canonical, field_width, parse_subfield
from ovntrace.parser.tree import Node

_IS_NOW_RE = re.compile(r"^(\S+) is now (\S+)$")
# fields a Flow: line omits when they are zero (OVS lib/flow.c flow_format): absent means known 0
_ZERO_WHEN_ABSENT = (
    "metadata", "tun_id", "pkt_mark", "ct_mark", "ct_label", "ct_zone", "recirc_id", "dp_hash",
    *(f"reg{i}" for i in range(16)),
)
_STR_ZERO_WHEN_ABSENT = {"ct_state": "0"}


def _parse_int(text: str) -> int | None:
    try:
        return int(text, 0)
    except ValueError:
        try:
            return int(text, 16) if re.fullmatch(r"[0-9a-fA-F]+", text) else None
        except ValueError:
            return None


@functools.lru_cache(maxsize=8192)
def _assignment(name: str, text: str) -> tuple[str, int | None, int | None, int | None]:
    """``name = text`` (a flow's ``name=text``, a ``set_field``): the canonical name, its width (None:
    a field kept as text), and the value and mask (None: not a number, the assignment is skipped)."""
    name = canonical(name)
    width = INT_WIDTHS.get(name) or field_width(name)
    if width is None:
        return name, None, None, None
    value_text, _, mask_text = text.partition("/")
    value = _parse_int(value_text)
    mask = (_parse_int(mask_text) if mask_text else (1 << width) - 1) if value is not None else None
    if value is None or mask is None:
        return name, width, None, None
    return name, width, value, mask


# how assign() writes: (_STR, name, ()), (_INT, name, writes), (_VIEW, view name, writes) or (_SKIP, name, ()): a
# number that is not one. ``writes``: (integer field, bits kept, bits set, bits known), applied in order.
_STR, _INT, _VIEW, _SKIP = 0, 1, 2, 3


@functools.lru_cache(maxsize=8192)
def _assign_plan(name: str, text: str) -> tuple[int, str, tuple[tuple[str, int, int, int], ...]]:
    """What ``assign(name, text)`` does: what ``write_bits(name, 0, width - 1, value, mask)`` would do with
    the value and mask of :func:`_assignment` (a pure function of its arguments)."""
    name, width, value, mask = _assignment(name, text)
    if width is None:
        return _STR, name, ()
    if value is None or mask is None or width > TUN_METADATA_WIDTH:
        return _SKIP, name, ()
    rel_mask = mask & ((1 << width) - 1)
    value &= rel_mask
    if name in INT_WIDTHS:
        return _INT, name, ((name, ~rel_mask, value, rel_mask),)
    # a register view (xregN, xxregN): written through its registers (as _write_view does)
    writes = []
    for reg, lo, hi, shift in _view_parts(name, 0, max(rel_mask.bit_length(), 1) - 1):
        nbits, vstart = hi - lo + 1, lo + shift
        part_v = (value >> vstart) & ((1 << nbits) - 1)
        part_m = (rel_mask >> vstart) & ((1 << nbits) - 1)
        if part_m and reg in INT_WIDTHS:
            writes.append((reg, ~(part_m << lo), (part_v & part_m) << lo, part_m << lo))
    return _VIEW, name, tuple(writes)


@functools.lru_cache(maxsize=1024)
def _reg_views(name: str) -> tuple[str, ...]:
    """The xreg/xxreg views a register ``regN`` is part of (none for another name)."""
    idx = name[3:]
    if not (name.startswith("reg") and idx.isdecimal() and idx.isascii()):
        return ()
    return f"xreg{int(idx) // 2}", f"xxreg{int(idx) // 4}"


def _fmt(value: int, known: int, width: int) -> str:
    full = (1 << width) - 1
    v = f"{value:#x}" if value else "0"
    if known & full == full:
        return v
    return f"{v}/{known:#x}"


# what a complete Flow: line says of the fields it omits (from_flow)
_ZERO_INTS = {name: (0, (1 << INT_WIDTHS[name]) - 1) for name in _ZERO_WHEN_ABSENT}  # (value, known mask)


class FieldState:
    """Known field values at one point of a pass (mutable; snapshots are shared when unchanged)."""

    __slots__ = ("_dirty", "_ints", "_last", "_stack", "_strs", "_views")

    def __init__(self) -> None:
        self._ints: dict[str, tuple[int, int]] = {}
        self._strs: dict[str, str] = {}
        self._stack: list[tuple[int, int] | str | None] = []
        self._last: Mapping[str, str] | None = None
        self._dirty: set[str] | None = None  # None: everything
        self._views: set[str] = set()  # xreg/xxreg views the trace itself used: shown in snapshots

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_flow(cls, fields: Mapping[str, str] | None, complete: bool) -> FieldState:
        """State from a ``Flow:`` line. ``complete``: the line was whole, so absent context fields are 0."""
        st = cls()
        if fields is None:
            return st
        if complete:
            st._ints.update(_ZERO_INTS)
            st._strs.update(_STR_ZERO_WHEN_ABSENT)
        for key, value in fields.items():
            if value != "":  # bare keywords (ip, tcp, eth) are not fields
                st.assign(key, value)
        return st

    def copy(self) -> FieldState:
        st = FieldState()
        st._ints = dict(self._ints)
        st._strs = dict(self._strs)
        st._stack = list(self._stack)
        st._views = set(self._views)
        return st

    # -- writes -----------------------------------------------------------------------------------
    def _touch(self, name: str) -> None:
        dirty = self._dirty
        if dirty is None:
            return
        dirty.add(name)
        views = self._views
        if views:
            # a register change also changes its xreg/xxreg view
            for view in _reg_views(name):
                if view in views:
                    dirty.add(view)

    def assign(self, name: str, text: str) -> None:
        """Whole-field (or ``value/mask``) assignment from flow text or ``set_field``."""
        how, name, writes = _assign_plan(name, text)
        if how == _STR:
            strs = self._strs
            if strs.get(name) != text:
                strs[name] = text
                self._touch(name)
            else:
                strs[name] = text
            return
        if how == _VIEW and name not in self._views:
            self._views.add(name)
            self._touch(name)
        ints = self._ints
        for field, keep, bits, known in writes:
            old = ints.get(field)
            new = ints[field] = (bits, known) if old is None else ((old[0] & keep) | bits, old[1] | known)
            if new != old:  # (a write of what was there already changes no snapshot)
                self._touch(field)

    def write_bits(self, name: str, start: int, end: int, value: int, mask: int | None = None) -> None:
        """Write ``value`` into bits ``start..end`` of ``name`` (only the bits in ``mask``, relative)."""
        if not 0 <= start <= end < TUN_METADATA_WIDTH:
            return
        n = end - start + 1
        rel_mask = ((1 << n) - 1) if mask is None else (mask & ((1 << n) - 1))
        value &= rel_mask
        if name not in INT_WIDTHS:
            if field_width(name) is None:
                return
            # a register view (xregN, xxregN): written through its registers
            if name not in self._views:
                self._views.add(name)
                self._touch(name)
            self._write_view(name, start, value, rel_mask)
            return
        ints = self._ints
        old = ints.get(name)
        old_v, old_k = (0, 0) if old is None else old
        abs_mask = rel_mask << start
        new = ints[name] = ((old_v & ~abs_mask) | (value << start), old_k | abs_mask)
        if new != old:  # (a write of what was there already changes no snapshot)
            self._touch(name)

    def forget_bits(self, name: str, start: int, end: int) -> None:
        if not 0 <= start <= end < TUN_METADATA_WIDTH:
            return
        n = end - start + 1
        if name.startswith("xxreg") or name.startswith("xreg"):
            for reg, lo, hi, shift in _view_parts(name, start, end):
                self.forget_bits(reg, lo, hi)
                del shift
            return
        if name not in self._ints:
            return
        v, k = self._ints[name]
        m = ((1 << n) - 1) << start
        self._ints[name] = (v & ~m, k & ~m)
        self._touch(name)

    def _write_view(self, name: str, start: int, value: int, rel_mask: int) -> None:
        width = rel_mask.bit_length()
        end = start + max(width, 1) - 1
        for reg, lo, hi, shift in _view_parts(name, start, end):
            # bits lo..hi of reg correspond to bits (lo+shift)..(hi+shift) of the view
            vstart = lo + shift - start
            nbits = hi - lo + 1
            part_v = (value >> vstart) & ((1 << nbits) - 1)
            part_m = (rel_mask >> vstart) & ((1 << nbits) - 1)
            if part_m:
                self.write_bits(reg, lo, hi, part_v, part_m)

    # -- reads ------------------------------------------------------------------------------------
    def read_bits(self, name: str, start: int, end: int) -> tuple[int, int] | None:
        """(value, known-mask) of bits ``start..end`` of ``name``, relative to ``start``."""
        if not 0 <= start <= end < TUN_METADATA_WIDTH:
            return None
        n = end - start + 1
        if name.startswith("xxreg") or name.startswith("xreg"):
            value = known = 0
            for reg, lo, hi, shift in _view_parts(name, start, end):
                got = self.read_bits(reg, lo, hi)
                if got is None:
                    continue
                off = lo + shift - start
                value |= got[0] << off
                known |= got[1] << off
            return value, known
        if name not in self._ints:
            return None
        v, k = self._ints[name]
        m = (1 << n) - 1
        return (v >> start) & m, (k >> start) & m

    def value(self, name: str) -> str | None:
        """Formatted known value of a field (``"0x5"``, ``"0x5/0xffff"`` partially known) or None."""
        return self._value(canonical(name))

    def _value(self, name: str) -> str | None:
        """:meth:`value` of a canonical name."""
        text = self._strs.get(name)
        if text is not None:
            return text
        ints = self._ints.get(name)
        if ints is not None:  # a plain integer field (views are read through their registers below)
            width = INT_WIDTHS[name]
            full = (1 << width) - 1
            v, k = ints[0] & full, ints[1] & full
            return _fmt(v, k, width) if k else None
        if name in INT_WIDTHS:
            return None
        view_width = field_width(name)
        if view_width is None:
            return None
        # a register view (xregN, xxregN): read through its registers (read_bits, written out)
        regs = self._ints
        value = known = 0
        for reg, lo, hi, shift in _view_parts(name, 0, view_width - 1):
            got = regs.get(reg)
            if got is not None:
                m = (1 << (hi - lo + 1)) - 1
                value |= ((got[0] >> lo) & m) << (lo + shift)
                known |= ((got[1] >> lo) & m) << (lo + shift)
        return _fmt(value, known, view_width) if known else None

    def snapshot(self) -> Mapping[str, str]:
        """Immutable view of everything known, shared with the previous snapshot when nothing changed."""
        if self._last is not None and self._dirty is not None and not self._dirty:
            return self._last
        # the new snapshot is filled in place before anyone sees it (through dict's own methods:
        # FrozenMap's refuse), then never changed
        if self._last is None or self._dirty is None:
            out = FrozenMap()
            names: Iterator[str] = iter(list(self._strs) + list(self._ints) + sorted(self._views))
        else:
            out = FrozenMap(self._last)
            names = iter(sorted(self._dirty))
        value = self._value  # the names of the state are canonical
        strs, ints, views = self._strs, self._ints, self._views
        for name in names:
            # (_value, with its two common cases written out)
            val = strs.get(name)
            if val is None:
                got = ints.get(name)
                if got is None:
                    val = value(name)
                else:
                    width = INT_WIDTHS[name]
                    full = (1 << width) - 1
                    known = got[1] & full
                    val = _fmt(got[0] & full, known, width) if known else None
            if val is None or (name in _VIEWS_SET and name not in views):
                _dict_pop(out, name, None)
            else:
                _dict_set(out, name, val)
        self._last = out
        self._dirty = set()
        return out

    # -- actions ----------------------------------------------------------------------------------
    def apply(self, action: Action) -> None:
        """Apply one printed action. Never raises: an action without the operands it needs (an
        unknown or damaged one) changes nothing here; :meth:`forget_written` handles those."""
        name = action.name
        if name == "set_field" and action.known:  # (the common case, first)
            a = action.args
            value = a.get("value", "")
            mask = a.get("mask")
            target = a.get("field")
            if isinstance(target, str) and target:
                self.assign(target, f"{value}/{mask}" if mask else str(value))
            return
        if not action.known or (name not in _APPLIED and not name.startswith(("mod_", "set_vlan"))):
            return  # (resubmit, output, ct ...: nothing to apply)
        a = action.args
        if name in ("set_field", "write_metadata"):
            value = a.get("value", "")
            mask = a.get("mask")
            target = a.get("field")
            if isinstance(target, str) and target:
                self.assign(target, f"{value}/{mask}" if mask else str(value))
        elif name in ("set_tunnel", "set_tunnel64") or name.startswith("mod_") or name.startswith("set_vlan"):
            target = a.get("field")
            if isinstance(target, str) and target:
                self.assign(target, str(a.get("value", "")))
        elif name == "load":
            dst = a.get("dst")
            if not isinstance(dst, Subfield):
                return
            value = _parse_int(str(a.get("value", "")))
            lo, hi = self._range(dst)
            if hi is None:
                return
            if value is None:
                self.forget_bits(dst.field, lo, hi)
            else:
                self.write_bits(dst.field, lo, hi, value)
        elif name == "move":
            src, dst = a.get("src"), a.get("dst")
            if not isinstance(src, Subfield) or not isinstance(dst, Subfield):
                return
            slo, shi = self._range(src)
            dlo, dhi = self._range(dst)
            if dhi is None:
                return
            got = self.read_bits(src.field, slo, shi) if shi is not None and field_width(src.field) else None
            self.forget_bits(dst.field, dlo, dhi)
            if got is not None and got[1]:
                self.write_bits(dst.field, dlo, dhi, got[0], got[1])
        elif name == "push":
            f = a.get("field")
            if not isinstance(f, Subfield):
                return
            lo, hi = self._range(f)
            if hi is not None:
                self._stack.append(self.read_bits(f.field, lo, hi))
            else:
                self._stack.append(self._strs.get(f.field))
        elif name == "pop":
            f = a.get("field")
            if not isinstance(f, Subfield):
                return
            lo, hi = self._range(f)
            saved = self._stack.pop() if self._stack else None
            if hi is not None:
                self.forget_bits(f.field, lo, hi)
                if isinstance(saved, tuple) and saved[1]:
                    self.write_bits(f.field, lo, hi, saved[0], saved[1])
            elif isinstance(saved, str):
                self._strs[f.field] = saved
                self._touch(f.field)
            else:
                self._strs.pop(f.field, None)
                self._touch(f.field)
        elif name == "ct_clear":
            self.clear_conntrack()
        elif name == "dec_ttl" and "nw_ttl" in self._strs:
            ttl = _parse_int(self._strs["nw_ttl"])
            if ttl is not None and ttl > 0:
                self._strs["nw_ttl"] = str(ttl - 1)
                self._touch("nw_ttl")

    def forget_written(self, text: str) -> None:
        """An action line that could not be parsed (``set_field:0x1->reg0,…``, ``mod_dl_src``): the
        fields it may have written become unknown, so no stale value is shown after it."""
        for target in _written_fields(text):
            name = canonical(target.field)
            lo, hi = self._range(Subfield(name, target.start, target.end, target.raw))
            if hi is not None:
                self.forget_bits(name, lo, hi)
            elif name in self._strs:
                del self._strs[name]
                self._touch(name)

    def clear_conntrack(self) -> None:
        """OVS ``clear_conntrack``: after ``ct(...)`` and ``ct_clear`` the packet is untracked."""
        for name in ("ct_zone", "ct_mark", "ct_label"):
            self._ints[name] = (0, (1 << INT_WIDTHS[name]) - 1)
            self._touch(name)
        self._strs["ct_state"] = "0"
        self._touch("ct_state")

    def enter_patch_peer(self, in_port: str | None) -> None:
        """OVS ``patch_port_output``: the peer bridge sees cleared metadata, registers and tunnel."""
        for name in ("metadata", "tun_id", *(f"reg{i}" for i in range(16))):
            self._ints[name] = (0, (1 << INT_WIDTHS[name]) - 1)
            self._touch(name)
        for name in [n for n in self._ints if n.startswith("tun_metadata") or n.startswith("reg")]:
            if name.startswith("tun_metadata") or int(name[3:]) >= 16:
                del self._ints[name]
                self._touch(name)
        for name in ("tun_src", "tun_dst", "tun_flags"):
            self._strs.pop(name, None)
        self.clear_conntrack()
        if in_port is not None:
            self._strs["in_port"] = in_port
        else:
            self._strs.pop("in_port", None)
        self._touch("in_port")

    def apply_detail(self, text: str) -> None:
        """``NXM_NX_REG14[0..14] is now 0x1`` (after move/pop/multipath/bundle_load)."""
        m = _IS_NOW_RE.match(text)
        if not m:
            return
        sf = parse_subfield(m.group(1))
        value = _parse_int(m.group(2))
        if sf is None or value is None:
            return
        lo, hi = self._range(sf)
        if hi is not None:
            self.write_bits(sf.field, lo, hi, value)

    def apply_match(self, match: str | None, parse: Any) -> None:
        """Exact-match fields of a table the packet matched were its values at that point."""
        if not match:
            return
        ints = self._ints
        for name, value, full in _match_plan(match, parse):
            if full:
                cur = ints.get(name)
                if cur is None or cur[1] != full:
                    self.assign(name, value)
            elif "in_port" not in self._strs:
                self.assign(name, value)

    @staticmethod
    def _range(sf: Subfield) -> tuple[int, int | None]:
        """Bits ``start..end`` of a subfield; ``end`` is None when they are not bits of a known
        integer field (or the range is reversed or past the field's width: a damaged line)."""
        width = field_width(sf.field)
        if sf.start is not None and sf.end is not None:
            if sf.start > sf.end or (width is not None and sf.end >= width) or sf.end >= TUN_METADATA_WIDTH:
                return 0, None
            return sf.start, sf.end
        return 0, (width - 1 if width else None)


@functools.lru_cache(maxsize=8192)
def _match_plan(match: str, parse: Any) -> tuple[tuple[str, str, int], ...]:
    """The exact-match fields :meth:`FieldState.apply_match` may assign, in order: (canonical name, value,
    full mask of an integer field; 0 for ``in_port``). A pure function of the match text and parser."""
    fields = parse(match)
    if not fields:
        return ()
    out = []
    for key, value in fields.items():
        name = canonical(key)
        if value == "" or "/" in value:
            continue
        if name in INT_WIDTHS:
            out.append((name, value, (1 << INT_WIDTHS[name]) - 1))
        elif name == "in_port":
            out.append((name, value, 0))
    return tuple(out)


# what a damaged action line may have written: "->DST" of set_field/load/move, "mod_dl_src" and kin
_ARROW_DST_RE = re.compile(r"->\s*([A-Za-z_][A-Za-z0-9_]*(?:\[[0-9]*(?:\.\.[0-9]+)?\])?)")
_MOD_NAME_RE = re.compile(r"^\s*(mod_[a-z_]+|set_vlan_vid|set_vlan_pcp|set_tunnel(?:64)?|write_metadata)\b")
_MOD_TARGET = {
    "mod_dl_src": "dl_src", "mod_dl_dst": "dl_dst", "mod_nw_src": "nw_src", "mod_nw_dst": "nw_dst",
    "mod_nw_tos": "nw_tos", "mod_nw_ecn": "nw_ecn", "mod_nw_ttl": "nw_ttl", "mod_tp_src": "tp_src",
    "mod_tp_dst": "tp_dst", "mod_vlan_vid": "dl_vlan", "mod_vlan_pcp": "dl_vlan_pcp", "set_vlan_vid": "dl_vlan",
    "set_vlan_pcp": "dl_vlan_pcp", "set_tunnel": "tun_id", "set_tunnel64": "tun_id", "write_metadata": "metadata",
}


def _written_fields(text: str) -> list[Subfield]:
    out = [sf for sf in (parse_subfield(m.group(1)) for m in _ARROW_DST_RE.finditer(text)) if sf is not None]
    m = _MOD_NAME_RE.match(text)
    if m and m.group(1) in _MOD_TARGET:
        name = _MOD_TARGET[m.group(1)]
        out.append(Subfield(name, None, None, name))
    return out


# the actions apply() changes the state for (besides mod_* and set_vlan*)
_APPLIED = frozenset({"set_field", "write_metadata", "set_tunnel", "set_tunnel64", "load", "move", "push", "pop",
                      "ct_clear", "dec_ttl"})
# common actions apply() changes nothing for (not in _APPLIED, no mod_/set_vlan prefix): not called for them
_UNAPPLIED = frozenset({"resubmit", "output", "drop", "ct", "nat", "clone", "group", "NORMAL", "controller",
                        "goto_table", "exit", "note", "learn", "multipath", "bundle", "check_pkt_larger"})
assert not _UNAPPLIED & _APPLIED and not any(n.startswith(("mod_", "set_vlan")) for n in _UNAPPLIED)
_dict_set = dict.__setitem__
_dict_pop = dict.pop
_VIEWS = [f"xreg{i}" for i in range(8)] + [f"xxreg{i}" for i in range(4)]
_VIEWS_SET = frozenset(_VIEWS)


@functools.lru_cache(maxsize=4096)
def _view_parts(name: str, start: int, end: int) -> tuple[tuple[str, int, int, int], ...]:
    """Split bits start..end of an xreg/xxreg view into (register, lo, hi, shift) parts.

    OVS include/openvswitch/meta-flow.h: ``xregN`` is reg(2N) in its upper 32 bits and reg(2N+1) in
    the lower; ``xxregN`` is reg(4N) (bits 96..127) down to reg(4N+3) (bits 0..31). ``shift`` is the
    view bit of the register's bit 0.
    """
    digits = name[5:] if name.startswith("xxreg") else name[4:]
    if not (digits.isdecimal() and digits.isascii()):
        return ()
    n, count = (int(digits), 4) if name.startswith("xxreg") else (int(digits), 2)
    parts = []
    for j in range(count):
        reg = f"reg{n * count + j}"
        shift = 32 * (count - 1 - j)
        lo = max(start, shift)
        hi = min(end, shift + 31)
        if lo <= hi:
            parts.append((reg, lo - shift, hi - shift, shift))
    return tuple(parts)


_TABLE, _ACTION, _UNPARSED, _DETAIL, _BRIDGE = (
    StepKind.TABLE, StepKind.ACTION, StepKind.UNPARSED, StepKind.DETAIL, StepKind.BRIDGE)
# how a scope of the replay ends
_PLAIN, _RESTORE, _CLONE, _CT = 0, 1, 2, 3  # nothing; restore the saved state; _RESTORE once entered; untrack


def replay(root: Node, initial: FieldState, parse_match: Any) -> None:
    """Set ``node.state`` on every table node under ``root``: the state at entry.

    Iterative (traces nest hundreds deep): a stack of scopes, each a list of sibling nodes being
    visited in order. Scopes whose effects OVS undoes get their state restored on exit:
    ``clone(...)`` and patch-port bridges; after ``ct(...)`` the packet is untracked.
    """
    state = initial
    # a scope: [nodes, next index, top level (bridges there are not patch peers), how it ends, saved state]
    stack: list[list[Any]] = [[root.children, 0, True, _PLAIN, None]]
    while stack:
        scope = stack[-1]
        kids, i, top, how, saved = scope
        if how == _CLONE:  # a clone's actions start: what they change is undone after them
            how, saved = _RESTORE, state.copy()
            scope[3], scope[4] = how, saved
        n = len(kids)
        while i < n:
            child = kids[i]
            i += 1
            kind = child.kind
            if kind is _BRIDGE and not top:
                # a patch port's peer bridge: it sees cleared metadata; the state comes back after it
                scope[1] = i
                peer = state.copy()
                peer.enter_patch_peer(_first_in_port(child, parse_match))
                stack.append([child.children, 0, False, _RESTORE, state.copy()])
                state = peer
                break
            if kind is _TABLE:
                state.apply_match(child.match, parse_match)
                child.state = state.snapshot()
            elif kind is _ACTION:
                action = child.action
                if action is not None and not child.spurious:
                    name = action.name
                    if action.known:
                        if name not in _UNAPPLIED:
                            state.apply(action)
                    elif name in STATE_ACTIONS or name == "unknown":
                        state.forget_written(child.text)
                    if name in ("clone", "ct"):
                        # the container's nested lines (and what they entered) are its scope
                        end = _scope_end(kids, i - 1, child.line)
                        scope[1] = end
                        stack.append([kids[i:end], 0, False, _CLONE if action.name == "clone" else _CT, None])
                        if child.children:
                            stack.append([child.children, 0, False, _PLAIN, None])
                        break
            elif kind is _UNPARSED:
                state.forget_written(child.text)
            elif kind is _DETAIL:
                state.apply_detail(child.text)
            if child.children:
                scope[1] = i
                stack.append([child.children, 0, False, _PLAIN, None])
                break
        else:
            stack.pop()
            if how == _RESTORE:
                state = saved
            elif how == _CT:
                state.clear_conntrack()


def _scope_end(kids: list[Node], index: int, line: int) -> int:
    """Index after the last sibling that belongs to the container at ``index`` (its nested lines
    and whatever those produced: tables entered by a nested ``resubmit``, details)."""
    end = index + 1
    j = index + 1
    while j < len(kids):
        k = kids[j]
        if k.kind is StepKind.ACTION and k.nested_in != line:
            break
        end = j + 1
        j += 1
    return end


def _first_in_port(bridge: Node, parse_match: Any) -> str | None:
    for child in bridge.children:
        if child.kind is StepKind.TABLE:
            fields = parse_match(child.match) if child.match else None
            value = fields.get("in_port") if fields else None
            return value if value else None
    return None
