"""Pasted ``show`` outputs -> cluster facts. Pure: text in, model out.

``ovs-vsctl show``, ``ovs-ofctl show BRIDGE``, ``ovs-appctl dpif/show`` (a node's ports), ``ovn-nbctl show``
(NB switches, routers, ports, NAT) and ``ovn-sbctl show`` (chassis, encaps) as people paste them: with shell
prompts (``[root@kube-node1 ~]# ovs-vsctl show``, ``# ovn-nbctl show``, ``$ sudo ...``), CRLF line ends,
``> `` quoting, Markdown fences, extra indentation, ``...`` elisions, fragments (a few ``Port`` lines, a
few ``N(name): addr:`` lines), several outputs in one text (a whole walkthrough). Each line is parsed by
``grammars/show.lark`` (one start rule per output); nesting comes from indentation.

Facts kept from each output:

* vsctl: bridges, ports, interfaces with ``type`` and ``options`` (``remote_ip`` of tunnels), ``ovs_version``;
* ofctl: ofport <-> interface name (names longer than 15 characters are cut by OpenFlow 1.0: matched by
  prefix when merged) and MAC; ``LOCAL`` is ofport 65534 and names the bridge;
* dpif: bridge, ofport, type and options of every port;
* nbctl: :class:`NbRow` rows (``Logical_Switch``/``Logical_Router`` with their UUIDs; ports and NAT with
  ``"_parent"`` = the UUID of the switch/router they are printed under; ports have no UUID in the output:
  their ``uuid`` is ``""``);
* sbctl: :class:`Chassis` with hostname and encaps (``uuid`` ``""``: the output shows none).

A line inside an output that fits none of that output's line shapes raises :class:`PasteError` with its
line number and what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from ovntrace.model.cluster import Chassis, ClusterContext, Encap, Interface, NbRow, NodeFacts
from ovntrace.sources.errors import PasteError

KINDS = ("vsctl", "ofctl", "dpif", "nbctl", "sbctl")
DESCRIPTIONS = {
    "vsctl": "ovs-vsctl show",
    "ofctl": "ovs-ofctl show",
    "dpif": "ovs-appctl dpif/show",
    "nbctl": "ovn-nbctl show",
    "sbctl": "ovn-sbctl show",
}
EXPECTED = {
    "vsctl": "an ovs-vsctl show line (a UUID, 'Bridge NAME', 'Port NAME', 'Interface NAME', 'key: value')",
    "ofctl": "an ovs-ofctl show line ('OFPT_... (xid=0x..):', ' N(name): addr:MAC', 'key: value')",
    "dpif": "an ovs-appctl dpif/show line ('system@ovs-system: hit:..', 'BRIDGE:', 'NAME OFPORT/DPPORT: (TYPE)')",
    "nbctl": "an ovn-nbctl show line ('switch UUID (NAME)', 'router UUID (NAME)', 'port NAME', 'nat UUID', "
             "'key: value')",
    "sbctl": "an ovn-sbctl show line ('Chassis NAME', 'hostname: ..', 'Encap TYPE', 'ip: ..', 'Port_Binding NAME')",
}
OFPP_LOCAL = 65534
OF10_NAME_MAX = 15

_GRAMMAR = Path(__file__).resolve().parent / "grammars" / "show.lark"
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_PROMPT = re.compile(
    r"^\s*(?:\[(?P<user>[^\]@\s]+)@(?P<host>[^\]\s]+)[^\]]*\]\s*[#$]|(?P<host2>[\w.-]+)[#$]|[#$%>])\s*"
    r"(?:sudo\s+(?:-\S+\s+)*)?(?P<cmd>\S.*)$")
_CMD_KIND = [
    (re.compile(r"\bovs-vsctl\b.*\bshow\b"), "vsctl"),
    (re.compile(r"\bovs-ofctl\b.*\bshow\b\s*(?P<bridge>\S+)?"), "ofctl"),
    (re.compile(r"\bovs-appctl\b.*\bdpif/show\b"), "dpif"),
    (re.compile(r"\bovn-nbctl\b.*\bshow\b"), "nbctl"),
    (re.compile(r"\bovn-sbctl\b.*\bshow\b"), "sbctl"),
]
_HEADS = [
    (re.compile(rf"^{_UUID}$"), "vsctl"),
    (re.compile(r'^Bridge\s+("[^"]+"|\S+)$'), "vsctl"),
    (re.compile(r"^OFP(T|ST)_[A-Z_]+.*\(xid=0x[0-9a-f]+\)"), "ofctl"),
    (re.compile(r"^(\d+|LOCAL)\([^()]+\): ?addr:[0-9a-fA-F:]{17}$"), "ofctl"),
    (re.compile(r"^[a-z]+@\S+: hit:\d+"), "dpif"),
    (re.compile(rf"^(switch|router) {_UUID}( \(.*\))?$"), "nbctl"),
    (re.compile(r'^Chassis\s+("[^"]*"|\S+)$'), "sbctl"),
]
_VS_PORT_HEAD = re.compile(r'^Port\s+("[^"]+"|\S+)$')
_VS_IFACE = re.compile(r'^Interface\s+("[^"]+"|\S+)$')
_FENCE = re.compile(r"^\s*(```|~~~)")


@cache
def _parser() -> Any:
    import lark

    return lark.Lark(_GRAMMAR.read_text(encoding="utf-8"), parser="lalr", start=list(KINDS))


# -- lines ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    no: int  # 1-based in the text given
    indent: int
    text: str  # without indentation, prefixes and line end


def _lines(text: str) -> list[Line]:
    raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    quoted = sum(1 for r in raw if r.startswith(">")) > len([r for r in raw if r.strip()]) // 2
    out = []
    for i, r in enumerate(raw, 1):
        if quoted and r.startswith(">"):
            r = r[2:] if r.startswith("> ") else r[1:]
        r = r.replace("\t", "        ").rstrip()
        stripped = r.lstrip(" ")
        out.append(Line(i, len(r) - len(stripped), stripped))
    return out


@dataclass
class Node:
    kind: str  # the grammar rule (vs_bridge, of_port, nb_kv ...)
    line: int
    indent: int
    args: list[Any]
    kv: dict[str, Any] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)


@dataclass
class Block:
    kind: str  # vsctl | ofctl | dpif | nbctl | sbctl
    first_line: int
    last_line: int
    roots: list[Node]
    host: str | None = None  # from the prompt before it ([root@kube-node1 ~]#)
    command: str | None = None
    bridge: str | None = None  # ovs-ofctl show BRIDGE


def _value(tree: Any) -> Any:
    """A parsed OVSDB value as a plain Python value (sets as lists, maps as dicts, strings unquoted)."""
    from lark import Token, Tree

    if isinstance(tree, Token):
        return str(tree)
    assert isinstance(tree, Tree)
    if tree.data == "string":
        s = str(tree.children[0])[1:-1]
        return re.sub(r"\\(.)", r"\1", s)
    if tree.data == "bare":
        return str(tree.children[0])
    if tree.data == "set":
        return [_value(c) for c in tree.children if c is not None]
    if tree.data == "map":
        return {_value(p.children[0]): _value(p.children[1]) for p in tree.children if p is not None}
    raise ValueError(tree.data)


def _parse_line(kind: str, line: Line) -> Node | None:
    """The line as a node, or None when it does not fit ``kind``."""
    import lark

    try:
        tree = _parser().parse(line.text, start=kind)
    except lark.exceptions.LarkError:
        return None
    args = [a for a in tree.children if a is not None]
    return Node(str(tree.data), line.no, line.indent, args)


def _head_kind(text: str) -> str | None:
    for rx, kind in _HEADS:
        if rx.match(text):
            return kind
    return None


def split_blocks(text: str, kind: str | None = None, what: str = "input") -> list[Block]:
    """Every show output in ``text``. With ``kind``, the text is that output (its first line may be a
    fragment) and any line that does not fit is an error."""
    lines = _lines(text)
    blocks: list[Block] = []
    host: str | None = None
    pending: tuple[str, str | None, str] | None = None  # kind, bridge, command from a prompt line
    i = 0
    n = len(lines)
    while i < n:
        ln = lines[i]
        if not ln.text or _FENCE.match(ln.text):
            i += 1
            continue
        m = _PROMPT.match(ln.text)
        if m and (_prompt_kind(m.group("cmd")) is not None or (kind is None and _looks_command(m.group("cmd")))):
            k2 = _prompt_kind(m.group("cmd"))
            # Only the prompt of the show command itself names the host its output comes from.
            host = (m.group("host") or m.group("host2")) if k2 is not None else None
            pending = (k2[0], k2[1], m.group("cmd")) if k2 is not None else None
            i += 1
            continue
        bkind = pending[0] if pending else kind or _head_kind(ln.text)
        if bkind is None and _VS_PORT_HEAD.match(ln.text) and i + 1 < n and _VS_IFACE.match(lines[i + 1].text):
            bkind = "vsctl"  # a fragment of ovs-vsctl show starting at a Port
        if bkind is None:
            i += 1
            continue
        block, i = _read_block(lines, i, bkind, strict=kind is not None, what=what)
        if block is None:
            i += 1
            pending = None
            continue
        block.host = host if pending else None
        host = None
        if pending:
            block.command = pending[2]
            block.bridge = pending[1]
        pending = None
        blocks.append(block)
    return blocks


def _looks_command(cmd: str) -> bool:
    return bool(re.match(r"(ovs|ovn)-[a-z]+\b", cmd))


def _prompt_kind(cmd: str) -> tuple[str, str | None] | None:
    for rx, kind in _CMD_KIND:
        m = rx.search(cmd)
        if m:
            bridge = m.groupdict().get("bridge")
            return kind, bridge
    return None


def _read_block(lines: list[Line], start: int, kind: str, strict: bool, what: str) -> tuple[Block | None, int]:
    roots: list[Node] = []
    stack: list[Node] = []
    base = lines[start].indent
    i = start
    last = start
    while i < len(lines):
        ln = lines[i]
        if not ln.text:
            if strict:
                i += 1
                continue
            break
        if _FENCE.match(ln.text) or (_PROMPT.match(ln.text) and _looks_command(_PROMPT.match(ln.text).group("cmd"))):  # type: ignore[union-attr]
            break
        node = _parse_line(kind, ln)
        if node is None:
            if strict or (ln.indent > base and i > start):
                raise PasteError(DESCRIPTIONS[kind] + f" ({what})", ln.no, EXPECTED[kind], ln.text)
            break
        last = i
        i += 1
        if node.kind == "elision":
            continue
        while stack and stack[-1].indent >= node.indent:
            stack.pop()
        if node.kind.endswith("_kv"):
            key = str(node.args[0])
            val = _value(node.args[1]) if len(node.args) > 1 else ""
            if stack:
                stack[-1].kv[key] = val
            else:
                roots.append(node)
                node.kv[key] = val
            continue
        if stack:
            stack[-1].children.append(node)
        else:
            roots.append(node)
        stack.append(node)
    if not roots:
        return None, i
    return Block(kind, lines[start].no, lines[last].no, roots), i


# -- facts ------------------------------------------------------------------------------------------


def _walk(nodes: Iterable[Node]) -> Iterable[Node]:
    for n in nodes:
        yield n
        yield from _walk(n.children)


def _name(node: Node) -> str:
    return str(_value(node.args[0]))


def _opts(v: Any) -> dict[str, str]:
    return {str(k): str(x) for k, x in v.items()} if isinstance(v, dict) else {}


def vsctl_facts(block: Block, node_name: str) -> NodeFacts:
    version = None
    bridge_of: dict[int, str] = {}  # id(interface node) -> its bridge, from the nesting
    for n in _walk(block.roots):
        version = n.kv.get("ovs_version", version)
        if n.kind == "vs_bridge":
            for p in n.children:
                for itf in p.children:
                    bridge_of[id(itf)] = _name(n)
    ifaces = [_vs_iface(n, bridge_of.get(id(n))) for n in _walk(block.roots) if n.kind == "vs_interface"]
    return NodeFacts(name=node_name, interfaces=tuple(ifaces), ovs_version=str(version) if version else None)


def _vs_iface(n: Node, bridge: str | None) -> Interface:
    options = _opts(n.kv.get("options"))
    ext = _opts(n.kv.get("external_ids"))
    ofport = n.kv.get("ofport")
    return Interface(name=_name(n), bridge=bridge, type=str(n.kv.get("type") or ""), options=options,
                     remote_ip=options.get("remote_ip"), iface_id=ext.get("iface-id"), external_ids=ext,
                     ofport=int(ofport) if isinstance(ofport, str) and ofport.isdigit() else None,
                     mac=str(n.kv["mac_in_use"]) if "mac_in_use" in n.kv else None)


def ofctl_facts(block: Block, node_name: str) -> NodeFacts:
    ports = [n for n in _walk(block.roots) if n.kind == "of_port"]
    bridge = block.bridge or next((str(p.args[1]) for p in ports if str(p.args[0]) == "LOCAL"), None)
    ifaces = []
    for p in ports:
        no = str(p.args[0])
        ofport = OFPP_LOCAL if no == "LOCAL" else int(no) if no.isdigit() else None
        ifaces.append(Interface(name=str(p.args[1]), bridge=bridge, ofport=ofport, mac=str(p.args[2]).lower()))
    return NodeFacts(name=node_name, interfaces=tuple(ifaces))


def dpif_facts(block: Block, node_name: str) -> NodeFacts:
    ifaces = []
    for b in block.roots:
        bridges = [b] if b.kind == "dp_bridge" else [c for c in b.children if c.kind == "dp_bridge"]
        for br in bridges:
            for p in br.children:
                if p.kind != "dp_port":
                    continue
                name, ofport, _odp, dptype = (str(a) for a in p.args[:4])
                options: dict[str, str] = {}
                if len(p.args) > 4:
                    for part in str(p.args[4]).split(","):
                        k, sep, v = part.strip().partition("=")
                        if sep:
                            options[k] = v
                itype = "" if dptype == "system" else "internal" if dptype.endswith("internal") else dptype
                ifaces.append(Interface(name=name, bridge=str(br.args[0]), ofport=int(ofport), type=itype,
                                        options=options, remote_ip=options.get("remote_ip")))
    return NodeFacts(name=node_name, interfaces=tuple(ifaces))


_NB_KEYS = {
    "router-port": ("options", "router-port"),
    "external ip": ("external_ip", None),
    "logical ip": ("logical_ip", None),
    "external mac": ("external_mac", None),
    "logical port": ("logical_port", None),
    "parent": ("parent_name", None),
}


def nbctl_rows(block: Block) -> list[NbRow]:
    rows: list[NbRow] = []
    for dp in block.roots:
        if dp.kind not in ("nb_dp", "nb_dp_noname"):
            continue
        is_switch = str(dp.args[0]) == "switch"
        uuid = str(dp.args[1]).lower()
        cols: dict[str, Any] = {"name": str(dp.args[2]) if dp.kind == "nb_dp" else ""}
        rows.append(NbRow(uuid, "Logical_Switch" if is_switch else "Logical_Router", cols))
        for child in dp.children:
            if child.kind == "nb_port":
                table = "Logical_Switch_Port" if is_switch else "Logical_Router_Port"
                pcols: dict[str, Any] = {"name": _name(child), "_parent": uuid}
                if len(child.args) > 1:
                    pcols["_aka"] = str(_value(child.args[1]))
                rows.append(NbRow("", table, _nb_columns(child.kv, pcols)))
            elif child.kind == "nb_nat":
                rows.append(NbRow(str(child.args[0]).lower(), "NAT", _nb_columns(child.kv, {"_parent": uuid})))
    return rows


def _nb_columns(kv: dict[str, Any], cols: dict[str, Any]) -> dict[str, Any]:
    for k, v in kv.items():
        col, sub = _NB_KEYS.get(k, (k.replace(" ", "_"), None))
        if sub:
            cols.setdefault(col, {})[sub] = v
        else:
            cols[col] = v
    return cols


def sbctl_chassis(block: Block) -> list[Chassis]:
    out = []
    for ch in block.roots:
        if ch.kind != "sb_chassis":
            continue
        encaps = tuple(
            Encap(_name(e), str(e.kv.get("ip") or ""), _opts(e.kv.get("options")))
            for e in ch.children if e.kind == "sb_encap")
        hostname = ch.kv.get("hostname")
        out.append(Chassis(uuid="", name=_name(ch), hostname=str(hostname) if hostname else None, encaps=encaps))
    return out


# -- the whole text ---------------------------------------------------------------------------------


def context_from_text(
    text: str, kind: str | None = None, node: str | None = None, what: str = "input"
) -> ClusterContext:
    """Every show output in ``text`` as cluster facts. ``node`` names the node the OVS outputs come from
    (else the host of the prompt before them, else ``what``)."""
    blocks = split_blocks(text, kind, what)
    if kind is not None and not blocks:
        first = next((ln for ln in _lines(text) if ln.text), None)
        raise PasteError(DESCRIPTIONS[kind] + f" ({what})", first.no if first else 1, EXPECTED[kind],
                         first.text if first else "")
    nodes: list[NodeFacts] = []
    rows: list[NbRow] = []
    chassis: list[Chassis] = []
    sources = []
    for b in blocks:
        name = node or b.host or what
        if b.kind == "vsctl":
            nodes.append(vsctl_facts(b, name))
        elif b.kind == "ofctl":
            nodes.append(ofctl_facts(b, name))
        elif b.kind == "dpif":
            nodes.append(dpif_facts(b, name))
        elif b.kind == "nbctl":
            rows += nbctl_rows(b)
        elif b.kind == "sbctl":
            chassis += sbctl_chassis(b)
        sources.append(f"{DESCRIPTIONS[b.kind]} from {what} (lines {b.first_line}-{b.last_line})")
    return ClusterContext(nb_rows=tuple(_dedupe_rows(rows)), chassis=tuple(chassis),
                          nodes=tuple(combine_nodes(nodes)), sources=tuple(sources))


def _dedupe_rows(rows: list[NbRow]) -> list[NbRow]:
    """A switch or router shown twice (two pastes of ``ovn-nbctl show``) is one row; ports likewise."""
    out: dict[tuple[str, str, str, str], NbRow] = {}
    for r in rows:
        key = (r.table, r.uuid, "" if r.uuid else str(r.columns.get("name")), str(r.columns.get("_parent", "")))
        old = out.get(key)
        out[key] = r if old is None else NbRow(r.uuid, r.table, {**old.columns, **r.columns})
    return list(out.values())


def combine_nodes(nodes: Iterable[NodeFacts]) -> list[NodeFacts]:
    """One :class:`NodeFacts` per node name: interfaces merged by name (an OpenFlow 1.0 name cut at 15
    characters matches the full name it starts), each field from the first source that knows it."""
    by_name: dict[str, NodeFacts] = {}
    for nf in nodes:
        old = by_name.get(nf.name)
        by_name[nf.name] = nf if old is None else _merge_node(old, nf)
    return list(by_name.values())


def _merge_node(a: NodeFacts, b: NodeFacts) -> NodeFacts:
    ifaces = list(a.interfaces)
    for itf in b.interfaces:
        idx = next((i for i, x in enumerate(ifaces) if _same_iface(x, itf)), None)
        if idx is None:
            ifaces.append(itf)
        else:
            ifaces[idx] = _merge_iface(ifaces[idx], itf)
    return replace(
        a, system_id=a.system_id or b.system_id, hostname=a.hostname or b.hostname, encap_ip=a.encap_ip or b.encap_ip,
        encap_type=a.encap_type or b.encap_type, ovn_remote=a.ovn_remote or b.ovn_remote, interfaces=tuple(ifaces),
        ct_zones={**b.ct_zones, **a.ct_zones}, ovs_version=a.ovs_version or b.ovs_version,
        external_ids={**b.external_ids, **a.external_ids})


def _same_iface(x: Interface, y: Interface) -> bool:
    if x.name == y.name:
        return x.bridge is None or y.bridge is None or x.bridge == y.bridge
    short, long_ = (x, y) if len(x.name) < len(y.name) else (y, x)
    return (len(short.name) == OF10_NAME_MAX and long_.name.startswith(short.name)
            and (x.bridge is None or y.bridge is None or x.bridge == y.bridge))


def _merge_iface(x: Interface, y: Interface) -> Interface:
    return Interface(
        name=x.name if len(x.name) >= len(y.name) else y.name, bridge=x.bridge or y.bridge,
        ofport=x.ofport if x.ofport is not None else y.ofport, type=x.type or y.type, iface_id=x.iface_id or y.iface_id,
        remote_ip=x.remote_ip or y.remote_ip, options={**y.options, **x.options},
        external_ids={**y.external_ids, **x.external_ids}, mac=x.mac or y.mac)


def looks_like_show(text: str) -> bool:
    try:
        return bool(split_blocks(text[:200_000]))
    except PasteError:
        return True  # a show output with a bad line: let the caller report that line
