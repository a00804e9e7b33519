"""Property tests: real traces, mangled the way pastes mangle them, still parse without losing tables."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ovntrace.model import TraceFormat
from ovntrace.parser import parse
from tests.conftest import FIX

SOURCES = [
    FIX / "seed" / "kube-node2-pod-to-sshd2.txt",
    FIX / "seed" / "kube-node1-tunnel-in.txt",
    FIX / "ovn-24.03.9" / "trace2.txt",
    FIX / "ovs-3.5.0" / "t3.txt",
    FIX / "ovs-3.5.0" / "t8.txt",
    FIX / "lab" / "xnode-icmp-src.txt",
    FIX / "traces" / "045_antrea-antctl-trace-packet-yaml.txt",
    FIX / "traces" / "066_learning-sdn-zh-relevant-fields-modvlan.txt",
]
_TABLE = re.compile(r"^\s*(\d{1,3}|--)\. \S|^\s*Rule: ")
JUNK = [
    "", "...", "…", "[snip]", "hello from the bug reporter", "$ echo done", "---", "## heading",
    "I think the problem is here ^^^", "   ", "see attached", "```", "<snip>",
]


def _lines(p: Path) -> list[str]:
    return p.read_text(encoding="utf-8").split("\n")


@st.composite
def mangled(draw: st.DrawFn) -> tuple[str, dict[int, int], list[int]]:
    """(text, original line -> new line for table lines kept intact, original table lines)."""
    src = draw(st.sampled_from(SOURCES))
    lines = _lines(src)
    tables = [i for i, ln in enumerate(lines) if _TABLE.match(ln)]
    cut = draw(st.integers(min_value=1, max_value=len(lines)))
    prefix = draw(st.sampled_from(["", "    ", "> ", "\t", "  "]))
    crlf = draw(st.booleans())
    junk_at = draw(st.sets(st.integers(min_value=0, max_value=len(lines)), max_size=6))
    junk = [draw(st.one_of(st.sampled_from(JUNK), st.text(alphabet="abcdefg xyz.,:", max_size=30)))
            for _ in range(len(junk_at))]
    out: list[str] = []
    mapping: dict[int, int] = {}
    if draw(st.booleans()):
        out.append("[root@kube-node2 ~]# ovs-appctl ofproto/trace br-int in_port=9,ip")
    jq = dict(zip(sorted(junk_at), junk, strict=True))
    for i, ln in enumerate(lines[:cut]):
        if i in jq:
            out.append(jq[i])
        mapping[i] = len(out) + 1
        out.append(prefix + ln if ln else prefix.rstrip())
    nl = "\r\n" if crlf else "\n"
    kept = [i for i in tables if i < cut]
    return nl.join(out), {i: mapping[i] for i in kept}, kept


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled())
def test_mangled_pastes_keep_every_intact_table_line(case: tuple[str, dict[int, int], list[int]]) -> None:
    text, mapping, kept = case
    result = parse(text)  # must not raise
    found = {s.line for t in result.traces if t.format is not TraceFormat.OVN_TRACE for s in t.tables()}
    missing = [mapping[i] for i in kept if mapping[i] not in found]
    assert not missing, f"table lines lost at {missing[:5]}"
    # nothing lost: every non-blank line is in a trace's range or kept as prose
    covered = set(result.prose_lines)
    for t in result.traces:
        covered.update(range(t.first_line, t.last_line + 1))
    lost = [i for i, ln in enumerate(text.replace("\r\n", "\n").split("\n"), 1)
            if ln.strip(" >\t\r") and i not in covered]
    assert not lost, f"lines lost: {lost[:5]}"


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_never_raises(text: str) -> None:
    parse(text)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SOURCES), st.data())
def test_random_lines_removed_never_raises(src: Path, data: st.DataObject) -> None:
    lines = _lines(src)
    drop = data.draw(st.sets(st.integers(min_value=0, max_value=len(lines) - 1), max_size=10))
    parse("\n".join(ln for i, ln in enumerate(lines) if i not in drop))
