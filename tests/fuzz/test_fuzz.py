"""Fuzz suite, short profile (CI): every real trace fixture, mutated line by line (truncate, delete,
duplicate, swap, junk and trace-shaped lines, random characters and bytes, NULs, invalid UTF-8,
CRLF/tab mixes, 20-200 KB lines, deep nesting), must parse without an exception and keep every
non-blank input line, with its number, in the model or its warnings, and in the JSON.

A few examples per fixture (``EXAMPLES``, 300 in all); the long run is ``python bench/fuzz.py``, which
also measures time per KB and memory per line. Every input that ever failed is kept in
fixtures/regress/ and checked by ``test_regress.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import fixture_id, trace_fixtures
from tests.fuzz.mutate import mutate, problems

EXAMPLES = 4
FIXTURES = trace_fixtures()


@pytest.mark.parametrize("src", FIXTURES, ids=fixture_id)
@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_mutated_real_trace_parses_and_keeps_every_line(src: Path, seed: int) -> None:
    text, ops = mutate(src.read_text(encoding="utf-8"), seed)
    found = problems(text, renderers=seed % 4 == 0)  # the Rich/Markdown renderers on a quarter of them
    assert not found, f"{src.name} seed={seed} ops={ops}: {found}"
