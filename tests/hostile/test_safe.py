"""The one escaping helper (ovntrace/render/safe.py), against independent statements of its rules."""

from __future__ import annotations

import io
import json
import sys
import unicodedata

from rich.console import Console

from ovntrace.render import safe
from tests.hostile import oracle
from tests.hostile.corpus import PAYLOADS


def test_the_class_is_every_control_and_format_character() -> None:
    """CONTROL covers exactly Cc (but the tab), Cf, Zl, Zp and Cs of this Python's Unicode database."""
    want = [c for c in map(chr, range(sys.maxunicode + 1))
            if c != "\t" and unicodedata.category(c) in oracle.UNSAFE_CATEGORIES]
    text = "".join(want)
    assert len(safe.CONTROL.findall(text)) == len(want)
    others = "".join(c for c in map(chr, range(0x3000)) if c == "\t" or unicodedata.category(c)
                     not in oracle.UNSAFE_CATEGORIES)
    assert not safe.CONTROL.search(others)


def test_escape_matches_the_display_rule_and_is_idempotent() -> None:
    for name, p in PAYLOADS.items():
        shown = safe.escape(p)
        assert shown == oracle.visible(p), name
        assert safe.escape(shown) == shown
        assert not oracle.unsafe(shown, keep="\t")
    assert safe.escape("a\tb\nc") == "a\tb\\x0ac"
    assert safe.escape_lines("a\x1b\nb\r") == "a\\x1b\nb\\x0d"
    assert safe.escape("\U000e0041") == "\\U000e0041"


def test_safe_text_escapes_what_goes_in_and_keeps_surrounding_line_breaks() -> None:
    t = safe.SafeText("x\x1b]2;T\x07", style="bold")
    t.append("\n  evil\x1b[2J\nline\n")
    t.append("\n\n")
    assert t.plain == "x\\x1b]2;T\\x07\n  evil\\x1b[2J\\x0aline\n\n\n"
    out = io.StringIO()
    Console(file=out, force_terminal=True, color_system="standard").print(t)
    assert oracle.SGR.sub("", out.getvalue()).startswith("x\\x1b]2;T\\x07")
    oracle.assert_sgr_only(out.getvalue(), "SafeText on a terminal")


def test_rich_markup_in_safe_text_stays_literal() -> None:
    out = io.StringIO()
    Console(file=out, no_color=True, width=200).print(safe.SafeText("[bold]B[/] [/] [link=http://x]L[/link]"))
    assert out.getvalue() == "[bold]B[/] [/] [link=http://x]L[/link]\n"


def test_pictures_is_one_for_one() -> None:
    for p in PAYLOADS.values():
        shown = safe.pictures(p)
        assert len(shown) == len(p)
        assert not oracle.unsafe(shown)
    assert safe.pictures("\x1b[2J\x7f\x9b\u202e\t\n") == "␛[2J␡��\t\n"


def test_md_code_fence_is_longer_than_any_backtick_run() -> None:
    for text in ("plain", "a `b` c", "``` fence", "`start", "end`", "x ```` y ` z"):
        span = safe.md_code(text)
        html, p = oracle.markdown_html(span)
        assert p.code == [text], (text, span, html)
    assert safe.md_fence("a\n````\nb") == "`````"
    assert safe.md_fence("no backticks") == "```"


def test_md_text_reads_back_as_itself() -> None:
    for name, p in PAYLOADS.items():
        if name in ("c0", "ALL"):
            continue
        field = safe.md_text(p)
        html, parsed = oracle.markdown_html(f"**Path:** {field}  ")
        assert set(parsed.tags) <= {"p", "strong"}, (name, html)
        assert "".join(parsed.text).strip() == "Path: " + oracle.visible(p).strip(), (name, html)
    for lead in ("- item", "+ item", "1. item", "2) item", "# h", "> quote", "=== x"):
        html, parsed = oracle.markdown_html(safe.md_text(lead))
        assert parsed.tags == ["p"] and "".join(parsed.text).strip() == lead, (lead, html)


def test_json_text_keeps_the_data_and_no_raw_character() -> None:
    data = {"k\u202e": [p for p in PAYLOADS.values()], "astral": "\U000e0041"}
    for indent in (None, 2):
        doc = safe.json_text(json.dumps(data, ensure_ascii=False, indent=indent))
        assert json.loads(doc) == data
        assert not oracle.unsafe(doc)
