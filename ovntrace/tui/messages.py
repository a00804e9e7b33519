"""Messages the workers post to the UI thread (dataclasses, as toolong does)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from textual.message import Message

from ovntrace.model import ParseResult
from ovntrace.model.ovn import TraceOvn
from ovntrace.tui.outline import Outline, OutlinePart, OvnLabels


@dataclass
class Parsed(Message):
    """The input parsed and its tree built (in a worker thread)."""

    generation: int
    text: str
    result: ParseResult
    outline: Outline
    view: Any = None  # live: the traced path (a PathView) the text is made of
    # the path pane's rows per trace before OVN meaning (tui.widgets.path.PathHop lists), built in the worker
    hops: Any = None
    # False: the first traces of a long input; the rest follows in MoreTraces messages, the last complete
    complete: bool = True
    total: int = 0  # traces in the input (known once it is segmented)
    drawn: threading.Event | None = None  # set once the UI has drawn it (the worker waits for it)


@dataclass
class MoreTraces(Message):
    """More traces of the input being read (after a partial :class:`Parsed`): ``result`` holds every
    trace read so far, ``part`` the tree nodes of the new ones."""

    generation: int
    result: ParseResult
    part: OutlinePart
    hops: Any
    complete: bool
    total: int


@dataclass
class ParseFailed(Message):
    generation: int
    error: str


@dataclass
class Correlated(Message):
    """OVN meaning of one trace arrived (traces are correlated one by one, after the tree is shown)."""

    generation: int
    trace_index: int
    ovn: TraceOvn | None
    labels: OvnLabels


@dataclass
class CorrelateProgress(Message):
    """``done`` of ``total`` traces correlated; bursts collapse (only the latest matters)."""

    generation: int
    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CorrelateProgress) and message.generation == self.generation


@dataclass
class Exported(Message):
    path: str
    size: int


@dataclass
class DoctorDone(Message):
    """``ovntrace doctor`` finished (a Report), or could not run (``error``)."""

    report: Any
    error: str | None = None


@dataclass
class DoctorProgress(Message):
    """``done`` of ``total`` doctor commands have answered; bursts collapse."""

    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DoctorProgress)


@dataclass
class FactsLoaded(Message):
    """Cluster facts (``--nb/--sb/--context``) read in a worker: a ClusterContext, or why not."""

    generation: int
    context: Any
    error: str | None = None


@dataclass
class LiveProgress(Message):
    """A step of the live path trace (an SSH command, a trace); bursts collapse."""

    generation: int
    what: str

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LiveProgress) and message.generation == self.generation


@dataclass
class LiveFailed(Message):
    """The live path trace stopped: an error (SSH, unknown pod) or the user's cancel."""

    generation: int
    error: str
    cancelled: bool = False
