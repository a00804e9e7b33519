"""Line-level mutations of real traces, for the fuzz suite (tests/fuzz) and its long run (bench/fuzz.py).

A mutation is a list of operations drawn from a seeded ``random.Random``, so any input is reproducible
from (fixture, seed) and the operations say what was done to the real trace. The result is a
*mutated* real trace, never presented as a real one.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

# lines that look like parts of a trace: where they land, they open, close or repeat sections
JUNK = [
    "", "...", "…", "[snip]", "<snip>", "```", "---", "## heading", "$ echo done", "see attached",
    "Datapath actions: drop", "Datapath actions: 1", "Final flow: unchanged", "Megaflow: recirc_id=0,eth,in_port=1",
    "Relevant fields: skb_priority=0", " 7. priority 0", "10. No match.", "    resubmit(,9)", "    output:2",
    "recirc(0x1) - resume conntrack with ct_state=new|trk", "=" * 79, "Replacing src/dst IP/ports to simulate NAT:",
    " Initial flow: nw_src=1.1.1.1", " Modified flow: nw_src=2.2.2.2", "Flow: in_port=1,ip", 'bridge("br-x")',
    "    mod_dl_src", "    set_field:0x1", "    set_tunnel", "    load:0x1", "    move:reg0",
    "    set_field:0x1->reg0,…",
    "    load:0x1->NXM_NX_REG0[5..2]", "     -> NXM_NX_REG0[0..99] is now 0x1", "    >> warning text",
    "    >>>> error text <<<<", "Trace reached the recirculation limit.",
    "Translation failed (Too many resubmits), packet is dropped.",
    "Action execution failed (Invalid argument)", ".", "    thaw", "        Resuming from table 12", "    bucket 0",
    "  * Logical flow: table=1, match=(1), actions=(next;)", "ovs-appctl ofproto/trace br-int in_port=1",
    "# ovn-trace", 'ingress(dp="ls1", inport="p1")', "Rule: table=0 cookie=0 priority=0", "OpenFlow actions=",
    "Bridge: br0", "\tResubmitted flow: unchanged", "No match",
]

Op = Callable[[list[str], random.Random], str]


def _i(ls: list[str], rng: random.Random) -> int:
    return rng.randrange(len(ls)) if ls else 0


def _truncate(ls: list[str], rng: random.Random) -> str:
    i = _i(ls, rng)
    del ls[max(1, i):]
    return f"truncate@{i}"


def _delete(ls: list[str], rng: random.Random) -> str:
    i = _i(ls, rng)
    if ls:
        del ls[i]
    return f"delete@{i}"


def _duplicate(ls: list[str], rng: random.Random) -> str:
    i = _i(ls, rng)
    if ls:
        ls.insert(i, ls[i])
    return f"dup@{i}"


def _swap(ls: list[str], rng: random.Random) -> str:
    i = _i(ls, rng)
    if i + 1 < len(ls):
        ls[i], ls[i + 1] = ls[i + 1], ls[i]
    return f"swap@{i}"


def _junk(ls: list[str], rng: random.Random) -> str:
    i = _i(ls, rng)
    j = rng.randrange(len(JUNK))
    ls.insert(i, JUNK[j])
    return f"junk{j}@{i}"


def _cut_line(ls: list[str], rng: random.Random) -> str:
    i = _i(ls, rng)
    if ls:
        ls[i] = ls[i][: rng.randint(0, len(ls[i]))]
    return f"cut@{i}"


def _random_chars(ls: list[str], rng: random.Random) -> str:
    i = _i(ls, rng)
    pool = "\x00\x01\x07\x08\x0b\x0c\x1b[2J\x1b]2;t\x07\x7f\x85\u2028\u2029\ufeff\ufffd\udcff()(,=->[]{}\"'\\é漢"
    junk = "".join(rng.choice(pool) for _ in range(rng.randint(1, 12)))
    if ls:
        at = rng.randint(0, len(ls[i]))
        ls[i] = ls[i][:at] + junk + ls[i][at:]
    return f"chars@{i}"


def _random_bytes(ls: list[str], rng: random.Random) -> str:
    i = _i(ls, rng)
    raw = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
    ls.insert(i, raw.decode("utf-8", errors="replace").replace("\n", " "))  # as the CLI reads a file
    return f"bytes@{i}"


def _invalid_utf8(ls: list[str], rng: random.Random) -> str:
    i = _i(ls, rng)
    if ls:
        raw = ls[i].encode("utf-8", "surrogatepass")
        at = rng.randint(0, len(raw))
        bad = raw[:at] + rng.choice([b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]) + raw[at:]
        ls[i] = bad.decode("utf-8", errors="replace")
    return f"utf8@{i}"


def _nul(ls: list[str], rng: random.Random) -> str:
    i = _i(ls, rng)
    if ls:
        at = rng.randint(0, len(ls[i]))
        ls[i] = ls[i][:at] + "\x00" * rng.randint(1, 4) + ls[i][at:]
    return f"nul@{i}"


def _long_line(ls: list[str], rng: random.Random) -> str:
    i = _i(ls, rng)
    unit = rng.choice(["x", "set_field:0x1->reg0,", "a->", "(", "resubmit(,8)", "ct(commit,", ", priority 1"])
    body = unit * (rng.randint(20_000, 200_000) // len(unit))
    ls.insert(i, rng.choice(["    ", "", "Datapath actions: ", "Flow: ", " 5. "]) + body)
    return f"long@{i}"


def _crlf_tabs(ls: list[str], rng: random.Random) -> str:
    i = _i(ls, rng)
    for k in range(i, min(len(ls), i + rng.randint(1, 20))):
        r = rng.random()
        if r < 0.4:
            ls[k] += "\r"
        elif r < 0.6:
            ls[k] = ls[k].replace("    ", "\t", 1)
        elif r < 0.8 and ls[k]:
            at = rng.randint(0, len(ls[k]))
            ls[k] = ls[k][:at] + "\r" + ls[k][at:]
        else:
            ls[k] = "\t" + ls[k]
    return f"crlf@{i}"


def _deep(ls: list[str], rng: random.Random) -> str:
    i = _i(ls, rng)
    n = rng.choice([30, 129, 500, 5000, 20_000])
    kind = rng.randrange(4)
    if kind == 0:
        line = "    " + "clone(" * n + "drop" + ")" * n
    elif kind == 1:
        line = "Datapath actions: " + "clone(" * n + "1" + ")" * n
    elif kind == 2:
        line = "Flow: in_port=1," + "a=(" * n + ")" * n
    else:
        line = " " * (4 * min(n, 2000) + 4) + "resubmit(,1)"
    ls.insert(i, line)
    return f"deep{kind}x{n}@{i}"


def _indent(ls: list[str], rng: random.Random) -> str:
    i = _i(ls, rng)
    for k in range(i, min(len(ls), i + rng.randint(1, 30))):
        ls[k] = " " * rng.choice([0, 1, 2, 3, 5, 8, 64]) + ls[k].lstrip()
    return f"indent@{i}"


OPS: dict[str, Op] = {
    "truncate": _truncate, "delete": _delete, "duplicate": _duplicate, "swap": _swap, "junk": _junk,
    "cut": _cut_line, "chars": _random_chars, "bytes": _random_bytes, "utf8": _invalid_utf8, "nul": _nul,
    "long": _long_line, "crlf": _crlf_tabs, "deep": _deep, "indent": _indent,
}
# the expensive ones (big inputs) are drawn less often
WEIGHTS = {"long": 0.3, "deep": 0.5, "truncate": 0.5}


def mutate(text: str, seed: int, n_ops: int | None = None) -> tuple[str, list[str]]:
    """``text`` with 1-4 mutations drawn from ``seed``; returns (mutated text, operations done)."""
    rng = random.Random(seed)
    ls = text.split("\n")
    names = list(OPS)
    weights = [WEIGHTS.get(n, 1.0) for n in names]
    done = []
    for _ in range(n_ops if n_ops is not None else rng.randint(1, 4)):
        name = rng.choices(names, weights)[0]
        done.append(OPS[name](ls, rng))
    return "\n".join(ls), done


_LINE_NO = re.compile(r'"(?:\w+_)?line": (\d+)')


def nonblank_lines(text: str) -> list[int]:
    """1-based numbers of the lines that hold something (split on LF only, as the parser does; a
    line of whitespace and ``>`` quoting only is blank)."""
    return [i for i, ln in enumerate(text.split("\n"), 1) if ln.replace(">", " ").strip()]


def json_line_numbers(blob: str, prose: list[int]) -> set[int]:
    return {int(x) for x in _LINE_NO.findall(blob)} | set(prose)


_SHAPES = [
    ("final_flow", re.compile(r"\s*Final flow:")), ("megaflow", re.compile(r"\s*(Megaflow|Relevant fields):")),
    ("datapath_actions", re.compile(r"\s*Datapath actions:")),
    ("nat", re.compile(r"\s*(Replacing src|Initial flow|Modified flow)")),
    ("recirc", re.compile(r"\s*(recirc\(0x|={20,})")), ("rule", re.compile(r"\s*-{3,}\s*$")),
    ("flow", re.compile(r"\s*Flow:")),
]


def shape(line: str) -> str:
    """Which kind of line it is, for the failure classes (``final_flow``, ``nat``, ``other`` ...)."""
    return next((name for name, rx in _SHAPES if rx.match(line)), "other")


def _lost_msg(where: str, lost: list[int], lines: list[str]) -> list[str]:
    kinds: dict[str, list[int]] = {}
    for i in lost:
        kinds.setdefault(shape(lines[i - 1]), []).append(i)
    return [f"lost from {where}: {k} lines {v[:5]}" for k, v in kinds.items()]


def problems(text: str, *, renderers: bool = True) -> list[str]:
    """What is wrong with how ``text`` is parsed and shown: lines the model or the JSON lost.

    Exceptions are not caught: the caller classifies them.
    """
    import io
    import json
    import sys

    from ovntrace.parser import parse
    from ovntrace.render import json as json_render
    from ovntrace.render import markdown
    from ovntrace.render import text as text_render

    result = parse(text)
    out: list[str] = []
    want = nonblank_lines(text)
    if hasattr(result, "accounted_lines"):  # (bench/fuzz.py also runs against older trees)
        seen = result.accounted_lines()
        lost = [i for i in want if i not in seen]
        out += _lost_msg("the model", lost, text.split("\n"))
    blob = json_render.render(result)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))  # json.loads recurses once per level (as ovntrace's main allows)
    try:
        doc = json.loads(blob)
    finally:
        sys.setrecursionlimit(limit)
    in_json = json_line_numbers(blob, doc["prose_lines"])
    lost_json = [i for i in want if i not in in_json]
    out += _lost_msg("the JSON", lost_json, text.split("\n"))
    bad = [w.line for w in result.warnings if not 0 < w.line <= max(1, result.line_count)]
    if bad:
        out.append(f"warnings name lines outside the input: {bad[:5]}")
    if renderers:
        markdown.render(result)
        text_render.render(result, io.StringIO(), color=False, width=120)
    return out
