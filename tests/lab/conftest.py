"""The bare lab for the plan-runs-cleanly test; the session lab lives in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ovntrace.lab.lab import Lab
from tests.conftest import need_lab_packages as _need_packages


@pytest.fixture
def bare_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A fresh lab with daemons only (the runbook not applied): for the plan-runs-cleanly test."""
    _need_packages()
    d = tmp_path_factory.mktemp("bare", numbered=True)
    lab = Lab.up(None, d, provision=False)
    try:
        yield lab
    finally:
        lab.down()
