"""The cached Debian root of a second OVN release (ovntrace.lab.rootfs): mirror, completeness, the cache path.

The real build (debootstrap, about a minute) runs once per machine from scripts/test.sh or the ``lab25``
fixture; these tests read its result and check the rules on small directories of their own."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ovntrace.lab import rootfs
from ovntrace.lab.errors import LabError

REL = rootfs.release("25.03")


def test_mirror_is_the_hosts_main_archive_not_security(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OVNTRACE_DEBIAN_MIRROR", raising=False)
    d = tmp_path / "apt"
    (d / "sources.list.d").mkdir(parents=True)
    (d / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://security.example.org/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example.org/debian/\nSuites: bookworm bookworm-updates\n"
        "Components: main\n"
    )
    assert rootfs.host_mirror(d) == "http://mirror.example.org/debian"
    (d / "sources.list.d" / "debian.sources").unlink()
    (d / "sources.list").write_text("# comment\ndeb [arch=amd64] http://old.example.org/debian bookworm main\n")
    assert rootfs.host_mirror(d) == "http://old.example.org/debian"
    (d / "sources.list").write_text("deb https://packages.example.com/apt cloud main\n")
    assert rootfs.host_mirror(d) == rootfs.FALLBACK_MIRROR
    monkeypatch.setenv("OVNTRACE_DEBIAN_MIRROR", "http://given.example.org/debian")
    assert rootfs.host_mirror(d) == "http://given.example.org/debian"


def test_this_hosts_mirror_is_debians() -> None:
    if not Path("/etc/apt/sources.list.d/debian.sources").exists() and not Path("/etc/apt/sources.list").exists():
        pytest.skip("no apt sources on this host")
    assert rootfs.host_mirror().endswith("/debian")


def test_cache_dir_is_documented_and_overridable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OVNTRACE_CACHE_DIR", str(tmp_path))
    assert rootfs.root_path(REL) == tmp_path / "rootfs-trixie"
    monkeypatch.delenv("OVNTRACE_CACHE_DIR")
    if os.geteuid() == 0:
        assert rootfs.root_path(REL) == Path("/var/cache/ovntrace/rootfs-trixie")


def _fake_complete_tree(root: Path) -> None:
    for p in (*rootfs.REQUIRED_IN_ROOT, *REL.extra):
        (root / p).parent.mkdir(parents=True, exist_ok=True)
        (root / p).write_text("")
    (root / rootfs.MARKER).write_text(json.dumps({"suite": "trixie"}))


def test_a_root_is_complete_only_with_its_marker_and_every_binary(tmp_path: Path) -> None:
    root = tmp_path / "rootfs-trixie"
    _fake_complete_tree(root)
    assert rootfs.complete(root, REL) == {"suite": "trixie"}
    assert rootfs.complete(root, rootfs.release("23.03")) is None  # another suite's marker
    (root / "usr/bin/ovn-debug").unlink()
    assert rootfs.complete(root, REL) is None  # 25.03 must ship ovn-debug
    _fake_complete_tree(root)
    (root / rootfs.MARKER).unlink()  # an interrupted build never wrote it
    assert rootfs.complete(root, REL) is None


def test_ensure_reuses_a_complete_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVNTRACE_CACHE_DIR", str(tmp_path))
    _fake_complete_tree(tmp_path / "rootfs-trixie")
    monkeypatch.setattr(rootfs, "DEBOOTSTRAP", str(tmp_path / "no-such-debootstrap"))
    said: list[str] = []
    assert rootfs.ensure(REL, progress=said.append) == tmp_path / "rootfs-trixie"
    assert said == []  # nothing built, nothing said
    (tmp_path / "rootfs-trixie" / rootfs.MARKER).unlink()
    if os.geteuid() != 0:
        pytest.skip("the rest needs root")
    with pytest.raises(LabError, match="apt-get install -y debootstrap") as e:  # incomplete: it would rebuild
        rootfs.ensure(REL, progress=said.append)
    assert e.value.exit_code == 4


def test_the_machines_25_03_root_is_complete_and_has_the_releases_packages() -> None:
    root = rootfs.root_path(REL)
    info = rootfs.complete(root, REL)
    if info is None:
        pytest.skip(f"no 25.03 root in {root} (scripts/test.sh builds it)")
    assert info["versions"]["ovn-host"].startswith("25.03.0")  # type: ignore[index]
    assert info["versions"]["openvswitch-switch"].startswith("3.5.0")  # type: ignore[index]
    assert info["mirror"] == rootfs.host_mirror()
    assert not list(root.parent.glob(".rootfs-trixie.build-*"))  # no half-built tree left next to it
