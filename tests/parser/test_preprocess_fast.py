"""preprocess's shortcuts give what the line-by-line way gives: a paste without prefixes is only
right-stripped (found from the trace-start keys over the whole text), and each distinct line text is
shaped once."""

from __future__ import annotations

from pathlib import Path

import pytest

from ovntrace.parser.preprocess import Line, _classifier, _shape, _strip_prefix, preprocess, split_lines
from tests.conftest import FIX

TRACES = sorted(FIX.rglob("*.txt"))


def _variants(text: str) -> list[str]:
    lines = text.split("\n")
    return [
        text,
        "\n".join("> " + ln for ln in lines),  # mail quoting
        "\n".join("    " + ln if k % 7 else ln for k, ln in enumerate(lines)),  # indented, but some lines
        "\r\n".join(lines),  # CRLF
        "\n".join(("2024-01-02T03:04:05.678Z|00001|ofproto|INFO|" + ln) if k < 3 else ln
                  for k, ln in enumerate(lines)),  # a log prefix on the first lines only
    ]


def _slow(text: str) -> list[Line]:
    raws = split_lines(text)
    classify = _classifier().kind
    return [Line(no, *_shape(t, classify)) for no, t in enumerate(_strip_prefix(raws), 1)]


@pytest.mark.parametrize("path", TRACES[::3], ids=lambda p: str(p.relative_to(FIX)))
def test_fast_equals_line_by_line(path: Path) -> None:
    for text in _variants(path.read_text(encoding="utf-8", errors="surrogateescape")):
        raws = split_lines(text)
        assert _strip_prefix(raws, text) == _strip_prefix(raws)
        assert preprocess(text) == _slow(text)


def test_prefix_seen_on_a_later_line() -> None:
    text = "hello\n  Flow: in_port=1\n  bridge(\"br0\")\n  ---\n   0. priority 0\n"
    raws = split_lines(text)
    assert _strip_prefix(raws, text) == _strip_prefix(raws) == [
        "hello", "Flow: in_port=1", 'bridge("br0")', "---", " 0. priority 0"]
