"""Flows (``Flow:``, ``Final flow:``, ``Megaflow:``, matches) and ``Datapath actions:``, through
``grammars/kv.lark``: the tree comes from :func:`ovntrace.parser.quick.kv_tree`, a hand-written
parser of that grammar (the same trees, the same texts rejected: tests/parser/test_quick.py), so no
flow needs lark.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from ovntrace.model.odp import DatapathAction
from ovntrace.parser.quick import kv_tree

# datapath actions printed as a bare word (OVS lib/odp-util.c format_odp_action); any other bare word
# is an output port (a number, or a name with --names)
ODP_KEYWORDS = frozenset({
    "drop", "pop_vlan", "pop_eth", "pop_nsh", "pop_mpls", "ct", "ct_clear", "decap_nsh", "trunc",
    "lb_output", "psample", "dec_ttl", "pop_tunnel",
})


# Deeper than this many ()/{} levels, a flow or datapath-actions text is not parsed (kept as text, and
# the pass says so). OVS parses datapath actions at most 32 deep (MAX_ODP_NESTED, lib/odp-util.c,
# OVS 2.x-3.5); the cap also bounds the recursion below.
MAX_NESTING = 64
_BRACKET_RE = re.compile(r"[(){}]")


def nesting_depth(text: str) -> int:
    """How deep ``()``/``{}`` nest in ``text`` (linear; a cheap upper bound when it is shallow)."""
    opens = text.count("(") + text.count("{")
    if opens <= MAX_NESTING:
        return opens
    depth = deepest = 0
    for m in _BRACKET_RE.finditer(text):
        depth = depth + 1 if m.group() in "({" else max(0, depth - 1)
        deepest = max(deepest, depth)
    return deepest


def _text(node: Any) -> str:
    if isinstance(node, str):
        return str(node)
    d, ch = node.data, node.children
    if d == "kv":
        return f"{ch[0]}={_text(ch[1])}"
    if d in ("word", "atom"):
        return str(ch[0])
    if d == "call":
        return f"{ch[0]}(" + ",".join(_text(c) for c in ch[1:]) + ")"
    if d == "group":
        return "(" + ",".join(_text(c) for c in ch) + ")"
    if d == "braces":
        return "{" + ",".join(_text(c) for c in ch) + "}"
    return ",".join(_text(c) for c in ch)


@functools.lru_cache(maxsize=4096)
def parse_flow(text: str) -> dict[str, str] | None:
    """``ip,in_port=9,nw_ttl=32`` -> ``{"ip": "", "in_port": "9", "nw_ttl": "32"}`` (keywords map to "").

    Returns ``None`` when the text is not flow syntax. The dict keeps the printed order.
    """
    text = text.strip()
    if text in ("", "unchanged"):
        return {} if text == "" else None
    if nesting_depth(text) > MAX_NESTING:
        return None
    tree = kv_tree(text)
    if tree is None:
        return None
    out: dict[str, str] = {}
    for item in tree.children:
        if not isinstance(item, str) and item.data == "kv":
            out[str(item.children[0])] = _text(item.children[1])
        elif not isinstance(item, str) and item.data == "word":
            out[str(item.children[0])] = ""
        else:
            out[_text(item)] = ""
    return out


def _kv_dict(items: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    positional: list[str] = []
    for it in items:
        if not isinstance(it, str) and it.data == "kv":
            out[str(it.children[0])] = _text(it.children[1])
        elif not isinstance(it, str) and it.data == "call":
            out[str(it.children[0])] = ",".join(_text(c) for c in it.children[1:])
        else:
            positional.append(_text(it))
    if positional:
        out["_"] = positional
    return out


def _tunnel(call: Any) -> dict[str, Any]:
    """``tunnel(tun_id=0x4,dst=172.17.42.31,...,geneve({class=0x102,type=0x80,len=4,0x10003}),flags(df))``."""
    out: dict[str, Any] = {}
    for it in call.children[1:]:
        if not isinstance(it, str) and it.data == "kv":
            out[str(it.children[0])] = _text(it.children[1])
        elif not isinstance(it, str) and it.data == "call":
            name = str(it.children[0])
            if name in ("geneve", "vxlan"):
                opts = []
                for b in it.children[1:]:
                    if not isinstance(b, str) and b.data == "braces":
                        d = _kv_dict(b.children)
                        value = d.pop("_", [""])
                        opts.append({**d, "value": value[0] if value else ""})
                    else:
                        opts.append({"raw": _text(b)})
                out[name] = opts
            else:
                out[name] = ",".join(_text(c) for c in it.children[1:])
    return out


def _odp(item: Any) -> DatapathAction:
    text = _text(item)
    if not isinstance(item, str) and item.data == "word":
        word = str(item.children[0])
        if word == "drop":
            return DatapathAction("drop", text)
        if word in ODP_KEYWORDS:
            return DatapathAction(word, text)
        return DatapathAction("output", text, {"port": word.strip('"')})
    if not isinstance(item, str) and item.data == "call":
        name = str(item.children[0])
        rest = item.children[1:]
        if name == "set" and len(rest) == 1 and not isinstance(rest[0], str) and rest[0].data == "call":
            what = str(rest[0].children[0])
            if what == "tunnel":
                return DatapathAction("set", text, {"tunnel": _tunnel(rest[0])})
            return DatapathAction("set", text, {what: _kv_dict(rest[0].children[1:])})
        if name == "recirc":
            return DatapathAction("recirc", text, {"id": _text(rest[0]) if rest else ""})
        if name in ("clone", "sample", "check_pkt_len"):
            inner = tuple(_odp(c) for c in rest)
            return DatapathAction(name, text, {}, inner)
        if name == "userspace":
            return DatapathAction(name, text, _kv_dict(rest))
        if name == "ct":
            return DatapathAction(name, text, _kv_dict(rest))
        if name == "drop":
            return DatapathAction("drop", text, {"reason": _text(rest[0]) if rest else None})
        return DatapathAction(name, text, _kv_dict(rest))
    return DatapathAction("unknown", text, {"raw": text})


@functools.lru_cache(maxsize=4096)
def parse_datapath_actions(text: str) -> tuple[DatapathAction, ...] | None:
    """``set(tunnel(...)),set(eth(...)),2`` -> actions; ``None`` if it is not odp syntax."""
    text = text.strip()
    if not text:
        return ()
    if nesting_depth(text) > MAX_NESTING:
        return None
    tree = kv_tree(text)
    if tree is None:
        return None
    return tuple(_odp(c) for c in tree.children)
