"""Speed work must not change output: every fixture rendered as before, byte for byte (issue 18).

``fixtures/perf-identity.json`` holds the SHA-256 of each fixture's ``explain`` output (JSON with OVN
meaning, with and without the lab's NB/SB dumps as context; JSON without OVN; text; Markdown), generated
from the code *before* the issue-18 optimisations. A speed change that alters any output fails here.
Regenerate only for a reviewed behaviour change: ``python -m tests.test_perf_identity --write``.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from conftest import FIX, fixture_id, trace_fixtures  # noqa: E402

from ovntrace.cli import run  # noqa: E402

HASHES = FIX / "perf-identity.json"
CTX = FIX / "context"
VARIANTS: dict[str, list[str]] = {
    "json": ["--format", "json1"],
    "json-ctx": ["--format", "json1", "--sb", str(CTX / "lab-sb-dump.json"), "--nb", str(CTX / "lab-nb-dump.json")],
    "json-no-ovn": ["--format", "json1", "--no-ovn"],
    "text": ["--color", "never"],
    "text-full": ["--color", "never", "--full"],
    "text-color": ["--color", "always"],
    "markdown": ["--format", "markdown"],
}


def render(path: Path, variant: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    code = run(["explain", str(path), "-q", *VARIANTS[variant]], io.StringIO(), out, err)
    return f"{code}\n{out.getvalue()}\n{err.getvalue()}"


def digest(path: Path, variant: str) -> str:
    return hashlib.sha256(render(path, variant).encode("utf-8")).hexdigest()


def _stored() -> dict[str, dict[str, str]]:
    return json.loads(HASHES.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", trace_fixtures(), ids=fixture_id)
def test_output_identical_to_pre_optimisation(path: Path) -> None:
    stored = _stored()[fixture_id(path)]
    for variant in VARIANTS:
        assert digest(path, variant) == stored[variant], f"{variant} output of {fixture_id(path)} changed"


def test_every_fixture_has_stored_hashes() -> None:
    assert sorted(_stored()) == sorted(fixture_id(p) for p in trace_fixtures())


if __name__ == "__main__" and "--write" in sys.argv:
    sys.setrecursionlimit(10000)
    table = {fixture_id(p): {v: digest(p, v) for v in VARIANTS} for p in trace_fixtures()}
    HASHES.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {len(table)} fixtures x {len(VARIANTS)} variants to {HASHES}")
