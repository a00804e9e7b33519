"""The hostile corpus (tests/hostile/corpus.py: real fixtures with payloads injected) through ``explain``:
text (``--color never`` and ``always``), Markdown, JSON, and the warnings on stderr.

- text, never: no ESC and no other control/format character at all (tab and line feed aside);
- text, always: every ESC starts a pure SGR sequence (the colours Rich emits), the rest as above;
- stderr: as text, never;
- Markdown: as text, never; rendered by a CommonMark parser, only our own tags, the code blocks intact,
  and the payload read back as the same visible text the terminal shows (``[bold]``, ``<img …>``,
  ``*b*`` literally);
- JSON: valid, no raw control/format character in the document, and the payload round-trips exactly.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ovntrace.cli import run
from tests.hostile import oracle
from tests.hostile.corpus import PAYLOADS, Case, cases, write_case

CASES = cases()
# payloads whose visible form the output must show whole (the others hold a CR, which a file read splits,
# or are long enough to be shortened in a row)
WHOLE = {k for k in PAYLOADS if k not in ("c0", "ALL")}


def _explain(trace: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = run(["explain", str(trace), *args], io.StringIO(), out, err)
    return rc, out.getvalue(), err.getvalue()


def _kind(case: Case) -> str:
    return case.name.rsplit("-", 1)[-1] if case.name.split("-")[-1] in PAYLOADS else \
        next(k for k in PAYLOADS if case.name.endswith("-" + k))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_explain(case: Case, tmp_path: Path) -> None:
    trace, extra = write_case(case, tmp_path)
    kind = _kind(case)
    shown = oracle.visible(case.payload)

    rc, text, err = _explain(trace, "--color", "never", *extra)
    assert rc == 0, err
    assert "\x1b" not in text and "\x1b" not in err
    oracle.assert_plain(text, "text --color never")
    oracle.assert_plain(err, "stderr")
    if kind in WHOLE:
        assert shown in text, f"the payload is not shown as {shown!r}"
    if kind == "rich-markup":
        assert "[bold]B[/] [/] [link=http://evil.example]L[/link]" in text  # printed literally
    if case.site == "junk":
        assert "junk" in err  # the warning is on stderr, escaped
        if kind in WHOLE:  # warnings quote the line's first ~80 characters
            assert oracle.visible(case.payload[:30]) in err

    rc, coloured, _ = _explain(trace, "--color", "always", *extra)
    assert rc == 0
    assert oracle.SGR.search(coloured), "--color always drew no colour: the check below would be empty"
    oracle.assert_sgr_only(coloured, "text --color always")
    assert oracle.SGR.sub("", coloured) == text  # the same text, coloured

    rc, md, _ = _explain(trace, "--format", "markdown", *extra)
    assert rc == 0
    passes = md.count("\n**pass ")
    html = oracle.assert_markdown_safe(md, "markdown", blocks=passes)
    # outside the code blocks the payload reads back as the terminal shows it (only a match is in a block alone)
    rendered = "".join(html.text if case.site == "match" else html.outside)
    probe = oracle.visible(case.payload[:30]) if case.site == "junk" else shown  # warnings are shortened
    if kind in WHOLE:
        assert probe in rendered, f"Markdown does not read back {probe!r}"
    if case.site == "prompt" and kind in WHOLE:  # the command: one code span, whatever its backticks
        assert any(c.endswith(shown + " end") and "ovs-appctl ofproto/trace br-int" in c for c in html.code), html.code

    rc, js, _ = _explain(trace, "--format", "json", *extra)
    assert rc == 0
    assert js.endswith("}\n")
    oracle.assert_plain(js[:-1].replace("\n", ""), "json")
    doc = json.loads(js)
    values = oracle.strings(doc)
    if kind in WHOLE:  # the exact characters, not their display form
        assert any(case.payload in s for s in values), "the payload does not round-trip through JSON"


def test_corpus_size() -> None:
    """The corpus is what the docstring says: 2 real traces x 6 sites x 15 payloads, + 15 database cases."""
    assert len(PAYLOADS) == 15
    assert len(CASES) == 2 * 6 * 15 + 15
    assert len({c.text for c in CASES if not c.db}) == 2 * 6 * 15  # each injection changed its trace


def test_error_messages_on_stderr_are_escaped(tmp_path: Path) -> None:
    """One-line errors quote the input (no trace found), a file name, an --offline path: escaped too."""
    title = PAYLOADS["osc-title"]
    err = io.StringIO()
    rc = run(["explain"], io.StringIO(f"hello {title} [bold]x[/]\n"), io.StringIO(), err)
    assert rc == 2 and "first lines seen: hello \\x1b]2;PWNED-TITLE\\x07 [bold]x[/]" in err.getvalue()
    oracle.assert_plain(err.getvalue(), "no-trace message")
    err = io.StringIO()
    rc = run(["explain", str(tmp_path / f"missing{title}")], io.StringIO(), io.StringIO(), err)
    assert rc == 1 and "missing\\x1b]2;PWNED-TITLE\\x07" in err.getvalue()
    oracle.assert_plain(err.getvalue(), "cannot-read message")

    import contextlib

    from ovntrace.pathcmd import main as path_main

    out = io.StringIO()
    with contextlib.redirect_stderr(out):
        rc = path_main(["path", "a", "b", "--offline", str(tmp_path / f"snap{title}")])
    assert rc != 0 and "snap\\x1b]2;PWNED-TITLE\\x07" in out.getvalue()
    oracle.assert_plain(out.getvalue(), "path error")
