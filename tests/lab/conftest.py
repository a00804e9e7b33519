"""The session-scoped lab: brought up once per pytest run (in a tmp dir), down at the end."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from ovntrace.lab.lab import Lab, missing_packages


def _need_packages() -> None:
    missing = missing_packages()
    if missing:
        pytest.skip(f"lab packages missing: {', '.join(missing)} (ovntrace lab up --install)")


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    _need_packages()
    d = tmp_path_factory.mktemp("lab", numbered=True)
    t0 = time.monotonic()
    lab = Lab.up(None, d)
    lab.up_seconds = time.monotonic() - t0  # type: ignore[attr-defined]
    try:
        yield lab
    finally:
        left = lab.down()
        assert not left, f"processes left running: {left}"


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
