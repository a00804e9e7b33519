"""The TUI reads a trace file as `explain` does: lines split on LF only (a stray CR inside a line must not
shift every later line number), and through the input size cap."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from ovntrace.tui.screens.explain import ExplainScreen
from tests.tui.conftest import ACL_DROP, make_app, run_on_screen, settle, verdict_text


def test_a_stray_cr_inside_a_line_keeps_the_line_numbers(tmp_path: Path) -> None:
    lines = ACL_DROP.read_text(encoding="utf-8").split("\n")
    lines[2] = lines[2] + "\r junk after a stray carriage return"  # a real trace, one line damaged
    path = tmp_path / "cr.txt"
    path.write_bytes("\n".join(lines).encode())

    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        await settle(pilot)
        assert len(screen.text_lines) == len(lines)
        assert screen.text_lines[2].endswith("\r junk after a stray carriage return")
        assert screen.text_lines[-2] == lines[-2]

    run_on_screen(make_app(path), scenario)


def test_a_file_over_the_input_cap_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVNTRACE_MAX_INPUT_SIZE", "1K")
    path = tmp_path / "big.txt"
    path.write_text(ACL_DROP.read_text(encoding="utf-8"), encoding="utf-8")

    async def scenario(pilot: Pilot[int], screen: ExplainScreen) -> None:
        await settle(pilot)
        shown = verdict_text(screen)
        assert "big.txt" in shown and "Error" not in shown and "\n" not in shown.strip(), shown

    run_on_screen(make_app(path), scenario)
