"""``ovntrace provision apply``: run the runbook on the nodes over SSH.

Every step of :func:`ovntrace.lab.runbook.plan` gets a stable id, ``<role>.<k>`` (the k-th step of that role
on that node, 1-based: ``compute.2`` is "point the chassis at the SB/NB databases"), which ``--step`` and
``ovntrace doctor``'s fixes use. For each selected step: the command is shown (secrets redacted), its check
is run and the step skipped when the check says it is done; otherwise, after confirmation for the node
(``--yes``, or an answer on a terminal; without a terminal and without ``--yes`` nothing is changed), the
command runs (daemon starts guarded by their check). The first failure stops the run with the command's
output. Every command run is appended to a log (redacted).

Secrets: every line shown or logged is built from :meth:`Inventory.redacted` (secret values replaced before
they are quoted), and all output goes through :meth:`Inventory.redact`. The log is created 0600 (an existing
one is made 0600), opened without following a symlink, and appended one record per ``write``.

The SSH layer is :mod:`ovntrace.sources.ssh` (one paramiko connection per node, host keys checked). A shell
step runs under :data:`WRAPPER` (``sh -c``): stderr folded into its output, its exit status echoed on a
marker line (so a failing step's whole output can be shown), in its own session and process group
(``setsid``) with a deadline (``timeout``) on the node, and a watcher that kills that process group when
the channel's stdin reaches end of file, i.e. when the SSH channel closes: a local timeout, Ctrl-C or a
killed ``apply`` stops the remote work (``ovn-nbctl --wait=hv sync`` included) instead of leaving it
running. A node run on this machine (no ``[nodes.ssh]``, no ``ssh_config`` entry) is said so before
anything runs; its steps run under the same wrapper, their stdin a pipe that dies with this process.
"""

from __future__ import annotations

import os
import re
import select as _select
import shlex
import socket
import stat
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ovntrace.lab import runbook
from ovntrace.lab.errors import LabError
from ovntrace.lab.inventory import Inventory
from ovntrace.sources.ssh import (
    COMMAND_TIMEOUT,
    LocalTransport,
    Pool,
    SshError,
    SshTransport,
    Transport,
    resolve_target,
)

RC_MARK = "__ovntrace_rc="
STEP_TIMEOUT = 90.0
#: how much longer than the node's own deadline this side waits for a command (so that the node reports it)
GRACE = 15.0
LOCAL_OUTPUT_CAP = 8 << 20
STEP_NAME = "ovntrace-step"  # the wrapper's $0: how its processes show in ps

#: Runs ``$1`` (a shell line) on the node: ``$2`` seconds at most (``timeout``, when the node has it), in a
#: session of its own (``setsid``, when the node has it), stderr into stdout, then ``__ovntrace_rc=N``.
#: A watcher reads the original stdin (the SSH channel: a pipe or a socket) and kills the step's process
#: group at its end of file: when the channel closes (this side timed out, was interrupted or killed), the
#: step dies with it. A stdin that is neither a pipe nor a socket (``docker exec`` without ``-i``) gets no
#: watcher (it would read EOF at once); the deadline still holds. POSIX sh (dash, bash, busybox).
WRAPPER = """step=$1 limit=$2 s= t= w=
exec 3<&0 </dev/null
command -v setsid >/dev/null 2>&1 && s=setsid
command -v timeout >/dev/null 2>&1 && t="timeout -k 5 $limit"
$s $t sh -c "$step" 2>&1 &
p=$!
if [ -p /dev/fd/3 ] || [ -S /dev/fd/3 ]; then
  { while read -r _; do :; done; kill -TERM -"$p" || kill -TERM "$p"; } <&3 >/dev/null 2>&1 &
  w=$!
fi
exec 3<&-
wait "$p"
rc=$?
[ -z "$w" ] || kill "$w" 2>/dev/null
echo "__RC_MARK__$rc"
""".replace("__RC_MARK__", RC_MARK)


@dataclass(frozen=True)
class PlannedStep:
    """A runbook step with its id (``role.k``, unique per node) and its position in the plan; ``shown`` and
    ``shown_check`` are its command and check as printed and logged (built from the redacted inventory)."""

    id: str
    index: int
    step: runbook.Step
    shown: str = ""
    shown_check: str | None = None

    @property
    def node(self) -> str:
        return self.step.node

    @property
    def ref(self) -> str:
        return f"{self.step.node}:{self.id}"


def planned_steps(inv: Inventory) -> list[PlannedStep]:
    """Every step of the plan, in order, with its id and its redacted command line."""
    out: list[PlannedStep] = []
    phases = runbook.plan(inv)
    real = [st for ph in phases for st in ph.steps]
    shown = [st for ph in runbook.plan(inv.redacted()) for st in ph.steps]
    # redaction changes values, never the plan's shape
    for sid, st, sh in zip(runbook.step_ids(phases), real, shown, strict=True):
        out.append(PlannedStep(sid, len(out) + 1, st, inv.redact(sh.line()),
                               inv.redact(sh.check) if sh.check is not None else None))
    return out


def find_step(inv: Inventory, node: str, role: str, needle: str) -> PlannedStep | None:
    """The first step of ``role`` on ``node`` whose comment or command contains ``needle``."""
    for ps in planned_steps(inv):
        st = ps.step
        if st.node == node and st.role == role and (needle in st.comment or needle in st.command):
            return ps
    return None


def select_steps(inv: Inventory, node: str | None = None, steps: Sequence[str] = ()) -> list[PlannedStep]:
    """The steps to apply: of ``node`` (all nodes when None), ids or roles in ``steps`` (all when empty)."""
    if node is not None:
        inv.node(node)
    out = [ps for ps in planned_steps(inv) if node is None or ps.node == node]
    if steps:
        wanted = [s.strip() for s in steps for s in s.split(",") if s.strip()]
        known = {ps.id for ps in out} | {ps.step.role for ps in out} | {ps.ref for ps in out}
        bad = [w for w in wanted if w not in known]
        if bad:
            ids = ", ".join(dict.fromkeys(ps.ref for ps in out))
            raise LabError(f"no step {', '.join(bad)}{' on ' + node if node else ''} (steps: {ids})", exit_code=2)
        out = [ps for ps in out if ps.id in wanted or ps.step.role in wanted or ps.ref in wanted]
    return out


select = select_steps  # the old name


# ---------------------------------------------------------------------------------------------
# transports


def default_inventory_path() -> Path:
    from ovntrace.lab.lab import default_dir

    return default_dir() / "inventory.toml"


def select_inventory(path: str | None) -> tuple[Inventory, Path, str]:
    """(inventory, its path, what selected it): ``path``, else ``$OVNTRACE_INVENTORY``, the config file's
    ``inventory``, the lab's (:mod:`ovntrace.lab.selection`); none, or a missing file, is a usage error
    (exit 2)."""
    from ovntrace.lab import selection

    sel = selection.select(path)
    assert sel.path is not None  # no bundled fallback here
    return selection.load(sel), sel.path, sel.how


def load_inventory(path: str | None) -> tuple[Inventory, Path]:
    """The inventory at ``path`` (default: as :func:`select_inventory` selects it); exit 2 when missing."""
    inv, p, _ = select_inventory(path)
    return inv, p


def open_pool(inv: Inventory, inv_path: Path, accept_new: bool = False) -> Pool:
    """One transport per node, as ``ovntrace path`` makes them: ``[nodes.ssh]``, then the ``ssh_config``
    next to the inventory, then ``~/.ssh/config``; a node with neither runs its commands on this host."""
    configs = [inv_path.parent / "ssh_config", Path.home() / ".ssh" / "config"]
    transports: dict[str, Transport] = {}
    for n in inv.nodes:
        if n.ssh is None and not any(c.is_file() and f"Host {n.name}" in c.read_text() for c in configs):
            transports[n.name] = LocalTransport(n.name)
            continue
        transports[n.name] = SshTransport(resolve_target(n.name, n.ssh, configs, accept_new))
    return Pool(transports)


def local_nodes(pool: Pool, nodes: Sequence[str]) -> list[str]:
    """The ``nodes`` whose commands run on this machine (no ``[nodes.ssh]``, no ``ssh_config`` entry)."""
    return [n for n in dict.fromkeys(nodes) if isinstance(pool.transports.get(n), LocalTransport)]


@dataclass(frozen=True)
class ShellResult:
    rc: int
    output: str


def wrapped_argv(command: str, timeout: float) -> list[str]:
    """The argv that runs ``command`` under :data:`WRAPPER` with a node-side deadline of ``timeout`` s."""
    return ["sh", "-c", WRAPPER, STEP_NAME, command, str(max(1, int(timeout)))]


def _result(out: str) -> ShellResult:
    m = re.search(re.escape(RC_MARK) + r"(\d+)\s*$", out)
    if m is None:
        return ShellResult(255, out)
    return ShellResult(int(m.group(1)), out[: m.start()])


def run_shell(pool: Pool, node: str, command: str, timeout: float = COMMAND_TIMEOUT) -> ShellResult:
    """Run a shell line on ``node`` under :data:`WRAPPER`: its exit status and its stdout+stderr (never
    raises for a non-zero exit; SshError when the node cannot be reached or this side times out). The
    node's deadline is ``timeout``; this side waits :data:`GRACE` seconds more for its report."""
    if isinstance(pool[node], LocalTransport):
        return _run_local(node, command, timeout)
    return _result(pool.run(node, wrapped_argv(command, timeout), timeout + GRACE))


def _run_local(node: str, command: str, timeout: float) -> ShellResult:
    """:func:`run_shell` on this host: the wrapper's stdin is a pipe only this process holds, so the step
    dies with this process (however it ends), as a remote one dies with its SSH channel."""
    argv = wrapped_argv(command, timeout)
    line = shlex.join(["sh", "-c", "<wrapper>", *argv[3:]])
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError as e:
        raise SshError(node, f"cannot run sh: {e.strerror or e}", line, "not-found") from None
    assert proc.stdout is not None and proc.stdin is not None
    out = bytearray()
    deadline = time.monotonic() + timeout + GRACE
    try:
        fd = proc.stdout.fileno()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SshError(node, f"timed out after {timeout + GRACE:.0f}s", line, "timeout")
            ready, _, _ = _select.select([fd], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            if len(out) < LOCAL_OUTPUT_CAP:
                out += chunk[: LOCAL_OUTPUT_CAP - len(out)]
        proc.wait()
    finally:
        proc.stdin.close()  # the watcher sees EOF: the step's process group is killed if it still runs
        proc.stdout.close()
        if proc.poll() is None:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return _result(out.decode("utf-8", "replace"))


def open_log(path: Path) -> int:
    """The apply log, for appending: created 0600 (an existing one is made 0600: it names the cluster's
    commands), never through a symlink, only a regular file. Returns the fd (one record per ``write``)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as e:
        hint = " (a symlink: pass --log FILE)" if path.is_symlink() else ""
        raise LabError(f"cannot open the apply log {path}: {e.strerror or e}{hint}", exit_code=2) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise LabError(f"the apply log {path} is not a regular file (pass --log FILE)", exit_code=2)
        if stat.S_IMODE(st.st_mode) != 0o600:
            os.fchmod(fd, 0o600)
    except BaseException:
        os.close(fd)
        raise
    return fd


# ---------------------------------------------------------------------------------------------
# apply


@dataclass
class ApplyResult:
    ran: int = 0
    skipped: int = 0
    failed: str | None = None
    refused: bool = False


Confirm = Callable[[str], bool]


def apply(
    inv: Inventory,
    pool: Pool,
    steps: Sequence[PlannedStep],
    out: TextIO,
    confirm: Confirm | None,
    log: Path | None = None,
) -> ApplyResult:
    """Apply ``steps`` in order (see the module doc). ``confirm(node)`` is asked once per node before its
    first change; None means "yes" (``--yes``)."""
    res = ApplyResult()
    agreed: set[str] = set()
    logfd = open_log(log) if log else None

    def say(line: str) -> None:
        out.write(inv.redact(line) + "\n")
        out.flush()

    def record(node: str, sid: str, what: str, command: str | None, rc: int | str) -> None:
        if logfd is not None:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
            text = inv.redact(f"{stamp} {node} {sid} {what} rc={rc}: {command or ''}").replace("\n", "\\n")
            os.write(logfd, (text + "\n").encode("utf-8", "replace"))

    try:
        for ps in steps:
            st = ps.step
            say(f"[{st.node}] {ps.id}: {st.comment}")
            say(f"  $ {ps.shown}")
            if st.check:
                try:
                    chk = run_shell(pool, st.node, st.check)
                except SshError as e:
                    res.failed = inv.redact(str(e))
                    say(f"  FAILED: cannot run the check: {e}")
                    record(st.node, ps.id, "check", ps.shown_check, "ssh-error")
                    return res
                record(st.node, ps.id, "check", ps.shown_check, chk.rc)
                if chk.rc == 0:
                    say("  done already (check passed): skipped")
                    res.skipped += 1
                    continue
            if st.node not in agreed:
                if confirm is not None and not confirm(st.node):
                    say(f"  not confirmed: nothing changed on {st.node}; stopping")
                    res.refused = True
                    return res
                agreed.add(st.node)
            try:
                r = run_shell(pool, st.node, st.line(), STEP_TIMEOUT)
            except SshError as e:
                res.failed = inv.redact(str(e))
                say(f"  FAILED: {e}")
                record(st.node, ps.id, "run", ps.shown, "ssh-error")
                return res
            record(st.node, ps.id, "run", ps.shown, r.rc)
            res.ran += 1
            text = inv.redact(r.output.rstrip("\n"))  # whole, before splitting: a secret may span lines
            if r.rc != 0:
                say(f"  FAILED (exit {r.rc}); stopping here. Output:")
                for ln in text.splitlines() or ["(no output)"]:
                    say(f"  | {ln}")
                res.failed = inv.redact(f"{st.node}: {ps.id} failed (exit {r.rc})")
                return res
            for ln in text.splitlines():
                say(f"  | {ln}")
            say("  ok")
        return res
    finally:
        if logfd is not None:
            os.close(logfd)


def terminal_confirm(stdin: TextIO, out: TextIO, here: Sequence[str] = ()) -> Confirm:
    def ask(node: str) -> bool:
        where = f"{node} (THIS machine)" if node in here else node
        out.write(f"apply changes on {where}? [y/N] ")
        out.flush()
        answer = stdin.readline()
        return answer.strip().lower() in ("y", "yes")

    return ask


def cmd_apply(args: object, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    """``ovntrace provision apply``; exit 0 applied (or nothing to do), 1 a step failed / SSH error,
    2 usage (no inventory, a bad inventory, unknown step, no terminal without --yes), 3 not confirmed."""
    from ovntrace.lab import selection

    inv, path, how = select_inventory(getattr(args, "inventory", None))
    node: str | None = getattr(args, "node", None)
    steps = select_steps(inv, node, getattr(args, "step", None) or ())
    yes = bool(getattr(args, "yes", False))
    if not yes and not stdin.isatty():
        raise LabError("refusing to change nodes without confirmation: no terminal on stdin (pass --yes)",
                       exit_code=2)
    log_arg = getattr(args, "log", None)
    log = Path(log_arg) if log_arg else path.parent / "provision-apply.log"
    where = node or ", ".join(dict.fromkeys(ps.node for ps in steps))
    stdout.write(f"# ovntrace provision apply: {len(steps)} steps on {where} (inventory {path}, log {log})\n")
    stdout.write(f"# {selection.describe(inv, selection.Selected(path, how))}\n")
    with open_pool(inv, path, bool(getattr(args, "accept_new", False))) as pool:
        here = local_nodes(pool, [ps.node for ps in steps])
        for n in here:
            k = sum(ps.node == n for ps in steps)
            stdout.write(f"# NOTE: node {n} has no [nodes.ssh] and no `Host {n}` in an ssh_config: its {k} "
                         f"step(s) run on THIS machine ({socket.gethostname()})\n")
        stdout.flush()
        confirm = None if yes else terminal_confirm(stdin, stdout, here)
        res = apply(inv, pool, steps, stdout, confirm, log)
    summary = f"# {res.ran} run, {res.skipped} skipped (done already)"
    if res.failed:
        stdout.write(summary + f"; stopped: {res.failed}\n")
        return 1
    if res.refused:
        stdout.write(summary + "; stopped: not confirmed\n")
        return 3
    stdout.write(summary + "\n")
    return 0


def apply_command(ps: PlannedStep, inventory: str | None = None) -> str:
    """The ``ovntrace provision apply`` line that runs exactly this step."""
    argv = ["ovntrace", "provision", "apply"]
    if inventory:
        argv += ["--inventory", inventory]
    argv += ["--node", ps.node, "--step", ps.id]
    return shlex.join(argv)
