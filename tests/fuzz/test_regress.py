"""Every mutated input that ever failed (fixtures/regress/, see its README) parses, keeps every line and
renders: the fuzz suite's memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FIX
from tests.fuzz.mutate import problems

REGRESS = sorted((FIX / "regress").glob("*.txt"))


def test_there_are_regression_inputs_and_each_has_a_readme_line() -> None:
    readme = (FIX / "regress" / "README.md").read_text(encoding="utf-8")
    assert len(REGRESS) >= 10
    missing = [p.name for p in REGRESS if p.name not in readme]
    assert not missing, f"no README line for {missing}"


@pytest.mark.parametrize("path", REGRESS, ids=lambda p: p.name[:60])
def test_regression_input_holds(path: Path) -> None:
    text = path.read_bytes().decode("utf-8", "surrogatepass")  # bytes: CRs and NULs exactly as saved
    assert not problems(text), path.name
