"""The truth corpus of ``fixtures/truth/<release>/`` (``python -m ovntrace.lab.corpus``), read for tests.

Each release's corpus holds real lab traces, that release's own ``ovn-detrace`` output on each, the NB/SB
database files (gzipped) of each phase, and per node the show outputs and ``conf.db``. This module unpacks
the databases once per test session, recovers the detrace truth (cookie -> logical flow UUID, as
:mod:`tests.truth.detrace` does for the live lab), and runs ``ovntrace explain`` in-process.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ovntrace.cli import run as cli_run
from tests.conftest import FIX
from tests.truth.detrace import SbLflow, detrace_style, sb_lflows_from_file, truth_from_output

RELEASES = ("23.03", "25.03")
#: the issue's scenarios; every one is covered by at least one corpus scenario
ISSUE_SCENARIOS = (
    "cross-node", "same-node", "ACL drop with log", "port security", "LB VIP", "gateway to external",
    "gateway from external", "ARP", "unknown port", "unbound port", "VXLAN", "TTL expiry", "flood",
)  # fmt: skip
VERSIONS = {"23.03": {"ovn": "23.03.1", "ovs": "3.1.0"}, "25.03": {"ovn": "25.03.0", "ovs": "3.5.0"}}


def corpus_dir(release: str) -> Path:
    return FIX / "truth" / release


@functools.cache
def manifest(release: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((corpus_dir(release) / "manifest.json").read_text())
    return data


def scenario_names(release: str) -> list[str]:
    return [s["name"] for s in manifest(release)["scenarios"]]


def scenario(release: str, name: str) -> dict[str, Any]:
    return next(s for s in manifest(release)["scenarios"] if s["name"] == name)


_TMP = Path(tempfile.mkdtemp(prefix="ovntrace-corpus-"))


@functools.cache
def unpacked(release: str, rel: str) -> Path:
    """A ``.gz`` file of the corpus, unpacked once per session (ovsdb-tool and ovntrace read plain files)."""
    src = corpus_dir(release) / rel
    dst = _TMP / release / rel.removesuffix(".gz")
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(gzip.decompress(src.read_bytes()))
    return dst


def db_files(release: str, name: str) -> tuple[Path, Path]:
    """(SB, NB) database files of the scenario's phase."""
    db = scenario(release, name)["db"]
    return unpacked(release, db["sb"]), unpacked(release, db["nb"])


@functools.cache
def lflows(release: str, phase: str) -> dict[str, SbLflow]:
    return sb_lflows_from_file(str(unpacked(release, f"{phase}/ovnsb_db.db.gz")))


def trace_text(release: str, name: str) -> str:
    return (corpus_dir(release) / f"{name}.txt").read_text()


def detrace_text(release: str, name: str) -> str:
    return (corpus_dir(release) / f"{name}.detrace.txt").read_text()


@functools.cache
def truth(release: str, name: str) -> dict[str, list[dict[str, Any]]]:
    sc = scenario(release, name)
    return truth_from_output(detrace_text(release, name), lflows(release, sc["phase"]), detrace_style(release))


@dataclass(frozen=True)
class Explained:
    doc: dict[str, Any]
    stderr: str


@functools.cache
def explain(release: str, name: str, context: bool, version: str | None = None) -> Explained:
    """``ovntrace explain --format json`` of a corpus trace, in-process: with ``context`` the scenario's
    SB/NB files and its node's conf.db; ``version`` passes ``--ovn-version``."""
    argv = ["explain", str(corpus_dir(release) / f"{name}.txt"), "--format", "json"]
    if context:
        sc = scenario(release, name)
        sb, nb = db_files(release, name)
        conf = unpacked(release, "{phase}/{node}/conf.db.gz".format(**sc))
        argv += ["--sb", str(sb), "--nb", str(nb), "--on", sc["node"], "--node", f"{sc['node']}={conf}"]
    if version:
        argv += ["--ovn-version", version]
    out, err = io.StringIO(), io.StringIO()
    rc = cli_run(argv, io.StringIO(), out, err)
    assert rc == 0, f"ovntrace {' '.join(argv)}: exit {rc}: {err.getvalue()[:500]}"
    return Explained(json.loads(out.getvalue()), err.getvalue())


def table_steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every table step of every trace and pass, in order."""
    out: list[dict[str, Any]] = []

    def walk(steps: list[dict[str, Any]]) -> None:
        for s in steps:
            if s.get("kind") == "table":
                out.append(s)
            walk(s.get("children") or [])

    for t in doc.get("traces", []):
        for p in t.get("passes", []):
            walk(p.get("steps", []))
    return out
