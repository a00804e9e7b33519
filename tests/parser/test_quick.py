"""The hand-written parsers of ovntrace/parser/quick.py give the tree the grammar gives, or defer.

For every text where ``quick`` answers, lark (the grammar, the definition) must answer the same tree:
same rule names, same children, and for actions the same source spans (the builders slice nested
action texts from them). Inputs: every line of every real trace we have (its body, and the parts
after ``:``/``=`` that the parser hands to these functions), and seeded mutations of action and flow
texts (mutated real texts, named so: characters dropped, duplicated, swapped for structure).
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import lark
import pytest

from ovntrace.parser.loader import grammar
from ovntrace.parser.quick import action_tree, kv_tree

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path("/work/shared/traces")


def _texts() -> list[str]:
    files = sorted((ROOT / "fixtures").rglob("*.txt")) + sorted(SHARED.glob("*.txt"))
    seen: set[str] = set()
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for line in text.splitlines():
            body = line.strip()
            for part in (body, body.partition(":")[2].strip(), body.partition("=")[2].strip(),
                         re.sub(r"^\d+\. ", "", body).split(", priority")[0]):
                if part and len(part) < 4000:
                    seen.add(part)
    return sorted(seen)


TEXTS = _texts()


def _mutations(texts: list[str], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    pool = [t for t in texts if any(c in t for c in "(),=")]
    out = []
    for _ in range(n):
        t = rng.choice(pool)
        i = rng.randrange(len(t))
        op = rng.randrange(4)
        if op == 0:
            t = t[:i] + t[i + 1:]
        elif op == 1:
            t = t[:i] + t[i] + t[i:]
        elif op == 2:
            t = t[:i] + rng.choice("(),={}->: \t") + t[i:]
        else:
            t = t[:i] + rng.choice(["set_field:", "load:", "move:", "check_pkt_larger(", "->", "()", ",,", "=("]) \
                + t[i:]
        out.append(t.strip())
    return out


def _lark(tree: Any, spans: bool) -> Any:
    if isinstance(tree, lark.Token):
        return str(tree)
    meta = (tree.meta.start_pos, tree.meta.end_pos) if spans and not tree.meta.empty else None
    return (tree.data, [_lark(c, spans) for c in tree.children], meta)


def _quick(tree: Any, spans: bool) -> Any:
    if isinstance(tree, str):
        assert type(tree) is str
        return tree
    meta = (tree.meta.start_pos, tree.meta.end_pos) if spans else None
    return (tree.data, [_quick(c, spans) for c in tree.children], meta)


def _check(name: str, texts: list[str], quick: Any, spans: bool, complete: bool = False) -> tuple[int, int]:
    """Where ``quick`` answers, the grammar answers the same; with ``complete``, ``quick`` answering
    None means the grammar rejects the text too."""
    g = grammar(name)
    answered = deferred = 0
    for text in texts:
        mine = quick(text)
        if mine is None:
            deferred += 1
            if complete:
                with pytest.raises(lark.exceptions.LarkError):
                    g.parse(text)
            continue
        answered += 1
        try:
            theirs = g.parse(text)
        except lark.exceptions.LarkError:
            pytest.fail(f"quick {name} parser took a text the grammar rejects: {text!r}")
        assert _quick(mine, spans) == _lark(theirs, spans), text
    return answered, deferred


def test_actions_same_tree_as_grammar_on_real_texts() -> None:
    answered, _ = _check("actions", TEXTS, action_tree, spans=True)
    assert answered > 1000  # it does take the real texts


def test_kv_same_tree_as_grammar_on_real_texts() -> None:
    answered, _ = _check("kv", TEXTS, kv_tree, spans=False, complete=True)
    assert answered > 1000


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_tree_or_defer_on_mutated_texts(seed: int) -> None:
    muts = _mutations(TEXTS, 3000, seed)
    a, d = _check("actions", muts, action_tree, spans=True)
    k, e = _check("kv", muts, kv_tree, spans=False, complete=True)
    assert a and d and k and e  # both outcomes happen: the check is not vacuous


@pytest.mark.parametrize("text", [
    "set_field:0x1/0xffff->reg13", "load:0x1->NXM_NX_REG10[0]", "move:NXM_OF_IP_DST[]->NXM_NX_XXREG0[96..127]",
    "resubmit(,8)", "resubmit(1,8,ct)", 'output:"ovn-hv2-0"', "check_pkt_larger(1500)->NXM_NX_REG10[0]",
    "ct(commit,table=43,zone=NXM_NX_REG13[0..15],nat(src=10.0.0.1),exec(set_field:0x1->ct_mark))",
    "clone(ct_clear,set_field:0->reg11,resubmit(,8))", "learn(table=10,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[])",
    "x=()", "a(b=(c,d),e)", "f(,)", "g((a),b)", "set_field:a(b)->c",
])
def test_actions_shapes(text: str) -> None:
    _check("actions", [text], action_tree, spans=True)


@pytest.mark.parametrize("text", ["set_field: 0x1->reg0", "a,,b", "load:", "move:a(b)->c", "a\tb", "->", ""])
def test_actions_defers_when_unsure(text: str) -> None:
    assert action_tree(text) is None


@pytest.mark.parametrize("text", [
    "recirc_id=0x24,ct_state=new|trk,eth,ip,reg0=0x1,metadata=0x5,in_port=9,nw_ttl=32", "packet_type=(1,0x894f)",
    "set(tunnel(tun_id=0x4,dst=172.17.42.31,geneve({class=0x102,type=0x80,len=4,0x10003}),flags(df|csum|key))),2",
    "ct(commit,zone=1,nat(src=10.0.0.1)),recirc(0x24)", "userspace(pid=0,controller(reason=1))", "a, b ,c",
    "a,,b,", "", "{a}", "(a,(b))",
])
def test_kv_shapes(text: str) -> None:
    _check("kv", [text], kv_tree, spans=False)
    assert kv_tree(text) is not None


@pytest.mark.parametrize("text", ["a=b=c", "a(", "a)", "a b", "a=\u00a0b", "a\nb", "}"])
def test_kv_rejects_what_the_grammar_rejects(text: str) -> None:
    assert kv_tree(text) is None
    with pytest.raises(lark.exceptions.LarkError):
        grammar("kv").parse(text)
