"""A reviewable text form of a parse, for golden files: one line per step, state as deltas.

Each table line shows what changed in the known state since the previous table in walk order
(``+field=value`` learned or changed, ``-field`` became unknown), so the whole state is checked while
the golden stays readable in a diff.
"""

from __future__ import annotations

from ovntrace.model import ParseResult, Step, StepKind


def outline(result: ParseResult) -> str:
    out: list[str] = []
    for w in result.warnings:
        out.append(f"warning L{w.line}: {w.message}")
    out.append(f"prose lines: {_ranges(result.prose_lines)}")
    for n, t in enumerate(result.traces, 1):
        out.append(f"trace {n} [{t.format.value}] lines {t.first_line}-{t.last_line} bridge={t.bridge}")
        v = t.verdict
        out.append(f"  verdict {v.kind.value} L{v.line} ports={list(v.ports)} {v.reason}"
                   + (f" tunnel={dict(v.tunnel)}" if v.tunnel else ""))
        prev: dict[str, str] = {}
        for i, p in enumerate(t.passes, 1):
            out.append(f"  pass {i} recirc={p.recirc_id} ct_state={p.ct_state} flow_line={p.flow_line} "
                       f"dp_line={p.datapath_actions_line} dp={p.datapath_actions!r}")
            if p.nat:
                out.append(f"    nat {dict(p.nat)}")
            stack: list[tuple[Step, int]] = [(s, 2) for s in reversed(p.steps)]
            while stack:
                s, d = stack.pop()
                out.append("  " * d + _step(s, prev))
                stack.extend((c, d + 1) for c in reversed(s.children))
            for note in p.notes:
                out.append(f"    note L{note.line} {note.kind.value}: {note.text}")
    return "\n".join(out) + "\n"


def _step(s: Step, prev: dict[str, str]) -> str:
    head = f"L{s.line} {s.kind.value}"
    if s.kind is StepKind.TABLE:
        state = dict(s.state)
        delta = [f"+{k}={v}" for k, v in state.items() if prev.get(k) != v]
        delta += [f"-{k}" for k in prev if k not in state]
        prev.clear()
        prev.update(state)
        extra = f" via=L{s.via}" if s.via else ""
        return (f"{head} {s.table} prio={s.priority} cookie={s.cookie} miss={s.miss}{extra} "
                f"match={s.match!r} | {' '.join(delta)}")
    if s.kind is StepKind.ACTION and s.action is not None:
        flags = (" SPURIOUS" if s.spurious else "") + (f" in=L{s.nested_in}" if s.nested_in else "")
        return f"{head} {s.action.name}{'' if s.action.known else '?'}{flags}: {s.text}"
    if s.kind is StepKind.BRIDGE:
        return f"{head} {s.bridge}"
    if s.kind is StepKind.STAGE:
        return (f"{head} {s.table} {s.pipeline}@{s.datapath} stage={s.stage} src={s.source} prio={s.priority} "
                f"uuid={s.uuid} miss={s.miss} match={s.match!r}")
    if s.kind in (StepKind.PIPELINE, StepKind.TRANSFORM):
        return f"{head} {s.pipeline}@{s.datapath} in={s.inport} out={s.outport} word={s.stage}: {s.text}"
    if s.kind is StepKind.OPENFLOW:
        return f"{head} table={s.table} prio={s.priority} cookie={s.cookie}"
    return f"{head}: {s.text}"


def _ranges(nums: tuple[int, ...]) -> str:
    if not nums:
        return "-"
    out = []
    start = prev = nums[0]
    for n in nums[1:]:
        if n == prev + 1:
            prev = n
            continue
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
        start = prev = n
    out.append(f"{start}" if start == prev else f"{start}-{prev}")
    return ",".join(out)
