"""The OVN verdict of one trace: what happened to the packet, in words, with the objects named.

Pure: no I/O. Takes the parsed trace, the per-step OVN meaning :mod:`ovntrace.correlate.annotate`
computed and the cluster index, and says why the packet was dropped, where it was delivered (to
which logical port and pod), into which tunnel to which chassis, where it came from, or what
ovn-controller was asked to do.

Every claim follows from OpenFlow evidence in the trace (the table a flow is in, what it writes,
the ports it outputs to) and the facts given; the datapath actions only add the datapath port
numbers. When the evidence does not decide, the words say so ("cause unknown", candidates).

Facts used (OVN 23.03.1 ``controller/physical.c``; the same since 20.09 unless said):

* the remote-output table (``OFTABLE_REMOTE_OUTPUT``) writes the tunnel key before ``output`` to
  a tunnel port: Geneve ``tun_id`` = datapath key and ``tun_metadata0`` = inport << 16 | outport;
  VXLAN ``tun_id`` = outport << 12 | datapath (decoded by :mod:`ovntrace.ovn.tunnel`);
* table 0 (``OFTABLE_PHY_TO_LOG``) of a tunnel ofport moves the key back into ``metadata``,
  ``reg14`` and ``reg15``; a packet whose ``in_port`` has no table-0 flow is dropped there;
* the local-output table (``OFTABLE_LOCAL_OUTPUT``) has a flow per local (and multicast) outport;
  its priority-0 flow drops what has neither a local nor a remote output flow;
* ``LOG_TO_PHY`` outputs to the OpenFlow port of the logical outport in ``reg15``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ovntrace.correlate.index import ClusterIndex
from ovntrace.correlate.walk import TraceWalk
from ovntrace.model.ovn import ActionOvn, OvnVerdict, StepOvn
from ovntrace.model.trace import Pass, Step, StepKind, Trace, VerdictKind
from ovntrace.ovn import tunnel as ovn_tunnel

if TYPE_CHECKING:
    from ovntrace.model.cluster import Chassis, Datapath, Interface, NbRow, PortBinding

TUNNEL_TYPES = ("geneve", "vxlan", "stt")
_Drop = Callable[..., OvnVerdict]
# set_field:0x3->tun_metadata0, load:0x4->NXM_NX_TUN_ID[0..23]
_LOAD = re.compile(r"^(?:set_field|load):([^-\s>]+)->(\S+)$")
_IS_NOW = re.compile(r"^(?:->\s*)?(\S+?)(?:\[(\d+)\.\.(\d+)\])? is now (0x[0-9a-fA-F]+|\d+)")


def acl_words(acl: Mapping[str, Any]) -> str:
    name = acl.get("name")
    label = f"ACL {name}" if name else "an ACL"
    bits = [b for b in (acl.get("direction"), f"priority {acl['priority']}" if "priority" in acl else None) if b]
    return f"{label} ({', '.join(str(b) for b in bits)})" if bits else label


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.split("/")[0], 0)
    except ValueError:
        return None


def _full(value: str | None) -> int | None:
    """A fully known state value ("0x5"), not a partial one ("0x5/0xffff")."""
    return None if value is None or "/" in value else _int(value)


# -- the trace as a tree with owners: :class:`ovntrace.correlate.walk.TraceWalk` ------------------


def _details_after(table: Step, action: Step) -> list[str]:
    """The ``-> ...`` detail lines printed under (or right after) an action."""
    said = (StepKind.DETAIL, StepKind.WARNING, StepKind.ERROR)  # "-> ..." and ">> ..." lines
    out = [c.text for c in action.children if c.kind in said]
    kids = table.children
    for i, k in enumerate(kids):
        if k is action:
            for nxt in kids[i + 1:]:
                if nxt.kind not in said:
                    break
                out.append(nxt.text)
    return out


@lru_cache(maxsize=8192)
def _load_of(text: str) -> tuple[str, int] | None:
    """(field, value) an action text ``set_field:V->F`` / ``load:V->F`` writes, or None (pure; remembered: the
    same action texts recur table after table)."""
    m = _LOAD.match(text.strip())
    if m:
        v = _int(m.group(1))
        if v is not None:
            return m.group(2), v
    return None


def _writes(table: Step) -> dict[str, int]:
    """What a table's actions write: ``set_field:V->F`` and ``move`` results (``F is now V``)."""
    out: dict[str, int] = {}
    for c in table.children:
        load = _load_of(c.text) if c.kind is StepKind.ACTION else None
        if load is not None:
            out[load[0]] = load[1]
        for d in ([c] if c.kind is StepKind.DETAIL else [k for k in c.children if k.kind is StepKind.DETAIL]):
            m = _IS_NOW.match(d.text.strip())
            if m:
                out[m.group(1) + (f"[{m.group(2)}..{m.group(3)}]" if m.group(2) else "")] = int(m.group(4), 0)
    return out


def _field_written(w: Mapping[str, int], *names: str) -> int | None:
    for k, v in w.items():
        base = k.split("[")[0].lower()
        if base in names:
            return v
    return None


# -- facts lookups ---------------------------------------------------------------------------------


class VerdictFacts:
    """What the verdict reads of the cluster facts for one node: built once per :class:`Correlator`."""

    def __init__(self, ix: ClusterIndex, node: str | None) -> None:
        self.ix = ix
        self.node = node
        facts = ix.nodes_by_name.get(node) if node else (
            next(iter(ix.nodes_by_name.values())) if len(ix.nodes_by_name) == 1 else None)
        self.ifaces: tuple[Interface, ...] = facts.interfaces if facts is not None else ()
        self.lsp: dict[str, NbRow] = {}
        self.lb: list[NbRow] = []
        self.routers: dict[str, NbRow] = {}
        self.nb_uuid: dict[str, NbRow] = {}
        for r in ix.ctx.nb_rows if ix.ctx is not None else ():
            self.nb_uuid[r.uuid] = r
            if r.table == "Logical_Switch_Port" and r.name:
                self.lsp[r.name] = r
            elif r.table == "Load_Balancer":
                self.lb.append(r)
            elif r.table == "Logical_Router" and r.name:
                self.routers[r.name] = r

    def iface(self, port: str, bridge: str | None) -> Interface | None:
        """The interface an ``output:N`` / ``output:"name"`` / ``in_port=N`` names, on ``bridge``."""
        name = port.strip('"')
        num = int(name) if name.isdigit() else None
        same = [i for i in self.ifaces if bridge is None or i.bridge in (None, bridge)]
        for i in same:
            if (num is not None and i.ofport == num) or i.name == name:
                return i
        return None

    def chassis_of_iface(self, iface: Interface | None, remote_ip: str | None) -> list[Chassis]:
        """The chassis a tunnel port leads to: by ``ovn-chassis-id``, its remote_ip (Encap), or the
        chassis-name prefix OVN puts in the port name (``ovn-<6 chars>-N``): candidates when several."""
        ix = self.ix
        if iface is not None:
            cid = iface.external_ids.get("ovn-chassis-id", "").split("@")[0]
            if cid and cid in ix.chassis_by_name:
                return [ix.chassis_by_name[cid]]
        ip = remote_ip or (iface.remote_ip if iface is not None else None)
        if ip:
            found = [c for c in ix.chassis_by_name.values() if any(e.ip == ip for e in c.encaps)]
            if not found and ip in ix.chassis_by_ip:
                found = [ix.chassis_by_ip[ip]]
            if found:
                return found
        if iface is not None:
            m = re.match(r"ovn-([0-9a-zA-Z]{6})-\d+$", iface.name)
            if m:
                return [c for c in ix.chassis_by_name.values() if c.name.startswith(m.group(1))]
        return []

    def pod(self, lport: str | None, pb: PortBinding | None) -> str | None:
        """``namespace/name`` of an ovn-kubernetes pod port: from external_ids (``namespace``,
        ``pod=true``) of the LSP or Port_Binding; the ``namespace_name`` convention alone is not proof."""
        if not lport:
            return None
        for ext in ((self.lsp[lport].columns.get("external_ids") or {}) if lport in self.lsp else {},
                    pb.external_ids if pb is not None else {}):
            ns = ext.get("namespace") if isinstance(ext, Mapping) else None
            if ns and str(ext.get("pod", "")).lower() == "true" and lport.startswith(f"{ns}_"):
                return f"{ns}/{lport[len(ns) + 1:]}"
        return None


def _chassis_json(c: Chassis) -> dict[str, Any]:
    out: dict[str, Any] = {"name": c.name, "hostname": c.hostname}
    if c.encaps:
        out["encaps"] = [{"type": e.type, "ip": e.ip} for e in c.encaps]
    if c.remote:
        out["remote"] = True  # a chassis of another interconnect zone
    return out


def port_words(ix: ClusterIndex, pb: PortBinding) -> str:
    """A logical port by name; a ``type=remote`` port (interconnect) says so, with its chassis:
    ``tstor-kube-node1 (remote, chassis kube-node1)``."""
    if not pb.remote:
        return pb.logical_port
    ch = ix.chassis_by_uuid.get(pb.chassis or "")
    name = (ch.hostname or ch.name) if ch is not None else pb.options.get("requested-chassis")
    return f"{pb.logical_port} (remote" + (f", chassis {name})" if name else ")")


def datapath_words(dp: Datapath) -> str:
    """``transit switch transit_switch`` for an interconnect transit switch, else ``switch NAME``."""
    kind = "transit switch" if dp.transit else dp.type or "datapath"
    return f"{kind} {dp.name or dp.key}"


def _chassis_words(cands: Sequence[Chassis], ip: str | None, db: bool | None = True) -> str:
    at = f" ({ip})" if ip else ""
    if len(cands) == 1:
        c = cands[0]
        bits = ["remote"] if c.remote else []
        bits += [f"hostname {c.hostname}"] if c.hostname and c.hostname != c.name else []
        bits += [ip] if ip else []
        return f"chassis {c.name}" + (f" ({', '.join(bits)})" if bits else "")
    if cands:
        return "one of chassis " + ", ".join(c.name for c in cands) + at
    if ip:
        return f"{ip} (no chassis known with that encap IP)" if db else ip
    return "an unknown chassis"


# -- outputs ---------------------------------------------------------------------------------------


def _dp_sinks(p: Pass) -> list[dict[str, Any]]:
    """The datapath actions' outputs, in order: ``{"dp_port", "tunnel"?, "underlay"?}``; a native
    tunnel (``tnl_push(tnl_port(N),…),M``) is one sink at the tunnel port N, underlay port M."""
    out: list[dict[str, Any]] = []
    stack = list(reversed(p.datapath_actions_parsed or ()))
    pending: dict[str, Any] | None = None
    while stack:
        a = stack.pop()
        if a.inner:
            stack.extend(reversed(a.inner))
        if a.name == "tnl_push":
            m = re.search(r"tnl_port\((\d+)\)", a.text)
            pending = {"dp_port": m.group(1) if m else None, "native": True}
            out.append(pending)
        elif a.name == "output":
            port = str(a.args.get("port"))
            if pending is not None:
                pending["underlay_dp_port"] = port
                pending = None
            else:
                out.append({"dp_port": port})
        elif a.name == "set" and "tunnel" in a.args:
            pending = None
    return out


def _outputs(trace: Trace, tree: TraceWalk, steps: Mapping[int, StepOvn], facts: VerdictFacts,
             release: str | None) -> list[dict[str, Any]]:
    """Every output on the integration bridge, with what OVN means by it."""
    ix = facts.ix
    integration = trace.bridge or next((b for b in tree.bridge.values() if b), None)
    outs: list[dict[str, Any]] = []
    by_pass: dict[int, list[dict[str, Any]]] = {}
    for p, a in tree.outputs:
        if a.action is None or a.spurious:
            continue
        table = tree.owner[a.line]
        bridge = tree.bridge.get(table.line)
        if bridge not in (integration, None):
            continue
        port = "IN_PORT" if a.action.name == "IN_PORT" else str(a.action.args.get("port", "")).strip('"')
        if a.action.name == "IN_PORT":
            port = table.state.get("in_port", "IN_PORT")
        details = _details_after(table, a)
        iface = facts.iface(port, bridge)
        if iface is not None and iface.type == "patch":
            continue
        if any("to patch port" in d or ("patch" in d and "bridge" in d) for d in details):
            continue
        st = steps.get(table.line)
        w = _writes(table)
        o: dict[str, Any] = {"line": a.line, "openflow": f"output:{port}", "ofport": port}
        if iface is not None:
            o["ofport"] = str(iface.ofport) if iface.ofport is not None else port
            o["interface"] = iface.name
        tun_id = _field_written(w, "tun_id", "nxm_nx_tun_id")
        tun_md = _field_written(w, "tun_metadata0", "nxm_nx_tun_metadata0")
        native = any("native tunnel" in d for d in details)
        kernel = any("kernel tunnel" in d or "output to tunnel" in d for d in details)
        remote_table = st is not None and st.table_role in ("REMOTE_OUTPUT",)
        is_tunnel = (iface is not None and iface.type in TUNNEL_TYPES) or native or kernel or (
            remote_table and tun_id is not None)
        md = _full(table.state.get("metadata"))
        dp = ix.datapath(md) if md is not None else None
        r15 = _full(table.state.get("reg15"))
        r14 = _full(table.state.get("reg14"))
        if is_tunnel:
            o["kind"] = "tunnel"
            encap = (iface.type if iface is not None and iface.type in TUNNEL_TYPES else
                     "geneve" if tun_md is not None else None)
            remote_ip = iface.remote_ip if iface is not None else None
            tdst = trace.verdict.tunnel.get("dst") if trace.verdict.tunnel else None
            if remote_ip is None and native:
                m = next((re.search(r"tunneling to (\S+)", d) for d in details if "tunneling to" in d), None)
                remote_ip = m.group(1) if m else (str(tdst) if tdst else None)
            if remote_ip is None and tdst and len([x for x in outs if x.get("kind") == "tunnel"]) == 0:
                remote_ip = str(tdst)
            if encap is None and trace.verdict.tunnel.get("type") if trace.verdict.tunnel else False:
                encap = str(trace.verdict.tunnel.get("type"))
            key = _tunnel_key(encap, tun_id, tun_md, w, r14, release)
            o["encap"] = encap
            o["remote_ip"] = remote_ip
            cands = facts.chassis_of_iface(iface, remote_ip)
            if len(cands) == 1:
                o["chassis"] = _chassis_json(cands[0])
            elif cands:
                o["chassis_candidates"] = [_chassis_json(c) for c in cands]
            o["_chassis"] = cands
            o["_db"] = bool(ix.chassis_by_name)
            if key is not None:
                o["key"] = key
                kdp = ix.datapath(key["datapath"]) if key.get("datapath") is not None else dp
                if kdp is not None and key.get("outport") is not None:
                    pb = ix.port(kdp, key["outport"])
                    name = pb.logical_port if pb else None
                    if name is None and ovn_tunnel.is_multicast_key(key["outport"]):
                        name = ovn_tunnel.multicast_group_name(key["outport"], release)
                    if name:
                        o["logical_port"] = name
                    if pb is not None and pb.remote:
                        o["remote_port"] = True
                        o["_port_words"] = port_words(ix, pb)
                if kdp is not None:
                    o["datapath"] = kdp.name
                    if kdp.transit:
                        o["transit_switch"] = True
            elif dp is not None and r15 is not None:
                pb = ix.port(dp, r15)
                if pb is not None:
                    o["logical_port"] = pb.logical_port
        else:
            o["kind"] = "local"
            pb = ix.port(dp, r15) if dp is not None and r15 is not None else None
            lport = pb.logical_port if pb is not None else None
            if lport is None and st is not None and st.outport and not st.outport.startswith("_MC"):
                lport = st.outport
            if lport is None and iface is not None and iface.iface_id:
                lport = iface.iface_id
                pb = ix.pb_by_name.get(lport)
            if lport:
                o["logical_port"] = lport
                if iface is not None and iface.iface_id and iface.iface_id != lport:
                    o["iface_id"] = iface.iface_id  # the facts disagree with the flow: show both
                pod = facts.pod(lport, pb)
                if pod:
                    o["pod"] = pod
                if pb is not None and pb.type:
                    o["port_type"] = pb.type
            if dp is not None:
                o["datapath"] = dp.name
        anc = tree.nearest(table, "multicast reg15", _multicast_outport)
        mkey = _full(anc.state.get("reg15")) if anc is not None else None
        if anc is not None and mkey is not None:
            ast = steps.get(anc.line)
            o["multicast"] = (ast.outport if ast is not None and ast.outport else
                              ovn_tunnel.multicast_group_name(mkey, release) or f"multicast group {mkey}")
        if _field_now(tree, table, "arp_op") == "2":
            o["arp_reply"] = True
        by_pass.setdefault(id(p), []).append(o)
        outs.append(o)
    # datapath ports: the n-th output of a pass is the n-th datapath output of that pass, when the
    # counts agree (otherwise the pairing is not evidence and none is claimed)
    for p in trace.passes:
        mine = by_pass.get(id(p), [])
        sinks = _dp_sinks(p)
        if mine and len(sinks) == len(mine):
            for o, s in zip(mine, sinks, strict=True):
                o["dp_port"] = s.get("dp_port")
                if s.get("underlay_dp_port"):
                    o["underlay_dp_port"] = s["underlay_dp_port"]
    return outs


def _multicast_outport(table: Step) -> bool:
    """The logical outport (reg15) is fully known when the packet entered ``table`` and is a multicast
    group's key."""
    text = table.state.get("reg15")
    return text is not None and _multicast_text(text)


@lru_cache(maxsize=4096)
def _multicast_text(text: str) -> bool:
    mkey = _full(text)
    return mkey is not None and ovn_tunnel.is_multicast_key(mkey)


def _field_now(tree: TraceWalk, table: Step, name: str) -> str | None:
    """A field's value when the packet entered ``table`` (the nearest table that shows it)."""
    anc = tree.nearest(table, f"shows {name}", lambda t: name in t.state)
    return anc.state[name] if anc is not None else None


def _tunnel_key(encap: str | None, tun_id: int | None, tun_md: int | None, w: Mapping[str, int],
                r14: int | None, release: str | None) -> dict[str, Any] | None:
    if tun_id is None and tun_md is None:
        return None
    if encap == "vxlan" or (encap is None and tun_md is None and tun_id is not None and tun_id <= 0xFFFFFF):
        assert tun_id is not None
        m = ovn_tunnel.decode_vxlan(tun_id, release)
        return {"encap": m.encap if encap else "vxlan?", "tun_id": hex(tun_id), "datapath": m.datapath,
                "inport": None, "outport": m.outport}
    if encap == "stt":
        assert tun_id is not None
        m = ovn_tunnel.decode_stt(tun_id)
        return {"encap": "stt", "tun_id": hex(tun_id), "datapath": m.datapath, "inport": m.inport,
                "outport": m.outport}
    # Geneve: the option's inport bits are moved in from reg14 after the set_field
    moved = next((v for k, v in w.items() if k.lower().startswith("nxm_nx_tun_metadata0[16..30]")), None)
    opt = tun_md
    if opt is not None and moved is not None:
        opt = (opt & 0xFFFF) | (moved << 16)
    elif opt is not None and r14 is not None and not opt >> 16:
        opt = (opt & 0xFFFF) | (r14 << 16)
    g = ovn_tunnel.decode_geneve(tun_id, opt)
    return {"encap": "geneve", "tun_id": hex(tun_id) if tun_id is not None else None, "datapath": g.datapath,
            "inport": g.inport, "outport": g.outport}


def _output_words(o: Mapping[str, Any]) -> str:
    """Short: the interface and the datapath port are in ``outputs`` (JSON, the Details pane)."""
    if o.get("kind") == "tunnel":
        cands = o.get("_chassis") or []
        words = f"tunnelled to {_chassis_words(cands, o.get('remote_ip'), o.get('_db'))}"
        words += f" over {o['encap']}" if o.get("encap") else ""
        if o.get("transit_switch") and o.get("logical_port"):
            words += f": transit switch → {o.get('_port_words') or o['logical_port']}"
        elif o.get("logical_port"):
            words += f" for outport {o['logical_port']}"
        k = o.get("key")
        if k:
            bits = [f"dp {k['datapath']}"]
            if k.get("inport") is not None:
                bits.append(f"in {k['inport']}")
            if k.get("outport") is not None:
                bits.append(f"out {k['outport']}")
            words += f" (key {', '.join(bits)})"
        return words
    port = f"ofport {o.get('ofport')}"
    if o.get("pod"):
        return f"pod {o['pod']} (logical port {o['logical_port']}, {port})"
    if o.get("logical_port"):
        return f"logical port {o['logical_port']} ({port})"
    if o.get("interface"):
        return f"interface {o['interface']} ({port})"
    return f"OpenFlow port {o.get('ofport')}" + (f" (datapath port {o['dp_port']})" if o.get("dp_port") else "")


def _public(o: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in o.items() if not k.startswith("_") and v is not None}


# -- arrival ---------------------------------------------------------------------------------------


def _arrival(trace: Trace, tree: TraceWalk, facts: VerdictFacts) -> dict[str, Any] | None:
    """Table 0 matched on a tunnel ofport: from which chassis, with which key."""
    if not trace.passes:
        return None
    first = tree.pass_tables[0][0] if tree.pass_tables[0] else None
    if first is None or first.table != 0 or first.miss:
        return None
    m = re.search(r"in_port=([^,\s]+)", first.match or "")
    if not m:
        return None
    w = _writes(first)
    moved_tun = any("TUN_ID" in c.text.upper() or "TUN_METADATA" in c.text.upper()
                    for c in first.children if c.kind is StepKind.ACTION)
    iface = facts.iface(m.group(1), None)
    if not moved_tun and not (iface is not None and iface.type in TUNNEL_TYPES):
        return None
    fields = trace.passes[0].fields
    remote = (iface.remote_ip if iface is not None else None) or fields.get("tun_src")
    out: dict[str, Any] = {"ofport": m.group(1), "line": first.line}
    if iface is not None:
        out["interface"] = iface.name
        if iface.type:
            out["encap"] = iface.type
    out["remote_ip"] = remote
    cands = facts.chassis_of_iface(iface, remote)
    if len(cands) == 1:
        out["chassis"] = _chassis_json(cands[0])
    elif cands:
        out["chassis_candidates"] = [_chassis_json(c) for c in cands]
    # the key as OVN's own table-0 flow decodes it
    dp = _field_written(w, "oxm_of_metadata", "metadata")
    inport = _field_written(w, "nxm_nx_reg14", "reg14")
    outport = _field_written(w, "nxm_nx_reg15", "reg15")
    if "encap" not in out:
        texts = " ".join(c.text.upper() for c in first.children if c.kind is StepKind.ACTION)
        out["encap"] = "geneve" if "TUN_METADATA" in texts else "vxlan" if "TUN_ID[12..23]" in texts else None
    out["key"] = {"datapath": dp, "inport": inport, "outport": outport, "tun_id": fields.get("tun_id"),
                  "tun_metadata0": fields.get("tun_metadata0")}
    ix = facts.ix
    ldp = ix.datapath(dp) if dp is not None else None
    if ldp is not None:
        out["datapath"] = ldp.name
        if ldp.transit:
            out["transit_switch"] = True
        for k, v in (("inport_name", inport), ("outport_name", outport)):
            pb = ix.port(ldp, v) if v else None
            if pb is not None:
                out[k] = pb.logical_port
                if pb.remote:
                    out[f"_{k}_words"] = port_words(ix, pb)
    out["_chassis"] = cands
    out["_db"] = bool(ix.chassis_by_name)
    return out


def _arrival_words(a: Mapping[str, Any]) -> str:
    k = a.get("key") or {}
    bits = []
    if k.get("datapath") is not None:
        ts = "transit switch " if a.get("transit_switch") else ""
        bits.append(f"dp {k['datapath']}" + (f" {ts}{a['datapath']}" if a.get("datapath") else ""))
    for key, label, name in (("inport", "in", "inport_name"), ("outport", "out", "outport_name")):
        if k.get(key) is not None:
            shown = a.get(f"_{name}_words") or a.get(name)
            bits.append(f"{label} {k[key]}" + (f" {shown}" if shown else ""))
    return (f"arrived over {a.get('encap') or 'a tunnel'} from "
            f"{_chassis_words(a.get('_chassis') or [], a.get('remote_ip'), a.get('_db'))}"
            + (f" (key {', '.join(bits)})" if bits else ""))


# -- the verdict -----------------------------------------------------------------------------------


def make_verdict(trace: Trace, steps: Mapping[int, StepOvn], actions: Mapping[int, ActionOvn],
                 release: str | None, ix: ClusterIndex, node: str | None = None, *,
                 walk: TraceWalk | None = None, facts: VerdictFacts | None = None) -> OvnVerdict:
    """The OVN verdict of ``trace`` (``steps``/``actions`` keyed by step line, as in :class:`TraceOvn`).
    ``walk``: the trace's :class:`TraceWalk` when the caller has it; ``facts``: ``VerdictFacts(ix, node)``
    when the caller keeps one for several traces."""
    if facts is None:
        facts = VerdictFacts(ix, node)
    tree = walk if walk is not None else TraceWalk(trace)
    outs = _outputs(trace, tree, steps, facts, release)
    arrival = _arrival(trace, tree, facts)
    base = _base_verdict(trace, tree, steps, actions, release, facts, outs)
    extra: dict[str, Any] = {"outputs": tuple(_public(o) for o in outs)}
    cause = base.cause
    if arrival is not None:
        extra["arrival"] = _public(arrival)
        cause += "; " + _arrival_words(arrival)
    return OvnVerdict(base.kind, cause, base.line, acl=base.acl, chassis=base.chassis, outport=base.outport,
                      reason=base.reason, drop=base.drop, lb=base.lb, arp=base.arp, **extra)


def _base_verdict(trace: Trace, tree: TraceWalk, steps: Mapping[int, StepOvn], actions: Mapping[int, ActionOvn],
                  release: str | None, facts: VerdictFacts, outs: list[dict[str, Any]]) -> OvnVerdict:
    v = trace.verdict
    drops = [(line, a) for line, a in actions.items() if a.effect == "drop" and a.details.get("acl_log")]
    # an ACL whose log verdict is drop ends the packet in OpenFlow itself: evidence enough even when OVS's own
    # summary is damaged or cut (INCOMPLETE, shown beside it)
    if drops and v.kind in (VerdictKind.CONTROLLER, VerdictKind.DROP, VerdictKind.INCOMPLETE):
        line, a = drops[0]
        st = steps.get(tree.owner[line].line) if line in tree.owner else None
        acl = dict(st.nb) if st is not None and st.nb and st.nb.get("table") == "ACL" else None
        log = a.details.get("acl_log") or {}
        if acl is None and log.get("name"):
            acl = {"name": log["name"]}
        where = f" on {st.datapath.label()}" if st is not None and st.datapath is not None else ""
        cause = f"dropped by {acl_words(acl) if acl else 'an ACL'}{where} (ACL log verdict {log.get('verdict')})"
        return OvnVerdict("drop", cause, line, acl=acl, reason="acl",
                          drop={"reason": "acl", "stage": st.stage if st else None, "table": _tab(tree, line)})
    lb = _lb(trace, tree, steps, facts)
    tunnels = [o for o in outs if o["kind"] == "tunnel"]
    locals_ = [o for o in outs if o["kind"] == "local"]
    ctrl = [(ln, a) for ln, a in actions.items() if a.effect is not None and not a.details.get("acl_log")]
    if outs and v.kind in (VerdictKind.OUTPUT, VerdictKind.TUNNEL, VerdictKind.CONTROLLER):
        words = [_output_words(o) for o in outs]
        first_t = tunnels[0] if tunnels else None
        chassis = None
        if first_t is not None:
            chassis = dict(first_t.get("chassis") or {})
            if first_t.get("remote_ip"):
                chassis["ip"] = first_t["remote_ip"]
            if first_t.get("key"):
                k = first_t["key"]
                chassis["metadata"] = {"datapath": k.get("datapath"), "inport": k.get("inport"),
                                       "outport": k.get("outport")}
            if first_t.get("chassis_candidates"):
                chassis["candidates"] = first_t["chassis_candidates"]
        kind = "tunnel" if tunnels and not locals_ else "output"
        if len(outs) == 1:
            o = outs[0]
            cause = words[0] if o["kind"] == "tunnel" else f"delivered to {words[0]}"
            if o.get("arp_reply"):
                cause = "ARP reply " + cause
        else:
            groups: dict[str | None, list[str]] = {}
            for o, w in zip(outs, words, strict=True):
                label = ("ARP reply to " if o.get("arp_reply") else "to ") + w if o["kind"] != "tunnel" else w
                groups.setdefault(o.get("multicast"), []).append(label)
            parts = []
            for mc, ws in groups.items():
                parts.append((f"flooded ({mc}) {len(ws)} port{'s' if len(ws) > 1 else ''}: " if mc else "")
                             + "; ".join(ws))
            cause = f"{len(outs)} outputs: " + " | ".join(parts)
        if ctrl:
            cause += "; and to ovn-controller: " + "; ".join(dict.fromkeys(a.words for _, a in ctrl))
        outport = next((o.get("logical_port") for o in outs if o.get("logical_port")), None)
        return OvnVerdict(kind, cause, outs[0]["line"], chassis=chassis or None, outport=outport,
                          reason="flood" if len(outs) > 1 else kind, lb=lb)
    if lb is not None and v.kind is VerdictKind.RECIRC:
        return OvnVerdict("recirc", _lb_words(lb), lb.get("line"), reason="lb", lb=lb)
    if v.kind is VerdictKind.TUNNEL:
        return _tunnel_verdict_from_actions(trace, release, facts.ix)
    if v.kind is VerdictKind.CONTROLLER and ctrl:
        return _controller_verdict(trace, tree, steps, ctrl, facts, release)
    if v.kind is VerdictKind.DROP:
        return _drop_verdict(trace, tree, steps, facts)
    if v.kind is VerdictKind.OUTPUT:
        return OvnVerdict("output", v.reason, v.line, reason="output")
    return OvnVerdict(v.kind.value, v.reason, v.line, lb=lb)


def _tab(tree: TraceWalk, line: int) -> int | None:
    t = tree.owner.get(line)
    return t.table if t is not None else None


def _tunnel_verdict_from_actions(trace: Trace, release: str | None, ix: ClusterIndex) -> OvnVerdict:
    """A tunnel the datapath actions show but no OpenFlow output explains (a trace cut short)."""
    v = trace.verdict
    t = v.tunnel
    dst = str(t.get("dst", "?"))
    ch = ix.chassis_by_ip.get(dst)
    chassis: dict[str, Any] = {"ip": dst, "name": ch.name, "hostname": ch.hostname} if ch else {"ip": dst}
    meta = None
    opts = t.get("geneve") or []
    opt = next((o for o in opts if str(o.get("class", "")).lower() in ("0x102", "0x0102")), None)
    if t.get("tun_id") is not None:
        try:
            if str(t.get("type", "geneve")) == "vxlan":
                meta = ovn_tunnel.decode_vxlan(t.get("tun_id"), release)  # type: ignore[arg-type]
            else:
                meta = ovn_tunnel.decode_geneve(t.get("tun_id"), opt.get("value") if opt else None)
        except ValueError:
            meta = None
    outport = None
    words = f"tunnelled to {_chassis_words([ch] if ch else [], dst)}"
    if meta is not None:
        dp = ix.datapath(meta.datapath) if meta.datapath is not None else None
        pb = ix.port(dp, meta.outport) if meta.outport is not None else None
        outport = pb.logical_port if pb else None
        if outport:
            words += f" for outport {outport}"
        parts = [f"dp {meta.datapath}"]
        if meta.inport is not None:
            parts.append(f"in {meta.inport}")
        if meta.outport is not None:
            parts.append(f"out {meta.outport}")
        words += f" (key {', '.join(parts)})"
        chassis["metadata"] = {"datapath": meta.datapath, "inport": meta.inport, "outport": meta.outport}
    return OvnVerdict("tunnel", words, v.line, chassis=chassis, outport=outport, reason="tunnel")


# -- controller: TTL, ARP, ICMP ... ----------------------------------------------------------------


def _controller_verdict(trace: Trace, tree: TraceWalk, steps: Mapping[int, StepOvn],
                        ctrl: list[tuple[int, ActionOvn]], facts: VerdictFacts, release: str | None) -> OvnVerdict:
    ln, a = ctrl[-1]
    table = tree.owner.get(ln)
    st = steps.get(table.line) if table is not None else None
    name = str(a.details.get("name", "")).upper()
    stage = st.stage if st is not None else None
    where = f" on {st.datapath.label()}" if st is not None and st.datapath is not None else ""
    ttl_match = table is not None and re.search(r"nw_ttl=([01])\b", table.match or "")
    lf_ttl = st is not None and st.lflow is not None and "ip.ttl" in st.lflow.match
    if name.startswith("ICMP") and (ttl_match or lf_ttl or (stage and "ip_input" in stage and ttl_match)):
        ttl = ttl_match.group(1) if ttl_match else "0 or 1"
        rport = st.inport if st is not None else None
        cause = (f"TTL expired (ttl {ttl}) in {stage or 'the router input stage'}{where}: "
                 "ovn-controller answers with ICMP time exceeded"
                 + (f" from router port {rport}" if rport else "") + "; the packet goes no further")
        return OvnVerdict("drop", cause, ln, reason="ttl_expired",
                          drop={"reason": "ttl_expired", "stage": stage, "table": table.table if table else None,
                                "router_port": rport})
    if name in ("ARP", "ND_NS") and table is not None:
        hop = _next_hop(table, name == "ND_NS")
        rport = st.outport if st is not None else None
        arp = {"next_hop": hop, "router_port": rport, "stage": stage, "request": "ARP" if name == "ARP" else "ND"}
        cause = (f"{'ARP' if name == 'ARP' else 'IPv6 neighbour'} resolution punted to ovn-controller{where}: "
                 f"no MAC known for next hop {hop or '? (not in reg0/xxreg0)'}"
                 + (f" on router port {rport}" if rport else "")
                 + "; ovn-controller sends the request and buffers the packet until the reply")
        return OvnVerdict("controller", cause, ln, reason="arp_request", arp=arp)
    return OvnVerdict("controller", f"sent to ovn-controller: {a.words}", ln, reason="controller")


def _next_hop(table: Step, v6: bool) -> str | None:
    import ipaddress  # imported where an address is read (3 places): not on every start-up (~1.5 ms)

    if v6:
        x = _full(table.state.get("xxreg0"))
        return str(ipaddress.IPv6Address(x)) if x is not None else None
    r0 = _full(table.state.get("reg0"))
    return str(ipaddress.IPv4Address(r0)) if r0 is not None and r0 <= 0xFFFFFFFF else None


# -- load balancers --------------------------------------------------------------------------------


def _lb(trace: Trace, tree: TraceWalk, steps: Mapping[int, StepOvn], facts: VerdictFacts) -> dict[str, Any] | None:
    for _p, a in tree.of_action("group"):
        if a.action is None:
            continue
        table = tree.owner[a.line]
        st = steps.get(table.line)
        lf = st.lflow if st is not None else None
        if lf is not None and "ct_lb" not in lf.actions:
            continue
        if lf is None and "nw_dst=" not in (table.match or ""):
            continue
        dst = re.search(r"nw_dst=([\d.]+)", table.match or "")
        port = re.search(r"tp_dst=(\d+)", table.match or "")
        vip = (dst.group(1) + (f":{port.group(1)}" if port else "")) if dst else None
        if vip is None and lf is not None:
            m = re.search(r"ip4\.dst == ([\d.]+)", lf.match)
            pm = re.search(r"(?:tcp|udp|sctp)\.dst == (\d+)", lf.match)
            vip = (m.group(1) + (f":{pm.group(1)}" if pm else "")) if m else None
        out: dict[str, Any] = {"vip": vip, "group": a.action.args.get("group"), "line": a.line,
                               "stage": st.stage if st is not None else None}
        backends = None
        if lf is not None:
            m = re.search(r"ct_lb(?:_mark)?\(backends=([^;)]*)", lf.actions)
            backends = [b.strip() for b in m.group(1).split(",")] if m else None
        rows = [r for r in facts.lb if vip and vip in (r.columns.get("vips") or {})]
        if st is not None and st.nb and st.nb.get("table") == "Load_Balancer":
            rows = [r for r in facts.lb if r.uuid == st.nb.get("uuid")] or rows
        if len(rows) == 1:
            out["name"] = rows[0].name
            if backends is None and vip:
                backends = [b.strip() for b in str(rows[0].columns["vips"][vip]).split(",")]
        elif rows:
            out["candidates"] = [r.name for r in rows]
        out["backends"] = backends
        out["note"] = ("ofproto/trace does not choose a select group's bucket: which backend gets the packet "
                       "is decided by the datapath hash; trace one backend's address to follow it")
        return out
    return None


def _lb_words(lb: Mapping[str, Any]) -> str:
    name = f"load balancer {lb['name']}" if lb.get("name") else (
        "one of load balancers " + ", ".join(lb["candidates"]) if lb.get("candidates") else "a load balancer")
    be = ", ".join(lb.get("backends") or []) or "? (backends not known)"
    return (f"{name}: VIP {lb.get('vip') or '?'} → backends {be}; group {lb.get('group')} picks one "
            "(ofproto/trace does not choose a select bucket)")


# -- drops -----------------------------------------------------------------------------------------


def _drop_verdict(trace: Trace, tree: TraceWalk, steps: Mapping[int, StepOvn], facts: VerdictFacts) -> OvnVerdict:
    v = trace.verdict
    tables = tree.pass_tables[-1]
    if not tables:
        return OvnVerdict("drop", v.reason, v.line, reason="unknown")
    # NORMAL that drops because the destination MAC was learned on the input port
    for p, a in tree.of_action("NORMAL"):
        if a.action is not None:
            table = tree.owner[a.line]
            if any("learned port is input port" in d for d in _details_after(table, a)):
                bridge = tree.bridge.get(table.line)
                inp = table.state.get("in_port") or (p.fields.get("in_port") if p.fields else None)
                iface = facts.iface(str(inp), bridge) if inp else None
                who = f"{iface.name} (ofport {inp})" if iface else f"ofport {inp}" if inp else "the input port"
                dst = table.state.get("dl_dst") or p.fields.get("dl_dst", "?")
                cause = (f"NORMAL on bridge {bridge or '?'} dropped it: the destination MAC {dst} was learned "
                         f"on the input port {who}")
                return OvnVerdict("drop", cause, a.line, reason="normal_learned_in_port",
                                  drop={"reason": "normal_learned_in_port", "bridge": bridge, "table": table.table})
    last = tables[-1]
    st = steps.get(last.line)
    where = f" on {st.datapath.label()}" if st is not None and st.datapath else ""
    stage = st.stage if st is not None else None
    cands = st.stage_candidates if st is not None else ()
    stage_words = stage or (" or ".join(cands) + " ?" if cands else None)
    info: dict[str, Any] = {"table": last.table, "stage": stage, "stage_candidates": list(cands) or None}

    def drop(reason: str, cause: str, **more: Any) -> OvnVerdict:
        return OvnVerdict("drop", cause, last.line, reason=reason, drop={**info, "reason": reason, **more})

    # table 0 found no flow for this in_port
    if last.table == 0 and len(tables) == 1 and (last.miss or last.priority == 0):
        found = re.search(r"in_port=([^,\s]+)", trace.passes[-1].flow or "")
        port = found.group(1) if found else last.state.get("in_port", "?")
        iface = facts.iface(port, None)
        if iface is not None:
            extra = (f": interface {iface.name}" + (f" (iface-id {iface.iface_id}, whose logical port is not "
                                                     "bound to this chassis)" if iface.iface_id else
                                                     ", not an OVN port"))
        elif facts.ifaces:
            extra = ": no interface has that ofport in this node's facts"
        else:
            extra = " (no node facts to name the port)"
        return drop("unknown_in_port", f"in_port {port} has no table-0 flow: not an OVN port on this node{extra}",
                    port=port)
    role = st.table_role if st is not None else None
    if st is not None and st.nb and st.nb.get("table") == "ACL":
        return drop("acl", f"dropped by {acl_words(st.nb)}{where}", acl=dict(st.nb))
    # a remote-output flow sent it into a tunnel, but OVS could not route the encapsulated packet
    for _p, a in tree.of_action("output"):
        if a.action is not None and a.line in tree.owner:
            det = _details_after(tree.owner[a.line], a)
            if any("tunnel routing failed" in d for d in det):
                port = str(a.action.args.get("port", "")).strip('"')
                iface = facts.iface(port, None)
                ip = iface.remote_ip if iface is not None else None
                to = _chassis_words(facts.chassis_of_iface(iface, ip), ip, bool(facts.ix.chassis_by_name))
                return drop("tunnel_routing_failed",
                            f"the remote-output flow sends it into the tunnel (output:{port}"
                            + (f", {iface.name}" if iface is not None else "") + f") to {to}"
                            + ", but OVS's native tunnel routing failed (no underlay route or neighbour for the "
                            "remote encap IP on this node): dropped", port=port, remote_ip=ip)
    # an outport with neither a local nor a remote output flow
    if role in ("LOCAL_OUTPUT", "REMOTE_OUTPUT", "CHECK_LOOPBACK") and "reg15" not in (last.match or ""):
        r15 = _full(last.state.get("reg15"))
        if not r15:
            arrival = _arrival(trace, tree, facts)
            came = (" the tunnel key it arrived with carries no outport (Geneve option tun_metadata0 missing or 0)"
                    if arrival is not None and not (arrival.get("key") or {}).get("outport") else "")
            return drop("no_outport", f"no logical outport is set (reg15 = {r15 if r15 is not None else '?'}) when "
                        f"it reaches table {last.table} ({role}): nothing to output to;{came or ' cause unknown'}")
        return _no_output_flow(last, st, facts, drop)
    if stage_words and "port_sec" in stage_words:
        return _port_security(last, st, facts, stage_words, where, drop)
    if stage and "ip_routing" in stage and st is not None and st.lflow is not None \
            and st.lflow.priority == 0 and "drop" in st.lflow.actions:
        return _no_route(last, st, facts, where, drop)
    if stage_words:
        cause = f"dropped in table {last.table} (stage {stage_words}){where}"
        if st is not None and st.lflow is not None:
            cause += f" by logical flow ({st.lflow.match}) → ({st.lflow.actions})"
            return drop("logical_flow", cause)
        return drop("unknown", cause + "; cause unknown")
    if last.miss:
        return drop("no_flow", f"no OpenFlow flow matched in table {last.table}"
                    + (f" ({role})" if role else "") + ": dropped; cause unknown")
    return drop("unknown", f"dropped in table {last.table}" + (f" ({role})" if role else "") + "; cause unknown")


def _no_output_flow(last: Step, st: StepOvn | None, facts: VerdictFacts, drop: _Drop) -> OvnVerdict:
    ix = facts.ix
    md, r15 = _full(last.state.get("metadata")), _full(last.state.get("reg15"))
    dp: Datapath | None = ix.datapath(md) if md is not None else None
    pb = ix.port(dp, r15) if dp is not None and r15 is not None else None
    name = pb.logical_port if pb else (st.outport if st is not None and st.outport else None)
    label = name or (f"key {r15}" if r15 is not None else "?")
    on = f" on {dp.name}" if dp is not None and dp.name else ""
    head = f"outport {label}{on} has no local or remote output flow on this chassis"
    if pb is None:
        return drop("no_output_flow", head + ("; no Port_Binding known for it: cause unknown" if not ix.empty
                                               else "; no database to say whether it is bound"), outport=name)
    if not pb.chassis:
        return drop("unbound_outport", head + f": Port_Binding {pb.logical_port} is bound to no chassis "
                    "(no VIF with its iface-id is up anywhere)", outport=name)
    ch = ix.chassis_by_uuid.get(pb.chassis)
    if ch is None:
        return drop("outport_chassis_gone", head + f": {pb.logical_port} is bound to chassis {pb.chassis}, "
                    "which is not in the Southbound Chassis table (gone)", outport=name)
    return drop("no_tunnel", head + f": {pb.logical_port} is bound to {_chassis_words([ch], None)} "
                "but this node has no tunnel flow to it", outport=name, chassis=_chassis_json(ch))


def _addresses(facts: VerdictFacts, lport: str | None) -> list[str]:
    if not lport:
        return []
    row = facts.lsp.get(lport)
    if row is not None:
        ps = row.columns.get("port_security") or []
        if ps:
            return [str(x) for x in (ps if isinstance(ps, list) else [ps])]
    pb = facts.ix.pb_by_name.get(lport)
    return list(pb.mac) if pb is not None else []


def _port_security(last: Step, st: StepOvn | None, facts: VerdictFacts, stage: str, where: str,
                   drop: _Drop) -> OvnVerdict:
    ingress = "_in_" in stage
    who = (st.inport if ingress else st.outport) if st is not None else None
    state = last.state
    mac = state.get("dl_src" if ingress else "dl_dst")
    ip4 = state.get("nw_src" if ingress else "nw_dst")
    ip6 = state.get("ipv6_src" if ingress else "ipv6_dst")
    allowed = _addresses(facts, who)
    got = [x for x in (mac, ip4 if ip4 and _is_ip(ip4) else None, ip6 if ip6 and _is_ip(ip6) else None) if x]
    label = f"port security of {who or 'the port'}{where}"
    if not allowed:
        what = ", ".join(got) or "?"
        return drop("port_security", f"dropped by {label} (packet {what}; the port's allowed addresses are not "
                    "known)", port=who)
    words = " ".join(allowed).lower().split()
    bad = [x for x in got if x.lower() not in words and not (_is_ip(x) and _in_any(x, words))]
    if ingress and ip6 and not any(":" in w and w.count(":") > 1 and _is_ip(w.split("/")[0]) for w in words):
        # no IPv6 address in the port's security list: only link-local (from the MAC) and ND are let in
        bad = bad or [ip6]
    if bad:
        return drop("port_security", f"dropped by {label}: {', '.join(bad)} is not in its addresses "
                    f"({'; '.join(allowed)})", port=who, not_allowed=bad, allowed=allowed)
    return drop("port_security", f"dropped in {stage}{where}, but the packet's {', '.join(got)} are in "
                f"{who}'s addresses ({'; '.join(allowed)}): cause unknown", port=who, allowed=allowed)


def _in_any(ip: str, words: Sequence[str]) -> bool:
    import ipaddress

    addr = ipaddress.ip_address(ip)
    for w in words:
        try:
            if "/" in w and addr in ipaddress.ip_network(w, strict=False):
                return True
        except ValueError:
            continue
    return False


def _no_route(last: Step, st: StepOvn, facts: VerdictFacts, where: str, drop: _Drop) -> OvnVerdict:
    dst = last.state.get("ipv6_dst") or last.state.get("nw_dst")
    router = st.datapath.name if st.datapath is not None else None
    row = facts.routers.get(router) if router else None
    routes = []
    if row is not None:
        for u in row.columns.get("static_routes") or []:
            r = facts.nb_uuid.get(str(u))
            if r is not None:
                c = r.columns
                routes.append(f"{c.get('ip_prefix')} via {c.get('nexthop')}"
                              + (f" (route table {c['route_table']})" if c.get("route_table") else ""))
    table = "its routes: " + ", ".join(routes) if routes else (
        "it has no static routes" if row is not None else "its routes are not known")
    return drop("no_route", f"no route to {dst or '?'} in {st.stage}{where}: {table}; dropped",
                router=router, routes=routes or None, destination=dst)


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
