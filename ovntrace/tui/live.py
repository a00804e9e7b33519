"""``ovntrace path SRC DST --tui``: the path traced over SSH (or from a snapshot), as the TUI shows it.

:func:`trace_path` runs in a Textual thread worker. It calls :func:`ovntrace.path.run_path` for one
conntrack state and turns the result into what the explain screen already knows how to show: one text
made of each hop's ``ofproto/trace`` output (in path order, each after a ``# ovntrace path:`` line that
says on which node and with which command it was taken), which node each trace belongs to (for OVN
meaning), and the stitched path line with its verdict. Progress goes to a callback that may raise
:class:`Cancelled` to stop between two SSH commands.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# ofproto/trace --ct-next states a user picks with `c`: what OVN's pipelines branch on
CT_CHOICES: tuple[tuple[str, str], ...] = (
    ("trk,new", "a new connection (OVS's default: the first packet)"),
    ("trk,est", "an established connection (a later packet)"),
    ("trk,est,rpl", "an established connection, reply direction"),
    ("trk,rel", "related to a connection (ICMP errors, FTP data)"),
    ("trk,inv", "invalid (conntrack could not make sense of it)"),
)


class Cancelled(Exception):
    """The user cancelled the live trace."""


@dataclass(frozen=True)
class PathRequest:
    """What ``ovntrace path`` was asked (the TUI re-runs it with another conntrack state)."""

    src: str
    dst: str
    inventory: str | None = None
    proto: str = "icmp"
    dport: int | None = None
    sport: int | None = None
    accept_new: bool = False
    offline: str | None = None
    traces: tuple[tuple[str, str, str], ...] = ()  # offline: (node, ct, file)
    ct: str = "trk,new"

    @property
    def title(self) -> str:
        port = f":{self.dport}" if self.dport else ""
        return f"path {self.src} → {self.dst}{port} ({self.proto}, {self.ct})"


@dataclass(frozen=True)
class PathView:
    """One traced path, ready for the explain screen."""

    request: PathRequest
    text: str
    nodes: tuple[str, ...]  # trace i of ``text`` was taken on nodes[i]
    context: Any  # ClusterContext
    line: str  # the stitched path: "client-1 @ kube-node1 → switch … ⇒ geneve … → sshd-2 @ kube-node2"
    verdict: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    logical: Any = None  # ovntrace.path.logical.LogicalTrace: the ovn-trace and its comparison (Logical tab)

    @property
    def verdict_text(self) -> str:
        v = self.verdict
        word = "DELIVERED" if v.get("delivered") else str(v.get("kind", "?")).upper()
        cause = v.get("cause")
        return f"{word}: {cause}" if cause else word


def trace_path(request: PathRequest, progress: Callable[[str], object], cancel: threading.Event) -> PathView:
    """Run the path for ``request.ct``; ``progress(what)`` at each step. Raises :class:`Cancelled`,
    or the path's own errors (``PathUsageError``, ``PathError``, ``SshError``, ``SourceError``)."""
    from pathlib import Path

    from ovntrace.path import run_path

    def step(done: int, total: int, what: str) -> None:
        if cancel.is_set():
            raise Cancelled()
        if what:
            progress(f"{what} ({done}/{total})" if total else what)

    traces = {(n, ct): Path(f) for n, ct, f in request.traces}
    r = run_path(request.src, request.dst, request.inventory, request.proto, request.dport, request.sport,
                 request.accept_new, offline=request.offline, traces=traces, cts=(request.ct,), on_step=step,
                 logical=True)
    if cancel.is_set():
        raise Cancelled()
    chain = r.chains[0]
    parts: list[str] = []
    nodes: list[str] = []
    for i, nt in enumerate(chain.traces):
        parts.append(f"# ovntrace path: hop {i + 1} on {nt.node} ({nt.ct}): {nt.command}")
        parts.append(nt.text.rstrip("\n"))
        parts.append("")
        nodes.append(nt.node)
    if not chain.traces:  # offline and the first hop's trace was not given
        parts.append(f"# ovntrace path: {chain.verdict.get('cause', 'no trace')}")
    return PathView(request, "\n".join(parts) + "\n", tuple(nodes), r.context, chain.line, dict(chain.verdict),
                    dict(r.stats), chain.logical)
