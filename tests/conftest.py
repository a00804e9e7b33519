"""Shared test helpers: the real fixtures, and golden files that are reviewed, not regenerated blindly."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "fixtures"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        help="rewrite fixtures/golden/*.json from the current parser (review the diff before committing)",
    )


def trace_fixtures() -> list[Path]:
    """Every real trace we ship: seed, public pastes, OVS 3.5.0 and OVN 24.03.9 samples, lab traces."""
    out: list[Path] = []
    out += sorted((FIX / "seed").glob("kube-*-*.txt"))
    out = [p for p in out if "show" not in p.name]
    out += sorted((FIX / "traces").glob("*.txt"))
    out += sorted((FIX / "ovs-3.5.0").glob("t*.txt"))
    ovn = FIX / "ovn-24.03.9"
    out += sorted(ovn.glob("trace*.txt")) + sorted((ovn / "detrace-head").glob("*.txt")) + [ovn / "ovn-trace.txt"]
    lab = FIX / "lab"
    out += sorted(p for p in lab.glob("*.txt") if not any(k in p.name for k in ("show", "list", "dpif", "ofctl")))
    return out


def fixture_id(p: Path) -> str:
    return str(p.relative_to(FIX))
