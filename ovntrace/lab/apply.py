"""``ovntrace provision apply``: run the runbook on the nodes over SSH.

Every step of :func:`ovntrace.lab.runbook.plan` gets a stable id, ``<role>.<k>`` (the k-th step of that role
on that node, 1-based: ``compute.2`` is "point the chassis at the SB/NB databases"), which ``--step`` and
``ovntrace doctor``'s fixes use. For each selected step: the command is shown (secrets redacted), its check
is run and the step skipped when the check says it is done; otherwise, after confirmation for the node
(``--yes``, or an answer on a terminal; without a terminal and without ``--yes`` nothing is changed), the
command runs (daemon starts guarded by their check). The first failure stops the run with the command's
output. Every command run is appended to a log (redacted).

The SSH layer is :mod:`ovntrace.sources.ssh` (one paramiko connection per node, host keys checked); a
shell step is sent as ``sh -c <step>`` with its stderr folded into its output and its exit status echoed
on a marker line, so a failing step's whole output can be shown.
"""

from __future__ import annotations

import re
import shlex
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


@dataclass(frozen=True)
class PlannedStep:
    """A runbook step with its id (``role.k``, unique per node) and its position in the plan."""

    id: str
    index: int
    step: runbook.Step

    @property
    def node(self) -> str:
        return self.step.node

    @property
    def ref(self) -> str:
        return f"{self.step.node}:{self.id}"


def planned_steps(inv: Inventory) -> list[PlannedStep]:
    """Every step of the plan, in order, with its id."""
    counts: dict[tuple[str, str], int] = {}
    out: list[PlannedStep] = []
    for ph in runbook.plan(inv):
        for st in ph.steps:
            k = counts.get((st.node, st.role), 0) + 1
            counts[(st.node, st.role)] = k
            out.append(PlannedStep(f"{st.role}.{k}", len(out) + 1, st))
    return out


def find_step(inv: Inventory, node: str, role: str, needle: str) -> PlannedStep | None:
    """The first step of ``role`` on ``node`` whose comment or command contains ``needle``."""
    for ps in planned_steps(inv):
        st = ps.step
        if st.node == node and st.role == role and (needle in st.comment or needle in st.command):
            return ps
    return None


def select(inv: Inventory, node: str | None = None, steps: Sequence[str] = ()) -> list[PlannedStep]:
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


# ---------------------------------------------------------------------------------------------
# transports


def default_inventory_path() -> Path:
    from ovntrace.lab.lab import default_dir

    return default_dir() / "inventory.toml"


def load_inventory(path: str | None) -> tuple[Inventory, Path]:
    """The inventory at ``path`` (default: the lab's); a missing file is a usage error (exit 2)."""
    from ovntrace.lab import inventory as inv_mod

    p = Path(path) if path else default_inventory_path()
    if not p.is_file():
        hint = "" if path else " (start the lab with `ovntrace lab up`, or pass --inventory)"
        raise LabError(f"no inventory at {p}{hint}", exit_code=2)
    return inv_mod.load(p), p


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


@dataclass(frozen=True)
class ShellResult:
    rc: int
    output: str


def run_shell(pool: Pool, node: str, command: str, timeout: float = COMMAND_TIMEOUT) -> ShellResult:
    """Run a shell line on ``node``: its exit status and its stdout+stderr (never raises for a non-zero
    exit; SshError when the node cannot be reached)."""
    wrapped = "{ " + command + "\n} 2>&1; echo " + RC_MARK + "$?"
    out = pool.run(node, ["sh", "-c", wrapped], timeout)
    m = re.search(re.escape(RC_MARK) + r"(\d+)\s*$", out)
    if m is None:
        return ShellResult(255, out)
    return ShellResult(int(m.group(1)), out[: m.start()])


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
    logf = log.open("a", encoding="utf-8") if log else None

    def say(line: str) -> None:
        out.write(inv.redact(line) + "\n")
        out.flush()

    def record(node: str, sid: str, what: str, command: str, rc: int | str) -> None:
        if logf is not None:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
            logf.write(inv.redact(f"{stamp} {node} {sid} {what} rc={rc}: {command}") + "\n")
            logf.flush()

    try:
        for ps in steps:
            st = ps.step
            say(f"[{st.node}] {ps.id}: {st.comment}")
            say(f"  $ {st.line()}")
            if st.check:
                try:
                    chk = run_shell(pool, st.node, st.check)
                except SshError as e:
                    res.failed = inv.redact(str(e))
                    say(f"  FAILED: cannot run the check: {e}")
                    record(st.node, ps.id, "check", st.check, "ssh-error")
                    return res
                record(st.node, ps.id, "check", st.check, chk.rc)
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
                record(st.node, ps.id, "run", st.line(), "ssh-error")
                return res
            record(st.node, ps.id, "run", st.line(), r.rc)
            res.ran += 1
            text = r.output.rstrip("\n")
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
        if logf is not None:
            logf.close()


def terminal_confirm(stdin: TextIO, out: TextIO) -> Confirm:
    def ask(node: str) -> bool:
        out.write(f"apply changes on {node}? [y/N] ")
        out.flush()
        answer = stdin.readline()
        return answer.strip().lower() in ("y", "yes")

    return ask


def cmd_apply(args: object, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    """``ovntrace provision apply``; exit 0 applied (or nothing to do), 1 a step failed / SSH error,
    2 usage (no inventory, unknown step, no terminal without --yes), 3 not confirmed."""
    inv, path = load_inventory(getattr(args, "inventory", None))
    node: str | None = getattr(args, "node", None)
    steps = select(inv, node, getattr(args, "step", None) or ())
    yes = bool(getattr(args, "yes", False))
    if not yes and not stdin.isatty():
        raise LabError("refusing to change nodes without confirmation: no terminal on stdin (pass --yes)",
                       exit_code=2)
    log_arg = getattr(args, "log", None)
    log = Path(log_arg) if log_arg else path.parent / "provision-apply.log"
    confirm = None if yes else terminal_confirm(stdin, stdout)
    where = node or ", ".join(dict.fromkeys(ps.node for ps in steps))
    stdout.write(f"# ovntrace provision apply: {len(steps)} steps on {where} (inventory {path}, log {log})\n")
    with open_pool(inv, path, bool(getattr(args, "accept_new", False))) as pool:
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
