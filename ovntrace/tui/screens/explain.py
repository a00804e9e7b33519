"""The main screen: verdict, path, trace tree, and the details / runbook / raw tabs for the selection.

Parsing (and reading a file) runs in a thread worker; OVN correlation runs after the tree is shown,
one trace at a time, and only relabels rows. Every key press in the tree updates the panes from the
already-built outline: nothing is rebuilt per key.

Live (``ovntrace path SRC DST --tui``): a thread worker traces the path over SSH (progress in the header,
escape cancels between two commands), its hops' traces become the input, each correlated with the facts
of the node it was taken on; ``c`` re-traces with another conntrack state, ``r`` re-traces.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.events import Resize, ScreenResume
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from ovntrace.render.safe import SafeText, escape_lines
from ovntrace.sources.errors import SourceError
from ovntrace.tui import styles
from ovntrace.tui.details import describe, node_lines
from ovntrace.tui.messages import (
    Correlated,
    CorrelateProgress,
    DoctorDone,
    DoctorProgress,
    Exported,
    FactsLoaded,
    LiveFailed,
    LiveProgress,
    MoreTraces,
    Parsed,
    ParseFailed,
)
from ovntrace.tui.outline import Node, Outline, apply_ovn, build, build_part, ovn_labels
from ovntrace.tui.source import Options, Source
from ovntrace.tui.widgets.footer import KeysFooter
from ovntrace.tui.widgets.logical import LogicalPane
from ovntrace.tui.widgets.panes import ControlPictures, TextPane
from ovntrace.tui.widgets.path import PathHop, PathPane, trace_hops
from ovntrace.tui.widgets.tree import TraceTree
from ovntrace.tui.widgets.verdict import VerdictBar

if TYPE_CHECKING:  # the export dialog is imported when `e` opens it (its modules are not needed to open)
    from ovntrace.tui.live import PathRequest, PathView
    from ovntrace.tui.screens.export import ExportRequest
    from ovntrace.tui.widgets.raw import RawView

NARROW = 120  # below this many columns the side tabs go under the tree
def _freeze_heap(collect: bool = True) -> None:
    """Move what is alive now (the parsed trace, its outline, the tree) out of the cyclic GC's reach.

    A 10k-line trace is a few hundred thousand long-lived objects; left in the collector, a full
    collection now and then walks all of them in the middle of a keypress (~100 ms in bench_tui.py).
    ``load`` unfreezes before the next parse; the collection here frees the previous generation (its
    outline and tree nodes point at each other: only the cycle collector frees them) before the rest is
    frozen, so ``r`` and ``c`` do not pile up frozen garbage. One full collection per re-load, none per
    key; none for the first load (nothing to free yet: the ~100 ms it costs would delay the first frame).
    """
    if collect:
        gc.collect()
    gc.freeze()


def initial_hops(result: Any, view: PathView | None) -> dict[int, list[PathHop]]:
    """The path pane's rows of every trace before OVN meaning (built in the parse worker)."""
    out: dict[int, list[PathHop]] = {}
    for ti in range(len(result.traces)):
        name = f"hop {ti + 1} @ {view.nodes[ti]}" if view is not None and ti < len(view.nodes) else None
        out[ti] = trace_hops(result, ti, None, name)
    return out


SELECTION_SETTLE_S = 0.06  # keys closer than this are a burst: the details pane updates this long after the last
PART_S = 0.25  # opening a long input: more traces are added to the tree at most this often
FIRST_FRAME_WAIT_S = 1.0  # the parse worker waits (at most this long) for the first traces to be drawn
# opening: no frame is drawn until the first trace is in the tree, for at most this long (an empty
# "reading…" screen drawn meanwhile would be laid out and rendered for nothing, and share the CPU
# with the parse)
FIRST_PAINT_HOLD_S = 0.5
PATH_SETTLE_S = 0.1  # OVN meaning arrives one trace at a time: the path pane is redrawn once per burst

RUNBOOK_HINT = (
    "No inventory given.\n\n"
    "Start with `ovntrace tui TRACE --inventory FILE` (the TOML of `ovntrace provision plan`) to see here "
    "the provisioning commands that concern the selection: the node's `ovs-vsctl set Open_vSwitch . "
    "external_ids:…` line for a tunnel endpoint, the `ovn-nbctl` commands that made the switch, router "
    "port, pod port or ACL in view. `ovntrace lab up` writes one for the bundled cluster."
)


class ExplainScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", id="explain.search", tooltip="Search the tree"),
        Binding("n", "next_match", "Next", show=False, id="explain.next", tooltip="Next search hit"),
        Binding("N", "previous_match", "Prev", show=False, id="explain.previous", tooltip="Previous search hit"),
        Binding("r", "rerun", "Re-run", id="explain.rerun", tooltip="Read the input again and re-parse it"),
        Binding("e", "export", "Export", id="explain.export", tooltip="Write Markdown or JSON to a file"),
        Binding("y", "copy", "Copy", id="explain.copy", tooltip="Copy the selection to the clipboard"),
        Binding("v", "verdict", "Verdict", id="explain.verdict",
                tooltip="Go to the step that decided the verdict (of the selected trace)"),
        Binding("c", "conntrack", "CT", show=False, id="explain.conntrack",
                tooltip="Pick a conntrack state and re-trace (live sources only)"),
        Binding("1", "tab('details')", "Details", show=False, id="explain.tab.details", tooltip="Details tab"),
        Binding("2", "tab('runbook')", "Runbook", show=False, id="explain.tab.runbook", tooltip="Runbook tab"),
        Binding("3", "tab('raw')", "Raw", show=False, id="explain.tab.raw", tooltip="Raw input tab"),
        Binding("4", "tab('logical')", "Logical", show=False, id="explain.tab.logical",
                tooltip="Logical tab: ovn-trace vs ofproto/trace"),
        Binding("escape", "close_search", "Close search", show=False, id="explain.close_search",
                tooltip="Close the search box; cancel a live trace"),
    ]

    def __init__(self, source: Source, options: Options | None = None, *, from_paste: bool = False) -> None:
        super().__init__()
        self.source = source
        self.options = options or Options()
        self.from_paste = from_paste
        self.generation = 0  # of the newest load (parse or live trace) asked for
        self.shown_generation = 0  # of the outline on screen (a failed re-parse keeps the previous one)
        self.text = source.text or ""
        self.text_lines: list[str] = []
        self.outline: Outline | None = None
        self.trace_index = 0
        self.matches: list[Node] = []
        self.match_pos = -1
        self.query_text = ""
        self._raw_loaded = False
        self._raw: RawView | None = None  # the raw tab's view: made when that tab is first opened
        self._search_box: Input | None = None  # made when `/` first opens it
        self._selection_timer: Timer | None = None
        self._last_move = 0.0  # when the tree's cursor last moved (time.monotonic)
        self.doctor_state = "off"  # off | running | done | error
        self.doctor_report: Any = None
        self.doctor_progress = ""
        self._doctor_cancel: threading.Event | None = None
        self.live: PathRequest | None = self.options.live
        self.path_view: PathView | None = None
        self._cancel: threading.Event | None = None  # set while a live trace runs
        self.context = self.options.context
        # --nb/--sb/--context: none | loading | done | failed | skipped (escape while loading)
        self.has_facts = bool(self.options.nb or self.options.sb or self.options.contexts)
        self.facts_state = "loading" if self.has_facts else "none"
        self._pending: tuple[int, Outline] | None = None  # parsed, waiting for the facts to correlate
        self._hops: dict[int, list[PathHop]] = {}  # path pane rows per trace, dropped when its OVN text arrives
        self._path_timer: Timer | None = None
        # the row the tree opened on (the step that decided the verdict): while the cursor stays there, it
        # follows the verdict when OVN meaning moves it (the ACL drop before OVS's controller action)
        self._auto_node: Node | None = None
        self._total = 0  # while a long input is being read: its traces (the tree has the first ones)
        self._paint_hold: contextlib.AbstractContextManager[None] | None = None  # see _hold_paint
        self._resumed = False  # see _on_screen_resume

    def compose(self) -> ComposeResult:
        yield VerdictBar(Text("reading…"), id="verdict")
        yield PathPane(id="path")
        with Container(id="body"):
            yield TraceTree(id="tree")
            with TabbedContent(id="side"):
                with TabPane("Details", id="details"):
                    yield TextPane(id="details-pane")
                with TabPane("Runbook", id="runbook"):
                    yield TextPane(id="runbook-pane")
                yield TabPane("Raw", id="raw")  # its view is mounted when the tab is first opened (_tab)
                with TabPane("Logical", id="logical"):  # ovn-trace vs ofproto/trace (tui/widgets/logical.py)
                    yield LogicalPane(id="logical-pane")
        yield Static(Text(""), id="status")
        yield KeysFooter()  # the search box is mounted before it when `/` first opens it

    def on_mount(self) -> None:
        self.query_one("#path", PathPane).border_title = "path"
        self.query_one("#tree", TraceTree).border_title = "trace"
        self.query_one("#side", TabbedContent).hide_tab("logical")  # until there is an ovn-trace to compare
        self.query_one("#status", Static).display = False
        self._layout(self.app.size.width)
        tree = self.query_one("#tree", TraceTree)
        tree.on_move = self._moved
        tree.focus()
        if self.live is None:
            self._hold_paint()
        self.load()
        if self.options.inventory_path and self.options.doctor:
            self.doctor_state = "running"
            self._doctor_cancel = threading.Event()
            self._doctor(self.options.inventory_path, self._doctor_cancel)

    def _on_screen_resume(self, event: ScreenResume) -> None:
        """Before Textual's own handler (``Screen._on_screen_resume``, called next): the first time, the
        screen's styles are not computed again (each widget was styled as it was mounted, a moment ago:
        re-styling the whole screen cost ~40 ms of the first frame); a screen coming back (after a dialog,
        a theme switch) is re-styled as usual."""
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False

    def _hold_paint(self) -> None:
        """No repaint until the first trace is shown (``_release_paint``) or ``FIRST_PAINT_HOLD_S``
        has passed: the first frame drawn is then the trace's, not a "reading…" screen drawn and laid
        out once or twice before it (Textual's ``batch_update``, held across the parse)."""
        hold = self.app.batch_update()
        hold.__enter__()
        self._paint_hold = hold
        self.set_timer(FIRST_PAINT_HOLD_S, self._release_paint)

    def _compositor_refresh(self) -> None:
        if self._paint_hold is None:  # while held, the frame would be rendered and thrown away
            super()._compositor_refresh()

    def _release_paint(self) -> None:
        hold, self._paint_hold = self._paint_hold, None
        if hold is not None:
            hold.__exit__(None, None, None)
            self.refresh(layout=True)

    @work(thread=True, exclusive=True, group="doctor", exit_on_error=False, description="doctor")
    def _doctor(self, inventory: str, cancel: threading.Event) -> None:
        """Read-only checks of the cluster over SSH; findings go to the runbook pane (progress there too;
        escape stops it: the commands not started yet are not run)."""
        from ovntrace.doctor.cli import run_doctor
        from ovntrace.tui.live import Cancelled

        def step(done: int, total: int, what: str) -> None:
            if cancel.is_set():
                raise Cancelled()
            self.post_message(DoctorProgress(done, total))

        try:
            report = run_doctor(inventory, on_step=step)
        except Cancelled:
            self.post_message(DoctorDone(None, "stopped (escape)"))
            return
        except Exception as e:  # SSH/inventory problems become a notification, never a crash
            self.post_message(DoctorDone(None, f"{type(e).__name__}: {e}"))
            return
        self.post_message(DoctorDone(report))

    def on_doctor_progress(self, message: DoctorProgress) -> None:
        if self.doctor_state == "running":
            self.doctor_progress = f"{message.done}/{message.total} commands"
            if self.query_one("#side", TabbedContent).active == "runbook":
                self._show_selection()

    def on_doctor_done(self, message: DoctorDone) -> None:
        if self.doctor_state == "stopped":
            return  # escape already said so
        self._doctor_cancel = None
        self.doctor_report = message.report
        self.doctor_state = "error" if message.error else "done"
        if message.error:
            self.notify(f"doctor could not run: {message.error}", severity="warning", markup=False, timeout=8)
        else:
            n = len(message.report.errors)
            self.notify(f"doctor: {n} error(s), {len(message.report.findings)} finding(s)",
                        severity="error" if n else "information", timeout=6)
        self._show_selection()

    def on_resize(self, event: Resize) -> None:
        self._layout(event.size.width)

    def _layout(self, width: int) -> None:
        self.set_class(width < NARROW, "-narrow")

    # -- parse and correlate (workers) ---------------------------------------------------------

    def load(self) -> None:
        """(Re)parse the input in a thread worker; the newest generation wins."""
        self.generation += 1
        gc.unfreeze()  # the previous generation's objects may be collected again
        if self.live is not None:
            if self._cancel is not None:
                self._cancel.set()  # an older live trace stops at its next step; the newest wins
            self._cancel = threading.Event()
            self.query_one("#verdict", VerdictBar).show_message(f"{self.live.title}: starting… (escape: cancel)")
            self._trace_live(self.generation, self.live, self._cancel)
            return
        self.query_one("#verdict", VerdictBar).show_message(f"parsing {self.source.name}…")
        path = self.source.path if self.source.text is None or self.generation > 1 else None
        self._parse(self.generation, None if path is not None else self.text, path)

    @work(thread=True, exclusive=True, group="parse", exit_on_error=False, description="parse")
    def _parse(self, generation: int, text: str | None, path: Path | None) -> None:
        from ovntrace.parser import parse

        worker = get_current_worker()
        try:
            if text is None and path is not None:
                from ovntrace.sources.limits import read_path

                # capped (a FIFO or /dev/zero cannot fill the memory); lines split on LF only, later
                text = read_path(path).decode("utf-8", errors="replace")
            assert text is not None
            if generation == 1:  # opening: the first traces on screen while the rest is read
                self._parse_in_steps(generation, text)
                return
            result = parse(text)  # r: the tree is replaced once, where the cursor was
            if worker.is_cancelled:
                return
            outline = build(result)
            hops = initial_hops(result, None)
        except OSError as e:
            self.post_message(ParseFailed(generation, f"cannot read {path}: {e.strerror or e}"))
            return
        except SourceError as e:  # gone, too large, damaged compression: one line naming the file
            self.post_message(ParseFailed(generation, f"cannot read {e}"))
            return
        except Exception as e:  # a parser bug is a notification, never a crash
            self.post_message(ParseFailed(generation, f"{type(e).__name__}: {e}"))
            return
        self.post_message(Parsed(generation, text, result, outline, hops=hops))

    def _parse_in_steps(self, generation: int, text: str) -> None:
        """In the parse worker: the first trace is shown as soon as it is read (a 10k-line paste opens
        in the time of its first trace, not of all of them), the others follow in batches
        (``MoreTraces``, at most every ``PART_S``), the last one complete; the tree keeps its cursor
        and folds meanwhile. OVN correlation, cluster facts and the parser's warnings wait for the
        whole input."""
        from ovntrace.tui.progressive import parse_in_steps

        worker = get_current_worker()
        posted = 0  # traces sent to the UI
        nodes = 0  # their tree nodes
        last = 0.0
        for step in parse_in_steps(text):
            if worker.is_cancelled:
                return
            result = step.result
            n = len(result.traces)
            if posted and not step.done and time.monotonic() - last < PART_S:
                continue
            part = build_part(result, posted, nodes)
            hops = {ti: trace_hops(result, ti, None, None) for ti in range(posted, n)}
            if not posted:
                drawn = threading.Event()
                outline = Outline(result, part.roots, part.flat, part.tables, [None] * n)
                self.post_message(Parsed(generation, text, result, outline, hops=hops, complete=step.done,
                                         total=step.total, drawn=drawn))
                # the first frame gets the CPU to itself (the rest of the parse would halve its share)
                drawn.wait(FIRST_FRAME_WAIT_S)
            else:
                self.post_message(MoreTraces(generation, result, part, hops, step.done, step.total))
            posted, nodes, last = n, nodes + len(part.flat), time.monotonic()

    @work(thread=True, exclusive=True, group="live", exit_on_error=False, description="live path trace")
    def _trace_live(self, generation: int, request: PathRequest, cancel: threading.Event) -> None:
        """The path over SSH (or from a snapshot), then its text parsed as any input is."""
        from ovntrace.parser import parse
        from ovntrace.tui.live import Cancelled, trace_path

        try:
            view = trace_path(request, lambda what: self.post_message(LiveProgress(generation, what)), cancel)
            result = parse(view.text)
            outline = build(result)
            for root in outline.roots:  # "trace 1 (lines 1-386)" -> "hop 1 @ kube-node2 (lines 1-386)"
                if root.trace_index < len(view.nodes):
                    root.text = root.text.replace(f"trace {root.trace_index + 1}",
                                                  f"hop {root.trace_index + 1} @ {view.nodes[root.trace_index]}", 1)
                    root.refresh_search()
            hops = initial_hops(result, view)
        except Cancelled:
            self.post_message(LiveFailed(generation, "cancelled", cancelled=True))
            return
        except Exception as e:  # SSH, an unknown pod, a node down: a notification, never a crash
            self.post_message(LiveFailed(generation, _live_error(e)))
            return
        self.post_message(Parsed(generation, view.text, result, outline, view, hops))

    @work(thread=True, exclusive=True, group="facts", exit_on_error=False, description="cluster facts")
    def _facts(self, generation: int, result: Any) -> None:
        """``--nb/--sb/--context`` read off the UI thread; from a live SB, only the trace's datapaths and
        cookies (as ``explain`` does)."""
        from ovntrace.correlate.index import trace_needs
        from ovntrace.sources import load_cluster

        opts = self.options
        try:
            keys, cookies = trace_needs(result)
            self.app.call_from_thread(self._facts_status, "reading cluster facts… (escape: skip)")
            ctx = load_cluster(opts.nb, opts.sb, (), opts.contexts, keys or None, cookies)
        except Exception as e:  # a source that cannot be read: a notification; the trace is still explained
            self.post_message(FactsLoaded(generation, None, f"cannot load cluster facts: {e}"))
            return
        self.post_message(FactsLoaded(generation, ctx))

    def _facts_status(self, text: str) -> None:
        if self.facts_state == "loading":
            self.query_one("#tree", TraceTree).border_subtitle = text

    def on_facts_loaded(self, message: FactsLoaded) -> None:
        pending = self._pending
        if self.facts_state != "loading" or pending is None or message.generation != pending[0]:
            return  # skipped meanwhile (the correlation already ran without them), or an older parse's
        self.query_one("#tree", TraceTree).border_subtitle = ""
        if message.error is not None:
            self.facts_state = "failed"
            self.notify(f"{message.error}; OVN meaning from the trace alone", title="Cluster facts",
                        severity="error", markup=False, timeout=12)
        else:
            self.facts_state = "done"
            self.context = message.context
        self._correlate_pending()

    def _correlate_pending(self) -> None:
        if self._pending is not None:
            generation, outline = self._pending
            self._pending = None
            if generation == self.shown_generation:
                self._correlate(generation, outline, None)

    def on_live_progress(self, message: LiveProgress) -> None:
        if message.generation == self.generation and self.live is not None and self._cancel is not None:
            self.query_one("#verdict", VerdictBar).show_message(
                f"{self.live.title}: {message.what} (escape: cancel)")

    def on_live_failed(self, message: LiveFailed) -> None:
        if message.generation == self.generation:
            self._live_stopped(message.error, message.cancelled)

    def _live_stopped(self, error: str, cancelled: bool) -> None:
        """The newest live trace failed or was cancelled: say so; the tree keeps what it shows, and so does
        the request (``c`` and ``r`` start from the traced state, not the one that did not arrive)."""
        self._cancel = None
        title = self.live.title if self.live is not None else "live trace"
        if self.path_view is not None:
            self.live = self.path_view.request
        if cancelled:
            self.notify(f"{title}: cancelled (r: trace again)", title="Live trace", severity="warning",
                        markup=False, timeout=5)
            text = f"{title}: cancelled; r traces again" + (", the tree shows the previous trace" if self.outline
                                                            else "")
        else:
            self.notify(error, title="Live trace failed", severity="error", markup=False, timeout=12)
            text = f"{title}: {error}" + (" (the tree shows the previous trace)" if self.outline else "")
        self.query_one("#verdict", VerdictBar).show_message(text, "warning" if cancelled else "error")

    def on_unmount(self) -> None:
        self._release_paint()
        for cancel in (self._cancel, self._doctor_cancel):  # SSH work in flight stops at its next step
            if cancel is not None:
                cancel.set()

    @work(thread=True, exclusive=True, group="correlate", exit_on_error=False, description="OVN correlation")
    def _correlate(self, generation: int, outline: Outline, view: PathView | None = None) -> None:
        from ovntrace.correlate import Correlator

        worker = get_current_worker()
        opts = self.options
        context = view.context if view is not None else self.context
        correlators: dict[str | None, Correlator] = {}
        traces = outline.result.traces
        for i, trace in enumerate(traces):
            if worker.is_cancelled:
                return
            # a path's hops were traced on different nodes: each is read with its own node's facts
            node = view.nodes[i] if view is not None and i < len(view.nodes) else opts.on_node
            if node not in correlators:
                correlators[node] = Correlator(context, opts.ovn_version, node)
            try:
                tovn = correlators[node].annotate(trace)
            except Exception as e:  # OVN meaning is a bonus: say so, keep the trace
                self.post_message(ParseFailed(generation, f"OVN correlation of trace {i + 1}: {e}"))
                continue
            self.post_message(Correlated(generation, i, tovn, ovn_labels(outline.result, i, tovn)))
            self.post_message(CorrelateProgress(generation, i + 1, len(traces)))

    def on_parsed(self, message: Parsed) -> None:
        if message.generation != self.generation:
            return
        self._release_paint()  # the frame drawn next is this parse's (nothing is drawn inside this handler)
        if message.view is not None:  # live: the path and its traces arrive together
            self._cancel = None
            self.path_view = message.view
            self.source = Source(text=message.view.text, name=message.view.request.title)
        self.shown_generation = message.generation
        result = message.result
        if not result.traces:
            from ovntrace.render.display import no_trace_message

            self.notify(no_trace_message(message.text), title="No trace", severity="error", markup=False,
                        timeout=10)
            if self.from_paste:
                self.app.pop_screen()
                return
        previous = self.selected_line()
        self.text = message.text
        self.text_lines = message.text.split("\n")
        self.outline = message.outline
        self._hops.clear()
        if message.hops is not None:
            self._hops.update(message.hops)
        tree = self.query_one("#tree", TraceTree)
        tree.load(message.outline)
        self._auto_node = None
        if previous is not None:  # r keeps the place
            node = message.outline.find_line(previous)
            if node is not None:
                tree.goto(node)
        elif result.traces:  # open on the answer: the step that decided the verdict
            self._auto_node = self.goto_verdict(0)
        self._raw_loaded = False
        if self.query_one("#side", TabbedContent).active == "raw":
            self._load_raw()
        self._show_path()
        self._show_verdict()
        self._show_selection()
        if message.drawn is not None:
            self.call_after_refresh(message.drawn.set)
        self._total = message.total
        if message.complete:
            self._parsed_all(message.generation, result, message.outline)
        else:
            self._reading_status(len(result.traces))

    def _reading_status(self, done: int) -> None:
        self.query_one("#tree", TraceTree).border_subtitle = f"reading traces… {done}/{self._total}"

    def on_more_traces(self, message: MoreTraces) -> None:
        """More traces of the input being opened: added to the tree's end, nothing shown is rebuilt."""
        outline = self.outline
        if message.generation != self.generation or message.generation != self.shown_generation or outline is None:
            return
        outline.extend(message.result, message.part)
        self._hops.update(message.hops)
        self.query_one("#tree", TraceTree).add_roots(message.part.roots)
        self._show_verdict()
        if message.complete:
            self._show_path()
            self._parsed_all(message.generation, message.result, outline)
        elif self._path_timer is None:  # the path pane (every trace's rows) redrawn once per burst
            self._path_timer = self.set_timer(PATH_SETTLE_S * 3, self._show_path)
        else:
            self._reading_status(len(message.result.traces))

    def _parsed_all(self, generation: int, result: Any, outline: Outline) -> None:
        """The whole input is in the tree: what needs all of it (warnings, the Logical tab, OVN meaning)."""
        self._total = 0
        tree = self.query_one("#tree", TraceTree)
        if str(tree.border_subtitle or "").startswith("reading traces"):  # also when r came meanwhile
            tree.border_subtitle = ""
        self._show_logical()
        if result.warnings:
            self.notify(f"{len(result.warnings)} parser warnings (first: line {result.warnings[0].line}: "
                        f"{result.warnings[0].message})", severity="warning", markup=False)
        if self.options.correlate and result.traces:
            if self.has_facts and self.path_view is None:  # read for this parse: a live SB sends what it needs
                self.facts_state = "loading"
                self._pending = (generation, outline)
                self._facts(generation, result)
            else:  # once the first frame is drawn: a worker holding the GIL would delay it
                self.call_after_refresh(self._correlate, generation, outline, self.path_view)
        self.call_after_refresh(_freeze_heap, generation > 1)

    def _show_logical(self) -> None:
        """The Logical tab: shown only when there is an ovn-trace to line up with (tui/widgets/logical.py)."""
        pane = self.query_one("#logical-pane", LogicalPane)
        side = self.query_one("#side", TabbedContent)
        if pane.show_for(self.outline, self.path_view):
            side.show_tab("logical")
        else:
            if side.active == "logical":
                side.active = "details"
            side.hide_tab("logical")

    def on_parse_failed(self, message: ParseFailed) -> None:
        self._release_paint()
        if message.generation == self.generation:
            self.notify(message.error, title="ovntrace", severity="error", markup=False, timeout=10)
            if self.outline is None:
                self.query_one("#verdict", VerdictBar).show_message(message.error, "error")

    def on_correlated(self, message: Correlated) -> None:
        outline = self.outline
        if message.generation != self.shown_generation or outline is None:
            return
        changed = apply_ovn(outline, message.labels, message.ovn)
        self.query_one("#tree", TraceTree).relabel(changed)
        self._hops.pop(message.trace_index, None)
        if self._path_timer is None:
            self._path_timer = self.set_timer(PATH_SETTLE_S, self._show_path)
        auto = self._auto_node
        if auto is not None and auto.trace_index == message.trace_index:
            tree = self.query_one("#tree", TraceTree)
            if tree.selected is auto:  # not moved since it opened there: follow the OVN verdict's line
                self._auto_node = self.goto_verdict(message.trace_index) or auto
            else:
                self._auto_node = None
        if message.trace_index == self.trace_index:
            self._show_verdict()
            self._show_selection()

    def on_correlate_progress(self, message: CorrelateProgress) -> None:
        if message.generation == self.shown_generation and message.total > 1:
            self.query_one("#tree", TraceTree).border_subtitle = (
                "" if message.done == message.total else f"OVN meaning {message.done}/{message.total}")
        if message.generation == self.shown_generation and message.done == message.total:
            self._show_logical()  # again, with OVN words
            _freeze_heap()

    # -- the verdict's step --------------------------------------------------------------------

    def verdict_line_of(self, trace_index: int) -> int | None:
        """The input line that decided trace ``trace_index``'s verdict: OVN's (the ACL that dropped it, the
        tunnel output) once known, else OVS's (the last datapath action)."""
        if self.outline is None or not 0 <= trace_index < len(self.outline.result.traces):
            return None
        tovn = self.outline.ovn[trace_index] if trace_index < len(self.outline.ovn) else None
        if tovn is not None and tovn.verdict is not None and tovn.verdict.line:
            return tovn.verdict.line
        return self.outline.result.traces[trace_index].verdict.line

    def goto_verdict(self, trace_index: int) -> Node | None:
        """Put the tree's cursor on the row of the verdict's line (unfolding what hides it)."""
        line = self.verdict_line_of(trace_index)
        if line is None or self.outline is None:
            return None
        node = self.outline.find_line(line)
        if node is None or node.trace_index != trace_index:
            node = self.outline.roots[trace_index]
        tree = self.query_one("#tree", TraceTree)
        tree.goto(node)
        return node

    def action_verdict(self) -> None:
        if self.outline is None or not self.outline.result.traces:
            self.notify("no verdict yet", severity="warning")
            return
        node = self.goto_verdict(self.trace_index)
        self.query_one("#tree", TraceTree).focus()
        if node is not None:
            line = self.verdict_line_of(self.trace_index)
            self._status(f"verdict of trace {self.trace_index + 1}: line {line}")

    # -- selection -> panes --------------------------------------------------------------------

    def selected_line(self) -> int | None:
        node = self.query_one("#tree", TraceTree).selected
        return node.line if node is not None else None

    def _moved(self, node: Node) -> None:
        """The tree's cursor moved to ``node`` (called by the tree in the same handler, so the details
        are drawn in the same frame as the tree's cursor)."""
        if node.trace_index != self.trace_index:
            self.trace_index = node.trace_index
            self._show_verdict()
        # a key alone: the side pane follows at once; keys in a burst (a held j/k): only the tree is
        # repainted, the side pane follows once they stop
        now = time.monotonic()
        quiet = now - self._last_move >= SELECTION_SETTLE_S
        self._last_move = now
        if self._selection_timer is not None:
            self._selection_timer.stop()
            self._selection_timer = None
        if quiet:
            self._show_selection()
        else:
            self._selection_timer = self.set_timer(SELECTION_SETTLE_S, self._show_selection)

    @on(TabbedContent.TabActivated, "#side")
    async def _tab(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "raw":
            if self._raw is None:
                from ovntrace.tui.widgets.raw import RawView

                self._raw = RawView(id="raw-view")
                await event.pane.mount(self._raw)
            self._load_raw()
        self._show_selection()

    def _show_verdict(self) -> None:
        if self.outline is None:
            return
        bar = self.query_one("#verdict", VerdictBar)
        view = self.path_view
        if view is not None:  # live: the path's verdict, whichever hop is selected
            n = len(view.nodes)
            hop = f"hop {self.trace_index + 1}/{n} on {view.nodes[self.trace_index]}" if self.trace_index < n else ""
            bar.show_path(view.verdict_text, bool(view.verdict.get("delivered")), view.request.title, hop)
            return
        tovn = self.outline.ovn[self.trace_index] if self.outline.ovn else None
        bar.show_verdict(self.outline.result, self.trace_index, tovn, self.source.name, self._total)

    def _show_path(self) -> None:
        self._path_timer = None
        if self.outline is None:
            return
        view = self.path_view
        result, ovn = self.outline.result, self.outline.ovn
        rows: list[PathHop] = []
        for ti in range(len(result.traces)):
            if ti not in self._hops:
                name = f"hop {ti + 1} @ {view.nodes[ti]}" if view is not None and ti < len(view.nodes) else None
                self._hops[ti] = trace_hops(result, ti, ovn[ti] if ti < len(ovn) else None, name)
            rows += self._hops[ti]
        if view is not None:  # live: the stitched path across nodes first
            first = self.outline.result.traces[0].first_line if self.outline.result.traces else 1
            rows = [PathHop(0, first, f"⇒ {view.line}", "path"),
                    PathHop(0, first, f"  {view.verdict_text}",
                            "verdict.ok" if view.verdict.get("delivered") else "verdict.drop"), *rows]
        self.query_one("#path", PathPane).show_hops(rows)

    def _show_selection(self) -> None:
        """Only the visible tab is recomputed (a key press costs one pane)."""
        node = self.query_one("#tree", TraceTree).selected
        if node is None or self.outline is None:
            return
        active = self.query_one("#side", TabbedContent).active
        dark = self.app.current_theme.dark
        if active == "details":
            self.query_one("#details-pane", TextPane).show(describe(node, self.outline, self.text_lines, dark))
        elif active == "runbook":
            self._show_runbook(node, dark)
        elif active == "raw":
            lines = node_lines(node)
            if lines and self._raw is not None:
                self._raw.select_lines(lines[0], lines[-1])

    def _show_runbook(self, node: Node, dark: bool) -> None:
        pane = self.query_one("#runbook-pane", TextPane)
        inv = self.options.inventory
        if inv is None or self.outline is None:
            pane.show(SafeText(RUNBOOK_HINT, style=styles.style("hint", dark)), copy="")
            return
        from ovntrace.tui.runbook import as_script, for_node

        hits, fallback = for_node(inv, node, self.outline)
        out = SafeText()  # doctor's findings quote remote output; the commands hold inventory names
        self._doctor_text(out, dark)
        if fallback:
            out.append("Nothing in this step names a runbook object; commands for the trace's packet:\n\n",
                       style=styles.style("hint", dark))
        if not hits:
            out.append("No provisioning command of the inventory concerns this selection.\n",
                       style=styles.style("hint", dark))
        last = None
        for h in hits:
            if (h.node, h.phase) != last:
                out.append(f"{'' if last is None else chr(10)}# {h.node}: {h.phase}\n",
                           style=styles.style("section", dark))
                last = (h.node, h.phase)
            out.append(f"# {h.comment}  ({h.why})\n", style=styles.style("note", dark))
            out.append(inv.redact(h.command) + "\n")
        pane.show(out, copy=as_script(inv, hits))

    def _doctor_text(self, out: Text, dark: bool) -> None:
        """Doctor's findings (errors and warnings) with the command that fixes each, above the runbook."""
        if self.doctor_state == "running":
            done = f" {self.doctor_progress}" if self.doctor_progress else ""
            out.append(f"# doctor: checking the cluster over SSH (read-only)…{done} (escape: stop)\n\n",
                       style=styles.style("hint", dark))
            return
        report = self.doctor_report
        if self.doctor_state != "done" or report is None:
            return
        findings = [f for f in report.findings if f.severity in ("error", "warning")]
        out.append(f"# doctor: {len(report.errors)} error(s), {len(findings)} finding(s) on "
                   f"{', '.join(report.nodes)}\n", style=styles.style("section", dark))
        for f in findings:
            out.append(f"# [{f.severity}] {f.node}: {f.message}\n",
                       style=styles.style("error" if f.severity == "error" else "warning", dark))
            if f.fix is not None:
                out.append(f"{f.fix.apply}\n")
        out.append("\n")

    def _load_raw(self) -> None:
        if not self._raw_loaded and self._raw is not None:
            # as given, but a control character shows as \x1b (lines and their numbers stay the input's)
            self._raw.load_text(escape_lines(self.text))
            self._raw_loaded = True

    @on(PathPane.HopChosen)
    def _hop(self, event: PathPane.HopChosen) -> None:
        if self.outline is None:
            return
        node = self.outline.find_line(event.hop.line)
        if node is not None:
            tree = self.query_one("#tree", TraceTree)
            tree.goto(node)
            tree.focus()

    # -- search --------------------------------------------------------------------------------

    async def action_search(self) -> None:
        box = self._search_box
        if box is None:
            box = self._search_box = Input(placeholder="search the tree (enter: go, escape: close)", id="search",
                                           highlighter=ControlPictures())
            await self.mount(box, before=self.query_one(KeysFooter))
        box.display = True
        box.value = self.query_text
        box.focus()

    def action_close_search(self) -> None:
        box = self._search_box
        if box is not None and box.display:
            box.display = False
            self.query_one("#tree", TraceTree).focus()
        elif self.facts_state == "loading" and self._pending is not None:
            self.facts_state = "skipped"  # the read goes on in its thread; its result is ignored
            self.query_one("#tree", TraceTree).border_subtitle = ""
            self.notify("cluster facts skipped: OVN meaning from the trace alone (r re-reads the trace and "
                        "them)", title="Cluster facts", severity="warning", markup=False, timeout=6)
            self._correlate_pending()
        elif self._cancel is not None:
            # at once for the user: the worker stops at its next step (a command in flight ends or times
            # out in its thread) and whatever it posts from now on is stale
            self._cancel.set()
            self.generation += 1
            self._live_stopped("cancelled", True)
        elif self._doctor_cancel is not None:
            self._doctor_cancel.set()
            self._doctor_cancel = None
            self.doctor_state = "stopped"
            self.notify("doctor stopped (escape): no findings", markup=False, timeout=4)
            self._show_selection()

    @on(Input.Submitted, "#search")
    def _search(self, event: Input.Submitted) -> None:
        event.input.display = False
        tree = self.query_one("#tree", TraceTree)
        tree.focus()
        self.search(event.value)

    def search(self, query: str) -> None:
        """Find ``query`` (case-insensitive) in every row, folded or not; go to the first hit after the cursor."""
        tree = self.query_one("#tree", TraceTree)
        self.query_text = query.strip()
        tree.set_query(self.query_text)
        if not self.query_text or self.outline is None:
            self.matches = []
            self._status("")
            return
        q = self.query_text.lower()
        self.matches = [n for n in self.outline.flat if q in n.search]
        if not self.matches:
            self._status(f"/{self.query_text}: no match")
            self.notify(f"no match for {self.query_text!r}", severity="warning", markup=False)
            return
        here = tree.selected
        start = here.index if here is not None else -1
        self.match_pos = next((i for i, n in enumerate(self.matches) if n.index > start), 0)
        self._goto_match()

    def _goto_match(self) -> None:
        node = self.matches[self.match_pos]
        self.query_one("#tree", TraceTree).goto(node)
        self._status(f"/{self.query_text}: match {self.match_pos + 1} of {len(self.matches)} (n / N)")

    def action_next_match(self) -> None:
        if self.matches:
            self.match_pos = (self.match_pos + 1) % len(self.matches)
            self._goto_match()
        elif self.query_text:
            self.search(self.query_text)

    def action_previous_match(self) -> None:
        if self.matches:
            self.match_pos = (self.match_pos - 1) % len(self.matches)
            self._goto_match()

    def _status(self, text: str) -> None:
        status = self.query_one("#status", Static)
        status.update(SafeText(text))
        status.display = bool(text)

    # -- other keys ----------------------------------------------------------------------------

    def action_tab(self, tab: str) -> None:
        if tab == "logical" and not self.query_one("#logical-pane", LogicalPane).has_content:
            self.notify("No ovn-trace to line up with the ofproto/trace here.", markup=False)
            return
        self.query_one("#side", TabbedContent).active = tab

    def action_rerun(self) -> None:
        if self.live is not None:
            what = f"re-tracing {self.live.title}"
        else:
            what = f"re-reading {self.source.name}" if self.source.path else "re-parsing the input"
        self.notify(what, markup=False, timeout=2)
        self.load()

    def action_conntrack(self) -> None:
        if self.live is not None:
            from ovntrace.tui.screens.conntrack import ConntrackScreen

            self.app.push_screen(ConntrackScreen(self.live.ct), self._conntrack_chosen)
            return
        self.notify("Picking a conntrack state and re-tracing needs a live source (ovntrace path SRC DST --tui, "
                    "over SSH): not available for a pasted trace yet. Re-run ofproto/trace with "
                    "--ct-next 'trk,est' by hand and paste it.", title="Conntrack re-trace",
                    severity="warning", markup=False, timeout=8)

    def _conntrack_chosen(self, ct: str | None) -> None:
        if ct is None or self.live is None:
            return
        self.live = replace(self.live, ct=ct)
        self.notify(f"re-tracing with conntrack state {ct}", markup=False, timeout=2)
        self.load()

    def action_export(self) -> None:
        if self.outline is None:
            self.notify("nothing to export yet", severity="warning")
            return
        if self._total:
            self.notify(f"still reading the input ({len(self.outline.result.traces)} of {self._total} traces): "
                        "export once it is read", severity="warning", markup=False)
            return
        from ovntrace.tui.screens.export import ExportScreen

        view = self.path_view
        if view is not None:  # the path shown, not a re-trace still on its way
            req = view.request
            self.app.push_screen(ExportScreen(f"path {req.src} {req.dst} {req.ct}", literal=True),
                                 self._export_chosen)
        else:
            self.app.push_screen(ExportScreen(self.source.name), self._export_chosen)

    def _export_chosen(self, request: ExportRequest | None) -> None:
        if request is not None and self.outline is not None:
            self._export(request, self.outline, self._export_preamble())  # what is on screen now

    @work(thread=True, group="export", exit_on_error=False, description="export")
    def _export(self, request: ExportRequest, outline: Outline, preamble: str) -> None:
        from ovntrace.tui.export import export

        try:
            size = export(outline.result, request.fmt, request.path, outline.ovn, preamble)
        except (OSError, ValueError) as e:
            self.app.call_from_thread(self.notify, f"export failed: {e}", severity="error", markup=False)
            return
        self.post_message(Exported(str(request.path), size))

    def _export_preamble(self) -> str:
        """A live path's Markdown starts with what was traced, the stitched path and its verdict."""
        view = self.path_view
        if view is None:
            return ""
        from ovntrace.render.safe import md_code, md_text

        # pod, port and node names come from the cluster: escaped as the Markdown renderer escapes its fields
        hops = ", ".join(f"hop {i + 1} on {md_text(n)}" for i, n in enumerate(view.nodes))
        return (f"## ovntrace {md_text(view.request.title)}\n\n**Verdict:** {md_text(view.verdict_text)}  \n"
                f"**Path:** {md_code(view.line)}\n\nThe traces below, in path order: {hops}.\n\n")

    def on_exported(self, message: Exported) -> None:
        self.notify(f"wrote {message.path} ({message.size} bytes)", title="Export", markup=False)

    def action_copy(self) -> None:
        focused = self.focused
        text = ""
        what = "selection"
        if isinstance(focused, TextPane):
            text, what = focused.plain, "pane"
        elif focused is not None and focused is self._raw:
            text, what = self._raw.selected_text or self._raw.text, "raw lines"
        else:
            node = self.query_one("#tree", TraceTree).selected
            if node is not None:
                lines = node_lines(node)
                text = "\n".join(self.text_lines[ln - 1] for ln in lines if 0 < ln <= len(self.text_lines))
                what = f"{len(lines)} input line{'s' if len(lines) != 1 else ''}"
        if not text:
            self.notify("nothing to copy here", severity="warning")
            return
        from ovntrace.tui import clipboard

        support = clipboard.detect()  # each time: `tmux set -g set-clipboard on` works at the next y
        # OSC 52 even where it is known to be ignored (harmless there): it is also the app's own clipboard,
        # what ctrl+v pastes into the search box
        self.app.copy_to_clipboard(text)
        path: Path | None = None
        error = None
        try:
            path = clipboard.write_file(text)
        except OSError as e:
            error = e.strerror or str(e)
        self.notify(clipboard.message(what, support, path, error), title="Copy", markup=False, timeout=6,
                    severity="warning" if path is None and support.osc52 is not True else "information")


def _live_error(e: BaseException) -> str:
    """One line for the notification: the path's own errors say what went wrong; others say what they are."""
    from ovntrace.correlate.path import PathError
    from ovntrace.path import PathUsageError
    from ovntrace.sources.errors import SourceError
    from ovntrace.sources.ssh import SshError

    if isinstance(e, PathUsageError | PathError | SshError | SourceError):
        return str(e)
    return f"{type(e).__name__}: {e}"
