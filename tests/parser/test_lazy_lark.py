"""Lark is not needed to classify lines, and not imported for real traces whose texts the quick
parsers take; the classifier cut per first character answers what the whole alternation answers."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ovntrace.parser.lineclass import LineClassifier, first_after_indent
from ovntrace.parser.loader import grammar, line_terminals

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["lines", "ovntrace"])
def test_terminals_read_from_the_grammar_text_equal_lark(name: str) -> None:
    ts = [t for t in grammar(name).terminals if t.name.endswith("_LINE")]
    order = {t.name: i for i, t in enumerate(ts)}
    ts.sort(key=lambda t: (-t.priority, order[t.name]))
    assert line_terminals(name) == tuple((t.name, t.priority, t.pattern.to_regexp()) for t in ts)


def _lines() -> list[str]:
    out: list[str] = []
    for f in sorted((ROOT / "fixtures").rglob("*.txt")) + sorted(Path("/work/shared/traces").glob("*.txt")):
        try:
            out.extend(f.read_text(encoding="utf-8").splitlines())
        except (UnicodeDecodeError, OSError):
            continue
    return out


def _mutate(lines: list[str], n: int) -> list[str]:
    rng = random.Random(18)
    out = []
    for _ in range(n):
        t = rng.choice(lines) or "x"
        i = rng.randrange(len(t))
        t = t[:i] + rng.choice([" ", "\t", "\u00a0", "٣", "-", ">", "*", "(", "=" * 20, "…", ".", "#"]) + t[i + 1:]
        out.append(t.rstrip())
    return out


@pytest.mark.parametrize("name", ["lines", "ovntrace"])
def test_first_character_cut_answers_what_the_whole_alternation_does(name: str) -> None:
    terms = [(n, r) for n, _p, r in line_terminals(name)]
    whole = re.compile("|".join(f"(?P<{n}>{r})" for n, r in terms)).fullmatch
    cls = LineClassifier(terms)
    lines = _lines()
    for line in [*lines, *_mutate(lines, 20000), *(ln.strip() for ln in lines)]:
        m = whole(line)
        assert cls.kind(line) == ((m.lastgroup or "OTHER_LINE") if m else "OTHER_LINE"), line


def test_first_characters_of_patterns() -> None:
    assert first_after_indent(r"[ \t]*Flow: [^\n]*") == (frozenset("F"), False)
    assert first_after_indent(r"[ \t]*(\d{1,3}|--)\. [^\n]*") == (frozenset("-"), True)
    assert first_after_indent(r"(\t|[ ]*)- [A-Z][^\n]*\.") == (frozenset("-"), False)
    assert first_after_indent(r"[ \t]*(a|[ ]b)") is None  # what follows the indentation may be a space
    assert first_after_indent(r"(?i:flow)") is None  # flags: not looked into
    assert first_after_indent(r"[^\n]+") is None


def test_parse_of_real_traces_does_not_import_lark() -> None:
    fix = ROOT / "fixtures"
    files = [*sorted((fix / "lab").glob("*.txt")), *sorted((fix / "ovn-24.03.9").glob("*.txt")),
             *sorted((fix / "seed").glob("*.txt"))]
    code = ("import sys\nfrom ovntrace.parser import parse\n"
            "for f in sys.argv[1:]: parse(open(f, encoding='utf-8').read())\n"
            "print('lark' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code, *map(str, files)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert len(files) > 20


def test_a_text_only_the_grammar_takes_still_parses() -> None:
    from ovntrace.parser.actions import parse_action
    from ovntrace.parser.quick import action_tree

    text = "set_field: 0x1->reg13"  # a space after the keyword: the grammar ignores it, quick defers
    assert action_tree(text) is None
    a = parse_action(text)
    assert a.known and a.args["field"] == "reg13" and a.args["value"] == "0x1"
