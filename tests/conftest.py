"""Shared test helpers: the real fixtures, and golden files that are reviewed, not regenerated blindly."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ovntrace.lab import rootfs
from ovntrace.lab.errors import LabError
from ovntrace.lab.lab import Lab, missing_packages

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
    out += sorted((lab / "ovn-trace").glob("*.txt"))  # real ovn-trace 23.03.1 (ovntrace.lab.ovntrace_fixtures)
    out += sorted((lab / "ovn-trace" / "ovs").glob("*.txt"))  # the same with --ovs, from a live lab
    out += logical_fixtures()
    return out


def logical_fixtures() -> list[Path]:
    """Real ovn-trace of OVN 25.03.0 from a live lab (all formats, --ct, --ovs), and the ovn-trace +
    ofproto/trace pairs and divergence of both releases (ovntrace.lab.ovntrace_fixtures --release)."""
    d = FIX / "lab" / "ovn-trace"
    return sorted((d / "25.03").glob("*.txt")) + sorted((d / "23.03").glob("*.txt"))


def fixture_id(p: Path) -> str:
    return str(p.relative_to(FIX))


def explain_with_db_files(trace: Path, d: Path) -> str:
    """``explain TRACE -f json -q`` with the directory's ``ovnsb_db.db`` and ``ovnnb_db.db``, in process: the exit
    status, the output and the messages (what two ways of reading the databases must give alike)."""
    import io

    from ovntrace.cli import run

    out, err = io.StringIO(), io.StringIO()
    argv = ["explain", str(trace), "-f", "json", "-q", "--sb", str(d / "ovnsb_db.db"), "--nb", str(d / "ovnnb_db.db")]
    rc = run(argv, io.StringIO(), out, err)
    return f"{rc}\n{out.getvalue()}{err.getvalue()}"


def need_lab_packages() -> None:
    missing = missing_packages()
    if missing:
        pytest.skip(f"lab packages missing: {', '.join(missing)} (ovntrace lab up --install)")


def _session_lab(tmp_path_factory: pytest.TempPathFactory, name: str, **up: Any) -> Iterator[Lab]:
    """A lab brought up once per run (``Lab.up`` keywords in ``up``), timed, and taken down at the end with
    nothing left running."""
    t0 = time.monotonic()
    lab = Lab.up(None, tmp_path_factory.mktemp(name, numbered=True), **up)
    lab.up_seconds = time.monotonic() - t0  # type: ignore[attr-defined]
    try:
        yield lab
    finally:
        left = lab.down()
        assert not left, f"processes left running: {left}"


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    need_lab_packages()
    yield from _session_lab(tmp_path_factory, "lab")




def need_release(name: str) -> None:
    """Skip unless the lab can run OVN release ``name``: its Debian root is cached (built here when
    missing, as root with debootstrap: about a minute, once per machine; scripts/test.sh builds it first)."""
    from ovntrace.lab.lab import plan_release

    _, rel = plan_release(name)
    if rel is None:
        need_lab_packages()
        return
    if missing_packages(chroot=True):
        pytest.skip(f"host packages missing for a chroot lab: {', '.join(missing_packages(chroot=True))}")
    if rootfs.complete(rootfs.root_path(rel), rel):
        return
    if os.geteuid() != 0 or not os.path.exists(rootfs.DEBOOTSTRAP):
        pytest.skip(f"no Debian {rel.debian} root for OVN {name} in {rootfs.root_path(rel)} and cannot build one "
                    "(needs root and debootstrap; scripts/test.sh builds it)")
    try:
        rootfs.ensure(rel, progress=lambda line: print(line, flush=True))
    except LabError as e:
        pytest.fail(f"building the OVN {name} root failed: {e}")


@pytest.fixture(scope="session")
def lab25(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The OVN 25.03 lab (Debian 13 binaries under chroot), up once per run, beside ``lab``."""
    need_release("25.03")
    yield from _session_lab(tmp_path_factory, "lab25", release="25.03")


# -- interconnect labs (issue 13): every node its own zone, a transit switch between them -------------


@pytest.fixture(scope="session")
def lab_ic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The interconnect lab on the host's OVN (23.03), up once per run."""
    need_lab_packages()
    yield from _session_lab(tmp_path_factory, "labic", topology="interconnect")


@pytest.fixture(scope="session")
def lab25_ic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The interconnect lab on OVN 25.03 (Debian 13 binaries under chroot), up once per run."""
    need_release("25.03")
    yield from _session_lab(tmp_path_factory, "lab25ic", release="25.03", topology="interconnect")


@pytest.fixture(params=["lab_ic", "lab25_ic"], ids=["23.03", "25.03"])
def ic(request: pytest.FixtureRequest) -> Lab:
    """The interconnect lab of each release, its nodes' neighbours refreshed (the dummy underlay: the nodes
    still know their peers' MACs)."""
    lab: Lab = request.getfixturevalue(request.param)
    for n in lab.inventory.node_names:
        lab._refresh_neighbors(n)
    return lab
