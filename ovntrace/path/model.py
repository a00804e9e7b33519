"""What a traced path is: the hops' traces, the stitched chains per conntrack state, the reply.

Pure data (no I/O); :mod:`ovntrace.path.stitch` builds it, :mod:`ovntrace.path.collect` feeds it,
:mod:`ovntrace.render.path` prints it. See docs/path.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ovntrace.correlate import path as P

SCHEMA = "ovntrace.path/1"
#: ``ovntrace path``'s exit status when a chain stopped at a node whose facts were not collected
EXIT_PARTIAL = 3
CT_STATES = ("trk,new", "trk,est")
MAX_HOPS = 4


class PathUsageError(Exception):
    """Bad input (unknown pod, missing inventory): exit 2."""


@dataclass
class NodeTrace:
    node: str
    ct: str  # "trk,new" (OVS's default) or "trk,est" (--ct-next)
    flow: str
    command: str
    text: str
    result: Any  # ParseResult
    ovn: Any  # TraceOvn | None
    seconds: float = 0.0

    @property
    def trace(self) -> Any:
        return self.result.traces[0]


@dataclass
class Chain:
    ct: str
    traces: list[NodeTrace] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)  # node-local runs joined by " ⇒ "
    verdict: dict[str, Any] = field(default_factory=dict)
    logical: Any = None  # ovntrace.path.logical.LogicalTrace: the ovn-trace and its comparison (path --logical)

    @property
    def line(self) -> str:
        return " ⇒ ".join(self.segments)


@dataclass
class PathResult:
    src: P.Endpoint
    dst: P.Endpoint
    src_node: str
    chains: list[Chain]
    stats: dict[str, Any]
    reverse: Reply | None = None
    context: Any = None  # the ClusterContext the path was built from (the TUI re-correlates with it)

    @property
    def partial(self) -> bool:
        """A chain stopped at a node whose facts were not collected (``ovntrace path`` exits 3)."""
        chains = self.chains + (self.reverse.chains if self.reverse is not None else [])
        return any(c.verdict.get("kind") == "partial" for c in chains)

class NeedsTrace(Exception):
    """Offline: the path needs a trace on a node that was not given (``--trace NODE=FILE``)."""

    def __init__(self, node: str, ct: str, command: str, flow: str) -> None:
        super().__init__(node)
        self.node, self.ct, self.command, self.flow = node, ct, command, flow

@dataclass
class Reply:
    """The reply direction (``--reverse``): traced chains, or why it was not traced; and the comparison."""

    src: P.Endpoint | None
    dst: P.Endpoint | None
    src_node: str | None
    chains: list[Chain]
    note: str | None  # why not traced, if not
    disagree: str | None  # how the two directions differ, if they do


class TraceSource(Protocol):
    """Where the stitching gets facts and traces from (:class:`ovntrace.path.collect.Env`)."""

    ctx: Any
    names: list[str]
    errors: dict[str, str]
    on_step: Callable[[int, int, str], None] | None
    steps: int

    def correlator(self, node: str) -> Any: ...

    def need(self, node: str) -> None: ...

    def missing(self, node: str) -> str | None: ...

    def trace_text(self, node: str, ct: str, argv: list[str], flow: str) -> str: ...
