"""The parser's shortcuts (issue 18, fourth session) give what the plain way gives.

* lint: the dot-less table lines found in the text in place equal those of ``text.splitlines()``;
* preprocess: the prefix stripped by runs of lines equals the line-by-line way;
* state: ``assign`` from its remembered plan equals ``write_bits`` of the parsed value and mask, and a
  write of the value already there leaves the snapshot shared.
"""

from __future__ import annotations

import random

import pytest

from ovntrace.parser.lint import _NO_DOT, _dotless_tables
from ovntrace.parser.preprocess import _strip_each, _strip_prefix, split_lines
from ovntrace.parser.state import FieldState, _assignment
from tests.conftest import FIX

TRACES = sorted(FIX.rglob("*.txt"))


def _dotless_by_lines(text: str) -> list[tuple[int, tuple[str, ...]]]:
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        m = _NO_DOT.match(line) if "priority " in line else None
        if m:
            out.append((i, (m.group(0), m.group(1), m.group(2))))
    return out


def _dotless(text: str) -> list[tuple[int, tuple[str, ...]]]:
    return [(i, (m.group(0), m.group(1), m.group(2))) for i, m in _dotless_tables(text)]


def test_dotless_tables_equal_splitlines_on_random_texts() -> None:
    rnd = random.Random(1)
    pieces = ["priority ", "a", "\n", "\n\n", "priority 5\n", "\r", "\r\n", "\x0c", "\u2028", "\x85",
              "x priority y priority z", " ", "  1 ", "12 x", "1234 ", "\t", "\xa0", "\x1f", "5", " priority 7 "]
    hits = 0
    for _ in range(20000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randrange(14)))
        got = _dotless(text)
        assert got == _dotless_by_lines(text), repr(text)
        hits += bool(got)
    assert hits > 100  # the texts do have dot-less table lines


@pytest.mark.parametrize("path", TRACES[::5], ids=lambda p: str(p.relative_to(FIX)))
def test_dotless_tables_equal_splitlines_on_fixtures(path) -> None:  # type: ignore[no-untyped-def]
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    dotless = "\n".join(ln.replace(". ", " ", 1) for ln in text.split("\n"))  # every table line loses its dot
    for t in (text, dotless):
        assert _dotless(t) == _dotless_by_lines(t)


def test_strip_by_runs_equals_line_by_line() -> None:
    rnd = random.Random(5)
    prefixes = ["> ", "    ", "  ", "\t", "2024-01-02T03:04:05.678Z|00001|ofproto|INFO|", ""]
    odd = ["  Datapath actions: 1", 'bridge("br-int")', "        bridge(\"br-ex\")", "x Translation failed (y)",
           "   Flow: a", " Bridge: br0", "Rule: table=0 cookie=0"]
    n = 0
    for path in TRACES[::4]:
        lines = path.read_text(encoding="utf-8", errors="surrogateescape").split("\n")
        for _ in range(3):
            p = rnd.choice(prefixes)
            out = []
            for ln in lines:
                r = rnd.random()
                out.append(p + ln if r < 0.7 else ln if r < 0.8 else p.rstrip() if r < 0.85
                           else rnd.choice(prefixes) + ln if r < 0.9 else ln.lstrip() if r < 0.95 else rnd.choice(odd))
            text = "\n".join(out)
            raws = split_lines(text)
            assert _strip_prefix(raws, text) == _strip_each(raws), path
            n += 1
    pieces = ["Flow: ", 'bridge("', "\n", "  ", "> ", "Datapath actions:", "x", "Translation failed ", "Bridge: ",
              "Rule: table=", "\t"]
    for _ in range(20000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randrange(15)))
        raws = split_lines(text)
        assert _strip_prefix(raws, text) == _strip_each(raws), repr(text)
    assert n > 50


def _assign_by_write_bits(st: FieldState, name: str, text: str) -> None:
    """What ``assign`` did before its plans: through ``write_bits``."""
    name, width, value, mask = _assignment(name, text)
    if width is None:
        st._strs[name] = text
        st._touch(name)
    elif value is not None:
        st.write_bits(name, 0, width - 1, value, mask)


def test_assign_plan_equals_write_bits() -> None:
    rnd = random.Random(3)
    names = ["reg0", "reg1", "reg5", "reg15", "reg31", "reg33", "xreg0", "xreg4", "xreg15", "xxreg0", "xxreg1",
             "xxreg7", "xxreg9", "metadata", "ct_label", "tun_metadata3", "dl_src", "NXM_NX_REG3", "nw_ttl"]

    def value() -> str:
        w = rnd.choice([8, 16, 32, 64, 128, 200])
        t = hex(rnd.getrandbits(w)) if rnd.random() < 0.8 else str(rnd.getrandbits(w))
        if rnd.random() < 0.5:
            t += "/" + hex(rnd.getrandbits(w))
        return "zz" if rnd.random() < 0.05 else t

    for _ in range(2000):
        a = FieldState.from_flow({"in_port": "1", "reg0": "0x5"}, True)
        b = a.copy()
        a.snapshot()
        b.snapshot()
        if rnd.random() < 0.5:
            a._views.add("xreg0")
            b._views.add("xreg0")
        for _ in range(8):
            name, text = rnd.choice(names), value()
            a.assign(name, text)
            _assign_by_write_bits(b, name, text)
            assert (a._ints, list(a._ints), a._strs, a._views) == (b._ints, list(b._ints), b._strs, b._views)
            sa, sb = a.snapshot(), b.snapshot()
            assert sa == sb and list(sa) == list(sb)


def test_rewriting_a_value_keeps_the_snapshot() -> None:
    st = FieldState.from_flow({"in_port": "1", "reg0": "0x5", "dl_src": "00:00:00:00:00:01"}, True)
    first = st.snapshot()
    st.assign("reg0", "0x5")
    st.assign("NXM_NX_REG0", "0x5/0xff")
    st.assign("dl_src", "00:00:00:00:00:01")
    assert st.snapshot() is first
    st.assign("reg0", "0x6")
    after = st.snapshot()
    assert after is not first and after["reg0"] == "0x6" and first["reg0"] == "0x5"
