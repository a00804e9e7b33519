"""What happened to the packet, decided from what it did.

The datapath actions of every pass are the truth: a ``No match.``/``drop`` inside a nested table (a
failed lookup in a helper table, a clone that dropped its copy) does not drop the packet. A pass that
ends in ``recirc(0xN)`` continues in the section for ``recirc(0xN)`` when OVS followed it (conntrack,
2.8+); otherwise the trace stops there. Without datapath actions (a truncated paste) the trace tree
is used, and said so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ovntrace.model.odp import DatapathAction
from ovntrace.model.trace import Pass, Step, StepKind, Verdict, VerdictKind

_TNL_IPV4 = re.compile(r"ipv4\(src=([^,()]+),dst=([^,()]+)")
_TNL_VNI = re.compile(r"vni=(0x[0-9a-fA-F]+)")
_TNL_OPT = re.compile(r"\{class=(0x[0-9a-fA-F]+),type=(0x[0-9a-fA-F]+)(?:\([^)]*\))?,len=(\d+),(0x[0-9a-fA-F]+)\}")
_TNL_KIND = re.compile(r"header\(size=\d+,type=\d+,.*?,(geneve|vxlan|gre|stt)\(")
_OUT_PORT = re.compile(r"out_port\(([^)]+)\)")


def _flatten(actions: tuple[DatapathAction, ...]) -> list[DatapathAction]:
    out: list[DatapathAction] = []
    stack = list(reversed(actions))
    while stack:
        a = stack.pop()
        out.append(a)
        if a.inner:
            stack.extend(reversed(a.inner))
    return out


def _native_tunnel(a: DatapathAction) -> dict[str, Any]:
    """``tnl_push(tnl_port(6081),header(...ipv4(src=..,dst=..)...geneve(vni=0x1,options({...}))),out_port(1))``."""
    text = a.text
    info: dict[str, Any] = {"native": True}
    m = _TNL_IPV4.search(text)
    if m:
        info["src"], info["dst"] = m.group(1), m.group(2)
    m = _TNL_VNI.search(text)
    if m:
        info["tun_id"] = m.group(1)
    m = _TNL_KIND.search(text)
    if m:
        info["type"] = m.group(1)
    opts = [{"class": c, "type": t, "len": ln, "value": v} for c, t, ln, v in _TNL_OPT.findall(text)]
    if opts:
        info["geneve"] = opts
    m = _OUT_PORT.search(text)
    if m:
        info["tunnel_port"] = m.group(1)
    return info


def decide(passes: tuple[Pass, ...], complete: bool) -> Verdict:
    """The verdict of a whole trace (all passes). ``complete``: the input was not cut short."""
    followed = {p.recirc_id.lower() for p in passes if p.recirc_id}
    outputs: list[tuple[str, int | None]] = []
    tunnels: list[dict[str, Any]] = []
    controllers: list[int | None] = []
    unfollowed: list[tuple[str, int | None]] = []
    missing_dp = False
    unparsed_dp: list[int | None] = []
    errors: list[tuple[str, int | None]] = []
    for p in passes:
        if p.translation_error:
            errors.append((p.translation_error, p.datapath_actions_line))
        if p.datapath_actions_parsed is None:
            if p.datapath_actions is None:
                missing_dp = True
            else:
                unparsed_dp.append(p.datapath_actions_line)
            continue
        line = p.datapath_actions_line
        pending_tunnel: dict[str, Any] | None = None
        for a in _flatten(p.datapath_actions_parsed):
            if a.name == "set" and "tunnel" in a.args:
                pending_tunnel = dict(a.args["tunnel"])
            elif a.name == "tnl_push":
                # native tunnelling: the encapsulated packet leaves by the output that follows
                if pending_tunnel is not None and pending_tunnel.get("native"):
                    tunnels.append(pending_tunnel)
                pending_tunnel = _native_tunnel(a)
            elif a.name == "output":
                port = str(a.args.get("port"))
                if pending_tunnel is not None:
                    tunnels.append({**pending_tunnel, "port": port})
                    if pending_tunnel.get("native"):
                        pending_tunnel = None  # the header was pushed for this one output only
                outputs.append((port, line))
            elif a.name == "userspace":
                controllers.append(line)
            elif a.name == "recirc":
                rid = str(a.args.get("id", "")).lower()
                if rid not in followed:
                    unfollowed.append((rid, line))
        # OVN's controller(...,pause) may translate to no datapath action at all without a packet
        if not any(a.name == "userspace" for a in _flatten(p.datapath_actions_parsed)):
            line = _first_controller(p)
            if line is not None:
                controllers.append(line)
    last_line = passes[-1].datapath_actions_line if passes else None
    if tunnels:
        t = tunnels[0]
        dst = t.get("dst", "?")
        ports = tuple(dict.fromkeys(p for p, _ in outputs))
        return Verdict(VerdictKind.TUNNEL, _line_of(outputs, last_line),
                       f"tunnelled to {dst}" + (f" (tun_id {t['tun_id']})" if "tun_id" in t else "")
                       + (f", and output to {len(ports) - len(tunnels)} other port(s)"
                          if len(ports) > len(tunnels) else ""),
                       ports, t)
    if outputs:
        ports = tuple(dict.fromkeys(p for p, _ in outputs))
        return Verdict(VerdictKind.OUTPUT, _line_of(outputs, last_line),
                       f"output to datapath port{'s' if len(ports) > 1 else ''} {', '.join(ports)}", ports)
    if controllers:
        return Verdict(VerdictKind.CONTROLLER, controllers[0], "sent to the OpenFlow controller")
    if unfollowed:
        rid, line = unfollowed[0]
        return Verdict(VerdictKind.RECIRC, line,
                       f"recirculates as {rid}, which this trace does not follow", (), {"recirc_id": rid})
    if missing_dp or not passes:
        return _from_tree(passes, complete)
    if unparsed_dp:
        # never "dropped" from actions that could not be read
        return Verdict(VerdictKind.INCOMPLETE, unparsed_dp[0],
                       "the datapath actions could not be parsed: what happened to the packet is unknown")
    if errors:
        err, line = errors[0]
        return Verdict(VerdictKind.DROP, line, f"translation failed ({err}), packet is dropped")
    normal = _normal_drop(passes)
    if normal is not None:
        return Verdict(VerdictKind.DROP, normal[0], f"no output in the datapath actions: dropped ({normal[1]})")
    return Verdict(VerdictKind.DROP, last_line, "no output in the datapath actions: dropped")


def _first_controller(p: Pass) -> int | None:
    """The line of the first ``controller`` action of ``p`` (depth first), not an OVS artefact."""
    stack: list[Step] = list(reversed(p.steps))
    action_kind = StepKind.ACTION
    while stack:
        step = stack.pop()
        a = step.action
        if a is not None and a.name == "controller" and step.kind is action_kind and not step.spurious:
            return step.line
        if step.children:
            stack.extend(reversed(step.children))
    return None


def _normal_drop(passes: tuple[Pass, ...]) -> tuple[int, str] | None:
    """``NORMAL`` that printed why it dropped (``-> learned port is input port, dropping``)."""
    for p in passes:
        for step, kids, i in _with_siblings(p):
            a = step.action
            if step.kind is StepKind.ACTION and a is not None and a.name == "NORMAL" and not step.spurious:
                for d in (*step.children, *_details_after(kids, i)):
                    text = d.text.strip().removeprefix("->").strip()
                    if d.kind is StepKind.DETAIL and text.endswith("dropping"):
                        why = text.removesuffix(", dropping").removesuffix("dropping").strip(" ,")
                        words = ("NORMAL: the destination MAC was learned on the input port"
                                 if why == "learned port is input port" else f"NORMAL: {why}")
                        return step.line, words
    return None


def _details_after(kids: tuple[Step, ...], i: int) -> Iterator[Step]:
    """The detail lines OVS printed right after ``kids[i]`` (its sibling details, up to the next action)."""
    j = i + 1
    while j < len(kids) and kids[j].kind is StepKind.DETAIL:
        yield kids[j]
        j += 1


def _with_siblings(p: Pass) -> Iterator[tuple[Step, tuple[Step, ...], int]]:
    """Every step of ``p`` depth-first, with the list it is in and its index there (iterative)."""
    stack: list[tuple[tuple[Step, ...], int]] = [(p.steps, 0)]
    while stack:
        kids, i = stack.pop()
        if i >= len(kids):
            continue
        stack.append((kids, i + 1))
        yield kids[i], kids, i
        if kids[i].children:
            stack.append((kids[i].children, 0))


def _dropping_after(kids: tuple[Step, ...], i: int) -> bool:
    """A ``-> ... dropping`` detail OVS printed right after ``kids[i]`` (its sibling details)."""
    j = i + 1
    while j < len(kids) and kids[j].kind is StepKind.DETAIL:
        if "dropping" in kids[j].text:
            return True
        j += 1
    return False


def _line_of(items: list[tuple[str, int | None]], default: int | None) -> int | None:
    return items[0][1] if items else default


def _from_tree(passes: tuple[Pass, ...], complete: bool) -> Verdict:
    """No ``Datapath actions:`` line: say what the tree shows, never more."""
    ports: list[str] = []
    first_line: int | None = None
    tunnel = False
    controller_line: int | None = None
    for p in passes:
        # at the top of a pass, any later detail counts (a flat paste puts details anywhere)
        top_drop = [False] * (len(p.steps) + 1)
        for k in range(len(p.steps) - 1, -1, -1):
            nxt = p.steps[k + 1] if k + 1 < len(p.steps) else None
            top_drop[k] = top_drop[k + 1] or (nxt is not None and nxt.kind is StepKind.DETAIL
                                              and "dropping" in nxt.text)
        for step, kids, index in _with_siblings(p):
            if step.kind is StepKind.ACTION and step.action is not None and not step.spurious:
                a = step.action
                if a.name == "output" and "port" in a.args:
                    ports.append(str(a.args["port"]))
                    first_line = first_line or step.line
                    if any(c.kind is StepKind.DETAIL and "tunnel" in c.text for c in step.children):
                        tunnel = True
                elif a.name in ("NORMAL", "FLOOD", "ALL", "LOCAL", "IN_PORT"):
                    if (top_drop[index] if kids is p.steps else _dropping_after(kids, index)):
                        continue
                    ports.append(a.name)
                    first_line = first_line or step.line
                elif a.name == "controller" and controller_line is None:
                    controller_line = step.line
            elif step.kind is StepKind.DETAIL and step.text.startswith("output to ") and "tunnel" in step.text:
                tunnel = True
    last = max((s.line for p in passes for s in p.walk()), default=None)
    if ports:
        kind = VerdictKind.TUNNEL if tunnel else VerdictKind.OUTPUT
        return Verdict(kind, first_line,
                       f"the trace tree outputs to OpenFlow port(s) {', '.join(dict.fromkeys(ports))} "
                       "(no Datapath actions line: input cut short)", tuple(dict.fromkeys(ports)))
    if controller_line is not None:
        return Verdict(VerdictKind.CONTROLLER, controller_line,
                       "the trace tree sends the packet to the controller (no Datapath actions line)")
    return Verdict(VerdictKind.INCOMPLETE, last,
                   "the input ends before the Datapath actions line" if not complete or passes
                   else "no trace content")
