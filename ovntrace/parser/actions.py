"""Action lines -> :class:`~ovntrace.model.actions.Action`, through ``grammars/actions.lark``.

The tree comes from :func:`ovntrace.parser.quick.action_tree` (the same tree, without lark) and from
the grammar itself for the texts that one leaves to it.

Real traces repeat the same action texts thousands of times (``set_field:0->reg0``, ``resubmit(,9)``),
so each distinct text is parsed once per process (a bounded memo).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from ovntrace.model.actions import Action, Subfield
from ovntrace.parser.fields import canonical, parse_subfield
from ovntrace.parser.loader import parse_or_none
from ovntrace.parser.quick import action_tree

# Names OVS's ofpacts_format prints (lib/ofp-actions.c, OVS 1.x-4.0). Anything else still parses
# generically and is kept with known=False.
KNOWN_ACTIONS = frozenset(
    (
        "output", "resubmit", "goto_table", "set_field", "load", "move", "push", "pop", "ct",
        "ct_clear", "clone", "controller", "group", "drop", "dec_ttl", "push_vlan", "pop_vlan",
        "strip_vlan", "push_mpls", "pop_mpls", "set_mpls_label", "set_mpls_tc", "set_mpls_ttl",
        "dec_mpls_ttl", "dec_nsh_ttl", "learn", "note", "conjunction", "check_pkt_larger", "set_tunnel",
        "set_tunnel64", "set_queue", "pop_queue", "enqueue", "meter", "write_metadata", "write_actions",
        "clear_actions", "exit", "sample", "multipath", "bundle", "bundle_load", "encap", "decap",
        "fin_timeout", "delete_field", "unroll_xlate", "debug_recirc", "debug_slow", "nat",
        "mod_dl_src", "mod_dl_dst", "mod_nw_src", "mod_nw_dst", "mod_nw_tos", "mod_nw_ecn",
        "mod_nw_ttl", "mod_tp_src", "mod_tp_dst", "mod_vlan_vid", "mod_vlan_pcp", "set_vlan_vid",
        "set_vlan_pcp", "set_field", "exec", "NORMAL", "FLOOD", "ALL", "LOCAL", "IN_PORT", "CONTROLLER",
        "TABLE", "NONE", "ANY", "output_trunc",
    )
)
RESERVED_PORTS = frozenset({"NORMAL", "FLOOD", "ALL", "LOCAL", "IN_PORT", "TABLE", "NONE", "ANY"})
_RESUBMIT_RE = re.compile(r"^resubmit\(\s*([^,()]*)\s*,\s*([^,()]*)\s*(?:,\s*(ct))?\s*\)$")


def _texts(root: Any, source: str) -> dict[int, str]:
    """The text of every subtree of ``root``: its slice of ``source`` (as printed: empty arguments
    such as ``resubmit(,8)``'s stay), else reassembled from its parts; once each, without recursion."""
    out: dict[int, str] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if not ready:
            meta = node.meta
            if not meta.empty:
                out[id(node)] = source[meta.start_pos : meta.end_pos]
                stack.extend((c, False) for c in node.children if not isinstance(c, str))
                continue
            stack.append((node, True))
            stack.extend((c, False) for c in node.children if not isinstance(c, str))
            continue
        out[id(node)] = _render(node, out)
    return out


def _render(node: Any, done: dict[int, str]) -> str:
    def t(c: Any) -> str:
        return done[id(c)] if not isinstance(c, str) else str(c)

    d, ch = node.data, node.children
    if d == "kv" and len(ch) == 2:
        return f"{t(ch[0])}={t(ch[1])}"
    if d == "word" and len(ch) == 1:
        return t(ch[0])
    if d == "call" and ch:
        return t(ch[0]) + "(" + ",".join(t(c) for c in ch[1:]) + ")"
    if d in ("set_field", "load", "move") and len(ch) == 3:
        return f"{t(ch[0])}{t(ch[1])}->{t(ch[2])}"
    if d == "check_pkt_larger" and len(ch) == 3:
        return f"{t(ch[0])}{t(ch[1])})->{t(ch[2])}"
    if d == "value":
        if len(ch) == 1:
            return t(ch[0])
        if ch and isinstance(ch[0], str):
            return t(ch[0]) + "(" + ",".join(t(c) for c in ch[1:]) + ")"
        return "(" + ",".join(t(c) for c in ch) + ")"
    return "".join(t(c) for c in ch)


def _sub(text: str) -> Subfield:
    sf = parse_subfield(text)
    return sf if sf is not None else Subfield(text, None, None, text)


def _split_mask(value: str) -> tuple[str, str | None]:
    if "/" in value and not value.startswith("["):
        v, m = value.split("/", 1)
        return v, m
    return value, None


def _from_tree(tree: Any, texts: dict[int, str], text: str | None = None) -> Action:
    d = tree.data
    ch = tree.children
    raw = text if text is not None else texts[id(tree)]

    def t(c: Any) -> str:
        return texts[id(c)] if not isinstance(c, str) else str(c)

    if d == "set_field":
        value, mask = _split_mask(t(ch[1]))
        return Action("set_field", raw, {"value": value, "mask": mask, "field": canonical(str(ch[2]))})
    if d == "load":
        return Action("load", raw, {"value": t(ch[1]), "dst": _sub(str(ch[2]))})
    if d == "move":
        return Action("move", raw, {"src": _sub(str(ch[1])), "dst": _sub(str(ch[2]))})
    if d == "check_pkt_larger":
        return Action("check_pkt_larger", raw, {"size": _int(str(ch[1])), "dst": _sub(str(ch[2]))})
    if d == "word":
        return _word(str(ch[0]), raw)
    if d == "call":
        return _call(str(ch[0]), ch[1:], raw, texts)
    return Action(d, raw, {"arg": raw}, known=False)


def _int(s: str) -> int | None:
    try:
        return int(s, 0)
    except ValueError:
        return None


def _word(word: str, raw: str) -> Action:
    name, sep, arg = word.partition(":")
    if not sep:
        if word in RESERVED_PORTS:
            return Action(word, raw, {"port": word, "reserved": True})
        if word == "CONTROLLER":
            return Action("controller", raw, {})
        return Action(word, raw, {}, known=word in KNOWN_ACTIONS)
    if name == "output":
        sf = parse_subfield(arg) if "[" in arg else None
        if sf is not None:
            return Action("output", raw, {"port_field": sf})
        return Action("output", raw, {"port": _unquote(arg)})
    if name == "resubmit":
        return Action("resubmit", raw, {"port": _unquote(arg), "table": None, "ct": False})
    if name == "goto_table":
        return Action("goto_table", raw, {"table": _int(arg)})
    if name == "group":
        return Action("group", raw, {"group": _int(arg)})
    if name in ("push", "pop"):
        return Action(name, raw, {"field": _sub(arg)})
    if name == "CONTROLLER":
        return Action("controller", raw, {"max_len": _int(arg)})
    if name == "enqueue":
        port, _, queue = arg.partition(":")
        return Action("enqueue", raw, {"port": _unquote(port), "queue": _int(queue)})
    if name in ("mod_dl_src", "mod_dl_dst", "mod_nw_src", "mod_nw_dst", "mod_nw_tos", "mod_nw_ecn",
                "mod_nw_ttl", "mod_tp_src", "mod_tp_dst", "mod_vlan_vid", "mod_vlan_pcp", "set_vlan_vid",
                "set_vlan_pcp"):
        return Action(name, raw, {"value": arg, "field": _MOD_FIELD[name]})
    if name in ("set_tunnel", "set_tunnel64"):
        return Action(name, raw, {"value": arg, "field": "tun_id"})
    if name == "write_metadata":
        value, mask = _split_mask(arg)
        return Action(name, raw, {"value": value, "mask": mask, "field": "metadata"})
    if name == "delete_field":
        return Action(name, raw, {"field": canonical(arg)})
    return Action(name, raw, {"arg": arg}, known=name in KNOWN_ACTIONS)


_MOD_FIELD = {
    "mod_dl_src": "dl_src",
    "mod_dl_dst": "dl_dst",
    "mod_nw_src": "nw_src",
    "mod_nw_dst": "nw_dst",
    "mod_nw_tos": "nw_tos",
    "mod_nw_ecn": "nw_ecn",
    "mod_nw_ttl": "nw_ttl",
    "mod_tp_src": "tp_src",
    "mod_tp_dst": "tp_dst",
    "mod_vlan_vid": "dl_vlan",
    "mod_vlan_pcp": "dl_vlan_pcp",
    "set_vlan_vid": "dl_vlan",
    "set_vlan_pcp": "dl_vlan_pcp",
}


def _unquote(s: str) -> str:
    if len(s) >= 2 and s[0] == '"' and s[-1] == '"':
        return s[1:-1].replace('\\"', '"')
    return s


def _call(name: str, items: list[Any], raw: str, texts: dict[int, str]) -> Action:
    kv: dict[str, Any] = {}
    flags: list[str] = []
    inner: list[Action] = []
    positional: list[str] = []
    for it in items:
        if not isinstance(it, str) and it.data == "kv":
            value = it.children[1]
            kv[str(it.children[0])] = str(value) if isinstance(value, str) else texts[id(value)]
        elif not isinstance(it, str) and it.data == "word":
            positional.append(str(it.children[0]))
            flags.append(str(it.children[0]))
        elif not isinstance(it, str):
            positional.append(texts[id(it)])
            if it.data == "call" and name in ("ct",):
                sub = _call(str(it.children[0]), it.children[1:], texts[id(it)], texts)
                if sub.name == "exec":
                    inner.extend(sub.inner)
                    kv["exec"] = [a.text for a in sub.inner]
                else:
                    inner.append(sub)
                    kv[sub.name] = dict(sub.args)
    if name in ("clone", "exec", "write_actions"):
        # every item is an action: words and kvs too (each built once: building them in the loop above
        # as well made nested clone(...) cost 2^depth)
        inner = [Action(str(it), str(it)) if isinstance(it, str) else _from_tree(it, texts) for it in items]
        args: dict[str, Any] = {"actions": [a.text for a in inner]}
        if name == "write_actions":
            return Action(name, raw, args, ())  # executed later under "--. Executing action set:"
        return Action(name, raw, args, tuple(inner))
    if name == "resubmit":
        m = _RESUBMIT_RE.match(raw)
        if m:
            port, table, ct = m.groups()
            return Action("resubmit", raw, {"port": _unquote(port) or None, "table": _int(table) if table
                                            else None, "ct": bool(ct)})
    if name == "ct":
        args = {
            "commit": "commit" in flags,
            "force": "force" in flags,
            "table": _int(kv["table"]) if "table" in kv else None,
            "zone": kv.get("zone"),
            "nat": kv.get("nat") if "nat" in kv else ({} if "nat" in flags else None),
            "exec": kv.get("exec", []),
            "alg": kv.get("alg"),
        }
        if "nat" in flags:
            inner.insert(0, Action("nat", "nat", {}))
        return Action("ct", raw, args, tuple(inner))
    if name == "nat":
        args = {"flags": flags, **kv}
        for key in ("src", "dst"):
            if key in flags:
                args["kind"] = key
            if key in kv:
                args["kind"] = key
                args["range"] = kv[key]
        return Action("nat", raw, args)
    if name == "controller":
        args = dict(kv)
        for f in flags:
            args[f] = True
        return Action("controller", raw, args)
    if name == "dec_ttl":
        return Action("dec_ttl", raw, {"ids": positional})
    if name == "conjunction" and len(positional) == 2:
        clause, _, n = positional[1].partition("/")
        return Action("conjunction", raw, {"id": _int(positional[0]), "clause": _int(clause),
                                            "n_clauses": _int(n)})
    if name == "output" and "port" in kv:
        return Action("output", raw, {"port": _unquote(kv["port"]), **{k: v for k, v in kv.items()
                                                                        if k != "port"}})
    args = dict(kv)
    if flags or positional:
        args["args"] = positional
    return Action(name, raw, args, known=name in KNOWN_ACTIONS)


# Deeper than this many parentheses, an action line is kept as text, not parsed (a warning says so).
# OVS itself refuses actions nested more than 100 deep (MAX_OFPACT_PARSE_DEPTH, lib/ofp-actions.c,
# OVS 2.8-3.5), and real OVN actions nest 3 or 4 deep; the cap also bounds the parser's recursion.
MAX_NESTING = 128

# the actions the state replay applies, and the arguments it needs from each
_OPERANDS: dict[str, tuple[str, ...]] = {
    "set_field": ("field", "value"), "write_metadata": ("value",), "load": ("dst", "value"),
    "move": ("src", "dst"), "push": ("field",), "pop": ("field",), "check_pkt_larger": ("dst",),
    "set_tunnel": ("value",), "set_tunnel64": ("value",),
    **{name: ("value",) for name in _MOD_FIELD},
}

STATE_ACTIONS = frozenset(_OPERANDS)


def nesting_depth(text: str) -> int:
    """How deep the parentheses of ``text`` nest (linear; unbalanced ones count as they come)."""
    if text.count("(") <= MAX_NESTING:
        return text.count("(")  # an upper bound, enough to know it is under the cap
    depth = deepest = 0
    for m in _PAREN_RE.finditer(text):
        depth = depth + 1 if m.group() == "(" else max(0, depth - 1)
        deepest = max(deepest, depth)
    return deepest


_PAREN_RE = re.compile(r"[()]")


def _too_deep(stripped: str) -> Action | None:
    depth = nesting_depth(stripped)
    if depth <= MAX_NESTING:
        return None
    name = re.match(r"[A-Za-z_][A-Za-z0-9_]*", stripped)
    return Action(name.group(0) if name else "unknown", stripped, {
        "arg": stripped,
        "error": f"nested {depth} parentheses deep (more than {MAX_NESTING}): kept as text, not parsed"},
        known=False)


def _checked(action: Action) -> Action:
    """An action the state replay would apply, printed without its operands (``mod_dl_src``,
    ``set_field:0x1``, ``load:0x1``, ``move:reg0``): kept as text with ``error`` saying what is missing."""
    need = _OPERANDS.get(action.name)
    if need is None:
        return action
    missing = [k for k in need if getattr(action.args.get(k), "field", action.args.get(k)) in (None, "")]
    if not missing:
        return action
    return Action(action.name, action.text, {
        "arg": action.text,
        "error": f"{action.name} without its operands ({', '.join(need)}): not the form OVS prints"},
        known=False)


@functools.lru_cache(maxsize=65536)
def parse_action(text: str) -> Action:
    """Parse one printed action. Never raises: unparseable text is kept as an unknown action.

    A known action missing the operands it needs, or nested too deep to parse, comes back with
    ``known=False`` and ``args["error"]`` saying why (the tree keeps that line as unparsed).
    """
    stripped = text.strip()
    deep = _too_deep(stripped)
    if deep is not None:
        return deep
    tree = action_tree(stripped) or parse_or_none("actions", stripped)
    if tree is None:
        name = re.match(r"[A-Za-z_][A-Za-z0-9_]*", stripped)
        return _checked(Action(name.group(0) if name else "unknown", stripped, {"arg": stripped}, known=False))
    items = tree.children
    if len(items) != 1:
        # "a,b" on one line is not something OVS prints; keep it whole
        return Action("unknown", stripped, {"arg": stripped}, known=False)
    first = items[0]
    if isinstance(first, str):
        return _checked(_word(str(first), stripped))
    return _checked(_from_tree(first, _texts(first, stripped), stripped))


def parse_action_list(text: str) -> tuple[Action, ...]:
    """``OpenFlow actions=a,b,c`` (old format) -> actions. Never raises."""
    stripped = text.strip()
    if stripped in ("", "drop"):
        return (Action("drop", "drop", {}),) if stripped == "drop" else ()
    deep = _too_deep(stripped)
    if deep is not None:
        return (deep,)
    tree = action_tree(stripped) or parse_or_none("actions", stripped)
    if tree is None:
        return (Action("unknown", stripped, {"arg": stripped}, known=False),)
    texts = _texts(tree, stripped)
    return tuple(_checked(_word(str(t), str(t)) if isinstance(t, str) else _from_tree(t, texts))
                 for t in tree.children)
