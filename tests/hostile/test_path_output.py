"""``ovntrace path`` output (text, Markdown, ``--full``) with hostile names, causes and errors.

The :class:`PathResult` is put together here (a real path needs the lab's sshd; the stitching is tested in
tests/path): its hops carry the real lab trace with the combined payload injected at every site and parsed
and correlated against the lab's NB/SB dumps with every name poisoned (tests/hostile/corpus.py), and its
segments, verdict, notes and "not collected" errors hold the payload as names from a cluster would.
"""

from __future__ import annotations

from pathlib import Path

from ovntrace.correlate import Correlator
from ovntrace.correlate import path as P
from ovntrace.parser import parse
from ovntrace.pathcmd import Chain, NodeTrace, PathResult, render_text
from ovntrace.sources import load_cluster
from tests.hostile import oracle
from tests.hostile.corpus import ON_NODE, PAYLOADS, poison_dumps
from tests.hostile.test_tui import hostile_trace

ALL = PAYLOADS["ALL"]


def _result(tmp_path: Path) -> PathResult:
    nb, sb = poison_dumps(ALL)
    (tmp_path / "nb.json").write_text(nb)
    (tmp_path / "sb.json").write_text(sb)
    ctx = load_cluster([str(tmp_path / "nb.json")], [str(tmp_path / "sb.json")], [], [])
    text = hostile_trace()
    result = parse(text)
    ovn = Correlator(ctx, "23.03.1", ON_NODE).annotate(result.traces[0])
    node = ON_NODE + ALL
    nt = NodeTrace(node, "trk,new", "in_port=4,tcp" + ALL, "ovs-appctl ofproto/trace br-int 'in_port=4'" + ALL,
                   text, result, ovn)
    chain = Chain("trk,new", [nt], [f"pod default/client-1{ALL} @ kube-node2 → switch kube-node1{ALL}"],
                  {"kind": "drop", "cause": f"dropped by ACL deny{ALL}", "node": node, "delivered": False,
                   "note": f"note {ALL}"})
    src = P.Endpoint("default/client-1" + ALL, "default_client-1" + ALL, "192.168.3.3")
    dst = P.Endpoint("default/sshd-2" + ALL, "default_sshd-2" + ALL, "192.168.2.3")
    stats = {"connections": 3, "commands": 7, "seconds": 0.5, "not_collected": {"kube-master" + ALL: "sshd " + ALL}}
    return PathResult(src, dst, "kube-node2", [chain], stats)


def test_path_text_and_full(tmp_path: Path) -> None:
    r = _result(tmp_path)
    for full in (False, True):
        out = render_text(r, full=full)
        oracle.assert_plain(out, f"path text (full={full})")
        assert oracle.visible(f"switch kube-node1{ALL}") in out
        assert oracle.visible(f"dropped by ACL deny{ALL}") in out
        assert "[bold]B[/]" in out
    assert out.count("\n== ") == 1  # the hop's own explanation follows, escaped too


def test_path_markdown_and_full(tmp_path: Path) -> None:
    r = _result(tmp_path)
    for full in (False, True):
        md = render_text(r, full=full, markdown=True)
        p = oracle.assert_markdown_safe(md, f"path markdown (full={full})")
        assert any(c == oracle.visible(r.chains[0].line) for c in p.code)  # the path: one code span
        assert oracle.visible(f"dropped by ACL deny{ALL}") in "".join(p.outside)
        assert oracle.visible(f"kube-master{ALL}") in "".join(p.outside)
