"""A private, loopback-only Open vSwitch: ``ovsdb-server`` on its own ``conf.db`` and ``ovs-vswitchd`` with the
dummy datapath, in a temporary directory, unix sockets only. Nothing of the machine's own OVS is touched (its
own run, db and config directories are never used), no kernel datapath is opened (``--disable-system``), no
kernel route is read (``--disable-system-route``), and no TCP/UDP port is opened.

:class:`PrivateSwitch` is a context manager: leaving it (normally, on an error, on Ctrl-C) stops both daemons
(``exit`` over their own unixctl socket, then SIGTERM/SIGKILL of the exact pids it started, checked by their
start time) and removes the directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

VSWITCH_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
TOOLS = ("ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-ofctl", "ovs-appctl")
CMD_TIMEOUT = 120.0


class ReplayError(Exception):
    """A replay that cannot be done (one line); ``exit_code`` for the command line."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _path() -> str:
    path = os.environ.get("PATH", "/usr/bin:/bin")
    for extra in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        if extra not in path.split(":"):
            path += ":" + extra
    return path


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t, path=_path()) is None]


def _start_time(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


class PrivateSwitch:
    def __init__(self, dummy: str = "system") -> None:
        self.dummy = dummy  # "system": tunnel vports are OVS's native tunnels; "override": every port a dummy
        self.dir: Path | None = None
        self.pids: list[tuple[str, int, int | None]] = []
        self.log: list[str] = []  # every command run, for --debug / the report

    # -- lifecycle --

    def __enter__(self) -> PrivateSwitch:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        assert self.dir is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OVS_", "OVN_"))}
        d = str(self.dir)
        env.update({"OVS_RUNDIR": d, "OVS_DBDIR": d, "OVS_LOGDIR": d, "OVS_SYSCONFDIR": d,
                    "OVS_PKGDATADIR": "/usr/share/openvswitch", "PATH": _path()})
        return env

    def start(self) -> None:
        missing = missing_tools()
        if missing:
            raise ReplayError(f"replay needs Open vSwitch installed (missing: {', '.join(missing)}; "
                              "apt-get install openvswitch-switch)", exit_code=4)
        self.dir = Path(tempfile.mkdtemp(prefix="ovntrace-replay-", dir="/tmp"))
        d = self.dir
        self.run(["ovsdb-tool", "create", str(d / "conf.db"), VSWITCH_SCHEMA])
        self._daemon("ovsdb-server", ["ovsdb-server", "--detach", "--no-chdir", "-vconsole:off",
                                      f"--pidfile={d}/ovsdb-server.pid", f"--log-file={d}/ovsdb-server.log",
                                      f"--remote=punix:{d}/db.sock", f"--unixctl={d}/ovsdb-server.ctl",
                                      str(d / "conf.db")])
        self.run(["ovs-vsctl", "--no-wait", "init"])
        self._daemon("ovs-vswitchd", ["ovs-vswitchd", "--detach", "--no-chdir", "-vconsole:off",
                                      f"--enable-dummy={self.dummy}", "--disable-system", "--disable-system-route",
                                      f"--pidfile={d}/ovs-vswitchd.pid", f"--log-file={d}/ovs-vswitchd.log",
                                      f"--unixctl={d}/ovs-vswitchd.ctl", f"unix:{d}/db.sock"])

    def _daemon(self, name: str, argv: list[str]) -> None:
        assert self.dir is not None
        self.run(argv)
        pidfile = self.dir / f"{name}.pid"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                pid = int(pidfile.read_text().strip())
                break
            except (OSError, ValueError):
                time.sleep(0.02)
        else:
            raise ReplayError(f"{name} did not start (no pidfile; see {self.dir}/{name}.log)")
        self.pids.append((name, pid, _start_time(pid)))

    def stop(self) -> list[str]:
        """Stop what was started and remove the directory; the names of processes that had to be killed."""
        killed: list[str] = []
        if self.dir is not None:
            for name in ("ovs-vswitchd", "ovsdb-server"):
                if any(n == name for n, _, _ in self.pids):
                    ctl = self.dir / f"{name}.ctl"
                    if ctl.exists():
                        with contextlib.suppress(OSError, subprocess.SubprocessError):
                            subprocess.run(["ovs-appctl", "-t", str(ctl), "exit"], env=self.env(), timeout=5,
                                           capture_output=True, check=False)
        for name, pid, st in reversed(self.pids):
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and st is not None and _start_time(pid) == st:
                time.sleep(0.02)
            if st is not None and _start_time(pid) == st:  # still ours: TERM, then KILL
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    try:
                        os.kill(pid, sig)
                    except OSError:
                        break
                    t = time.monotonic() + 2
                    while time.monotonic() < t and _start_time(pid) == st:
                        time.sleep(0.02)
                    if _start_time(pid) != st:
                        break
                killed.append(name)
        self.pids = []
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        return killed

    def alive(self) -> list[int]:
        return [pid for _, pid, st in self.pids if st is not None and _start_time(pid) == st]

    # -- commands --

    def run(self, argv: Sequence[str], stdin: str | None = None, check: bool = True) -> str:
        self.log.append(" ".join(argv))
        try:
            res = subprocess.run(list(argv), env=self.env(), capture_output=True, text=True, input=stdin,
                                 timeout=CMD_TIMEOUT, check=False, cwd=self.dir)
        except FileNotFoundError:
            raise ReplayError(f"{argv[0]}: command not found (apt-get install openvswitch-switch)", 4) from None
        except subprocess.TimeoutExpired:
            raise ReplayError(f"{argv[0]} timed out after {CMD_TIMEOUT:.0f}s") from None
        if check and res.returncode != 0:
            err = (res.stderr.strip() or res.stdout.strip()).splitlines()
            raise ReplayError(f"`{' '.join(argv)[:160]}` failed (exit {res.returncode}): "
                              f"{' | '.join(err[-3:])[:400]}")
        return res.stdout

    def appctl(self, *args: str) -> str:
        assert self.dir is not None
        return self.run(["ovs-appctl", "-t", str(self.dir / "ovs-vswitchd.ctl"), *args])
