"""A Debian root (chroot) with another release's OVS/OVN, built once with debootstrap and cached.

``ovntrace lab up --release 25.03`` on a Debian 12 host (OVN 23.03.1) runs the lab's daemons from
a Debian 13 "trixie" root (OVN 25.03.0, OVS 3.5.0): ``debootstrap --variant=minbase
--include=ovn-central,ovn-host,openvswitch-switch,python3-openvswitch,uuid-runtime trixie ROOT
MIRROR``, from Debian's own mirror as apt is configured on this host (``/etc/apt/sources.list*``).

The root is cached outside the repository, in :func:`cache_dir` (``$OVNTRACE_CACHE_DIR``, else
``/var/cache/ovntrace`` as root, else ``${XDG_CACHE_HOME:-~/.cache}/ovntrace``) as
``rootfs-<suite>``, and reused by every lab and CI run on the machine. It is built in a temporary
directory beside it and renamed into place only when complete (a marker file, written last,
lists what was built); a missing or incomplete root is rebuilt. A lock file serialises builds.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ovntrace.lab.errors import LabError

DEBOOTSTRAP = "/usr/sbin/debootstrap"
MARKER = ".ovntrace-rootfs.json"
FALLBACK_MIRROR = "http://deb.debian.org/debian"
BUILD_TIMEOUT = 1800.0
#: what a lab needs inside the root (relative paths)
REQUIRED_IN_ROOT = (
    "bin/bash",
    "usr/sbin/chroot",
    "usr/sbin/ovsdb-server",
    "usr/sbin/ovs-vswitchd",
    "usr/bin/ovsdb-tool",
    "usr/bin/ovs-vsctl",
    "usr/bin/ovs-appctl",
    "usr/bin/ovs-ofctl",
    "usr/share/openvswitch/vswitch.ovsschema",
    "usr/bin/ovn-northd",
    "usr/share/ovn/ovn-nb.ovsschema",
    "usr/share/ovn/ovn-sb.ovsschema",
    "usr/bin/ovn-controller",
    "usr/bin/ovn-nbctl",
    "usr/bin/ovn-sbctl",
    "usr/bin/ovn-appctl",
    "usr/bin/ovn-detrace",
    "usr/bin/uuidgen",
    "usr/bin/python3",
)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Release:
    """An OVN release the lab can run: Debian's packages of ``suite``."""

    name: str  # "23.03"
    suite: str  # Debian codename whose packages bring it
    debian: str  # "12"
    ovn: str  # the Debian package's OVN version
    ovs: str
    packages: tuple[str, ...] = ("ovn-central", "ovn-host", "openvswitch-switch", "python3-openvswitch",
                                 "uuid-runtime")
    #: files only this release has (checked when its root is complete)
    extra: tuple[str, ...] = ()


RELEASES: dict[str, Release] = {
    "23.03": Release("23.03", "bookworm", "12", "23.03.1", "3.1.0"),
    "25.03": Release("25.03", "trixie", "13", "25.03.0", "3.5.0", extra=("usr/bin/ovn-debug",)),
}


def release(name: str) -> Release:
    try:
        return RELEASES[name]
    except KeyError:
        raise LabError(f"release {name!r}: use one of {', '.join(RELEASES)}", exit_code=2) from None


def cache_dir() -> Path:
    """Where roots are cached (see the module doc)."""
    env = os.environ.get("OVNTRACE_CACHE_DIR")
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return Path("/var/cache/ovntrace")
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "ovntrace"


def root_path(rel: Release) -> Path:
    return cache_dir() / f"rootfs-{rel.suite}"


def host_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian mirror apt uses on this host (not the security archive); ``$OVNTRACE_DEBIAN_MIRROR``
    overrides it; Debian's own ``deb.debian.org`` if none is configured."""
    env = os.environ.get("OVNTRACE_DEBIAN_MIRROR")
    if env:
        return env
    files = [sources / "sources.list"] if (sources / "sources.list").is_file() else []
    if (sources / "sources.list.d").is_dir():
        files += sorted((sources / "sources.list.d").iterdir())
    for f in files:
        if not f.is_file() or not f.name.endswith((".list", ".sources")):
            continue
        try:
            text = f.read_text(errors="replace")
        except OSError:
            continue
        if f.name.endswith(".sources"):
            for stanza in re.split(r"\n\s*\n", text):
                fields: dict[str, str] = dict(
                    (m.group(1).lower(), m.group(2).strip())
                    for m in re.finditer(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.M)
                )
                if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes") == "no":
                    continue
                for uri in fields.get("uris", "").split():
                    if _is_main_archive(uri, fields.get("suites", "")):
                        return uri.rstrip("/")
        else:
            for line in text.splitlines():
                words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
                if len(words) >= 3 and words[0] == "deb" and _is_main_archive(words[1], words[2]):
                    return words[1].rstrip("/")
    return FALLBACK_MIRROR


def _is_main_archive(uri: str, suites: str) -> bool:
    return (
        uri.startswith(("http://", "https://"))
        and uri.rstrip("/").endswith("/debian")
        and not any(s.endswith("-security") for s in suites.split())
    )


def complete(root: Path, rel: Release) -> dict[str, object] | None:
    """The marker's contents if ``root`` is a complete root of ``rel``, else None."""
    try:
        info = json.loads((root / MARKER).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or info.get("suite") != rel.suite:
        return None
    if any(not os.path.lexists(root / p) for p in (*REQUIRED_IN_ROOT, *rel.extra)):
        return None
    return info


def _mounts_under(path: Path) -> list[str]:
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return []
    prefix = str(path.resolve()) + "/"
    points = [ln.split()[1].replace("\\040", " ") for ln in lines if len(ln.split()) > 1]
    return sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True)


def remove_tree(path: Path) -> None:
    """Remove a (partial) root we built: first unmount what debootstrap may have left mounted in it."""
    for m in _mounts_under(path):
        subprocess.run(["umount", "-l", m], capture_output=True, timeout=30, check=False)
    if _mounts_under(path):
        raise LabError(f"cannot remove {path}: still mounted inside: {', '.join(_mounts_under(path))}")
    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _lock(path: Path, progress: Progress) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress(f"waiting for another build of {path.with_suffix('')} (lock {path})")
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _dpkg_versions(root: Path, names: tuple[str, ...]) -> dict[str, str]:
    """Installed versions of ``names`` from the root's dpkg status file (no chroot needed)."""
    out: dict[str, str] = {}
    try:
        text = (root / "var/lib/dpkg/status").read_text(errors="replace")
    except OSError:
        return out
    for stanza in text.split("\n\n"):
        pkg = re.search(r"^Package: (\S+)$", stanza, re.M)
        ver = re.search(r"^Version: (\S+)$", stanza, re.M)
        if pkg and ver and pkg.group(1) in names and "install ok installed" in stanza:
            out[pkg.group(1)] = ver.group(1)
    return out


def debootstrap_argv(rel: Release, target: Path, mirror: str) -> list[str]:
    return [
        DEBOOTSTRAP,
        "--variant=minbase",
        "--include=" + ",".join(rel.packages),
        rel.suite,
        str(target),
        mirror,
    ]


def ensure(rel: Release, progress: Progress | None = None, install: bool = False) -> Path:
    """The cached root of ``rel``, built now if it is missing or incomplete (see the module doc)."""
    say = progress or (lambda _line: None)
    root = root_path(rel)
    if complete(root, rel):
        return root
    if os.geteuid() != 0:
        raise LabError(f"building the Debian {rel.debian} root for OVN {rel.name} needs root (debootstrap)")
    if not os.path.exists(DEBOOTSTRAP):
        if not install:
            raise LabError(
                "missing package debootstrap: run `apt-get install -y debootstrap` "
                "(or `ovntrace lab up --install`)",
                exit_code=4,
            )
        res = subprocess.run(["apt-get", "install", "-y", "debootstrap"], timeout=900, check=False,
                             env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        if res.returncode != 0:
            raise LabError(f"apt-get install -y debootstrap failed (exit {res.returncode})")
    with _lock(root.parent / f"rootfs-{rel.suite}.lock", say):
        if complete(root, rel):  # built by whoever held the lock
            return root
        for old in root.parent.glob(f".rootfs-{rel.suite}.*"):
            remove_tree(old)  # left by an interrupted build (we hold the lock: nobody else builds)
        mirror = host_mirror()
        tmp = root.parent / f".rootfs-{rel.suite}.build-{os.getpid()}"
        argv = debootstrap_argv(rel, tmp, mirror)
        say(f"building the Debian {rel.debian} ({rel.suite}) root for OVN {rel.name} in {root} "
            f"(once, cached; about 1.5 min and 350 MB): {' '.join(argv)}")
        t0 = time.monotonic()
        try:
            _run_debootstrap(argv, say, t0)
            versions = _dpkg_versions(tmp, ("ovn-host", "ovn-central", "openvswitch-switch",
                                            "python3-openvswitch"))
            info = {
                "suite": rel.suite,
                "release": rel.name,
                "mirror": mirror,
                "command": [*argv[:-2], "ROOT", mirror],
                "versions": versions,
                "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "seconds": round(time.monotonic() - t0, 1),
            }
            (tmp / MARKER).write_text(json.dumps(info, indent=1) + "\n")
            if not complete(tmp, rel):
                missing = [p for p in (*REQUIRED_IN_ROOT, *rel.extra) if not os.path.lexists(tmp / p)]
                raise LabError(f"debootstrap finished but the root lacks {', '.join(missing)}")
            if root.exists() or root.is_symlink():
                stale = root.parent / f".rootfs-{rel.suite}.stale-{os.getpid()}"
                os.rename(root, stale)
                remove_tree(stale)
            os.rename(tmp, root)  # atomic: the root is either absent or complete
        except BaseException:
            remove_tree(tmp)
            raise
        say(f"built {root} in {time.monotonic() - t0:.0f}s: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    return root


#: debootstrap's per-package lines, grouped so that progress shows one line per phase
PHASES = {"Retrieving": "download", "Validating": "download", "Extracting": "extract", "Unpacking": "unpack",
          "Configuring": "configure", "Installing": "install"}


def _run_debootstrap(argv: list[str], say: Progress, t0: float) -> None:
    """Run debootstrap; report each phase (download, extract, unpack, configure, ...) once, then every 10 s."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C")
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    except OSError as e:
        raise LabError(f"debootstrap: {e}") from None
    assert proc.stdout is not None
    tail: list[str] = []
    phase = ""
    count = 0
    last = 0.0
    deadline = time.monotonic() + BUILD_TIMEOUT
    try:
        for line in proc.stdout:
            line = line.rstrip()
            tail = [*tail, line][-15:]
            m = re.match(r"^I: (\w+)", line)
            if m:
                verb = PHASES.get(m.group(1), m.group(1))
                now = time.monotonic()
                if verb != phase:
                    phase, count, last = verb, 0, now
                    say(f"  [{now - t0:5.0f}s] debootstrap: {line[3:][:100]}")
                count += 1
                if now - last >= 10:  # a long phase: say how far it got every 10 s
                    last = now
                    say(f"  [{now - t0:5.0f}s] debootstrap: {count} so far: {line[3:][:80]}")
            if time.monotonic() > deadline:
                proc.kill()
                raise LabError(f"debootstrap took more than {BUILD_TIMEOUT:.0f}s")
        rc = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if rc != 0:
        raise LabError(f"debootstrap failed (exit {rc}): " + " | ".join(tail[-5:]))


def main(argv: list[str] | None = None) -> int:
    """``python -m ovntrace.lab.rootfs [--release 25.03] [--install]``: build the root when missing; print it."""
    import argparse
    import sys

    ap = argparse.ArgumentParser(prog="python -m ovntrace.lab.rootfs", description=main.__doc__)
    ap.add_argument("--release", default="25.03", choices=sorted(RELEASES))
    ap.add_argument("--install", action="store_true", help="apt-get install debootstrap when missing")
    args = ap.parse_args(argv)
    try:
        root = ensure(release(args.release), progress=lambda line: print(line, flush=True), install=args.install)
    except LabError as e:
        print(f"ovntrace: {e}", file=sys.stderr)
        return e.exit_code
    info = complete(root, release(args.release)) or {}
    versions = info.get("versions")
    pkgs = ", ".join(f"{k} {v}" for k, v in versions.items()) if isinstance(versions, dict) else "?"
    print(f"{root} (OVN {args.release}: {pkgs})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
