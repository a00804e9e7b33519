"""``ovntrace explain``'s pipeline: each trace is built, annotated, rendered and written in turn, then dropped.

The input is read and segmented whole (:func:`ovntrace.parser.document.segment`: which lines are which trace),
then each trace is built (:func:`~ovntrace.parser.document.build_trace`), given its OVN meaning, rendered to a
string and written: memory is the input plus one trace, not the whole document's trees. What belongs to the document is
kept small: the warnings (the parser's, sorted by line, with the typo lint's) and the prose lines.

* JSON puts the warnings *before* the traces, so its traces are spooled (:class:`_Spool`: in memory up to
  :data:`SPOOL_MEMORY` characters, then a temporary file) and written after the head.
* A paste holding both ovn-trace and ofproto/trace output gets the comparison of the two
  (:mod:`ovntrace.correlate.compare`), which needs every trace: it is built whole, in this process.
* With cluster facts (``--nb/--sb/--node/--context``) the facts a live database sends depend on every trace
  (``trace_needs``): the traces are built first, then the facts loaded once, then annotated and rendered.

Big inputs (:data:`PARALLEL_MIN_LINES` lines of traces, or ``--jobs N``) are shared among N processes: this one
and N-1 workers (``fork``: they inherit the segmented input and the correlator, loaded once here). The traces go
in chunks of about :data:`CHUNK_LINES` lines; each process takes the next chunk nobody has taken when it is free
(the chunk numbers wait in a pipe: :func:`_take`), renders it to a temporary file of its own as UTF-8, and a
worker tells this process where (offset, length) with the chunk's warnings. This process writes the chunks in
input order, copying them to the output by the kernel (``sendfile``) when the output is a file descriptor
taking UTF-8, else reading and decoding them; JSON's are copied after the head. A failure in a worker is not
reported from there: the chunk is run again here, in its turn, so its error is the one (message, exit status,
``--debug`` traceback) a single process gives; an error in a chunk run here is raised in its turn too. A worker
that dies leaves its chunks to this process.
"""

from __future__ import annotations

import argparse
import gc
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from ovntrace import cli
from ovntrace.cli import CliError, ExitStatus
from ovntrace.model import ParseResult, Trace
from ovntrace.model.trace import ParseWarning, TraceFormat

if TYPE_CHECKING:
    from ovntrace.correlate import Correlator
    from ovntrace.model.ovn import TraceOvn

PARALLEL_MIN_LINES = 5000  # --jobs auto: fewer lines of traces than this are explained in this process
CHUNK_LINES = 2000  # lines of traces per unit of work in parallel
MAX_CHUNKS = 1000  # units of work at most (a bigger input has bigger ones): their numbers fit one pipe page
SPOOL_MEMORY = 1 << 20  # characters of JSON traces kept in memory before spilling to a temporary file


def cpus() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


# -- rendering one trace ------------------------------------------------------------------------------------


def _renderer(args: argparse.Namespace, stdout: TextIO) -> Callable[[Trace, TraceOvn | None, int], str]:
    """The function rendering one trace (1-based index) to its text in the document."""
    fmt = args.format
    if fmt == "json":
        from ovntrace.render import json_v2

        enc = json_v2.Encoder()  # one per document: remembers the JSON of its actions
        return lambda t, o, i: enc.trace(t, o)
    if fmt == "json1":
        from ovntrace.render import json as json1

        return lambda t, o, i: json1.trace_text(t, o)
    if fmt == "markdown":
        from ovntrace.render import markdown

        full = args.full
        return lambda t, o, i: markdown.trace_text(t, o, i, full)
    from ovntrace.render import text as text_render

    color: bool | None = None
    if args.color == "always":  # asked for explicitly: wins over NO_COLOR
        color = True
    elif args.color == "never" or os.environ.get("NO_COLOR"):
        color = False
    writer = text_render.TraceWriter(full=args.full, plain=text_render.plain_output(stdout, color), color=color,
                                     stream=stdout)
    return writer.trace


class _Work:
    """Everything a process needs to explain chunks of the input (inherited by the workers: fork)."""

    def __init__(self, segments: list[Any], built: list[Trace] | None, correlator: Correlator | None,
                 render: Callable[[Trace, TraceOvn | None, int], str]) -> None:
        self.segments = segments  # the segmenter's traces (None once built and dropped)
        self.built = built  # the traces, when they had to be built first
        self.correlator = correlator
        self.render = render

    def run(self, start: int, end: int) -> tuple[list[str], list[ParseWarning], list[ParseWarning]]:
        """Traces ``start`` to ``end`` (exclusive): their texts, the parser's warnings and the typo lint's.

        The cyclic garbage collector is paused meanwhile (as :func:`ovntrace.parser.parse` does): building a
        trace allocates many acyclic objects and each collection would walk everything alive."""
        from ovntrace.parser.document import build_trace
        from ovntrace.parser.lint import typo_warnings

        texts: list[str] = []
        warnings: list[ParseWarning] = []
        typos: list[ParseWarning] = []
        was = gc.isenabled()
        gc.disable()
        try:
            for i in range(start, end):
                if self.built is not None:
                    t = self.built[i]
                else:
                    t = build_trace(self.segments[i], warnings)
                    self.segments[i] = None  # its lines are freed with the trace
                tovn = self.correlator.annotate(t) if self.correlator is not None else None
                typos.extend(typo_warnings("", ParseResult((t,), (), 0, ())))
                texts.append(self.render(t, tovn, i + 1))
        finally:
            if was:
                gc.enable()
        return texts, warnings, typos


# -- parallel -----------------------------------------------------------------------------------------------

_ERROR = b"E"
_OK = b"K"
_HEAD = 25  # a worker's message: kind (1 byte), chunk, offset, length, length of the pickled warnings


def _chunks(spans: Sequence[tuple[int, int]], jobs: int) -> list[tuple[int, int]]:
    """Consecutive traces in chunks of about :data:`CHUNK_LINES` lines (more on a huge input: at most
    :data:`MAX_CHUNKS` chunks), at least ``jobs`` of them when there are that many traces. ``spans``: each
    trace's (first, last) line."""
    total = sum(last - first + 1 for first, last in spans)
    size = max(1, min(max(CHUNK_LINES, total // MAX_CHUNKS), total // max(1, jobs)))
    out: list[tuple[int, int]] = []
    start, acc = 0, 0
    for i, (first, last) in enumerate(spans):
        acc += last - first + 1
        if acc >= size:
            out.append((start, i + 1))
            start, acc = i + 1, 0
    if start < len(spans):
        out.append((start, len(spans)))
    return out


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class _Output:
    """Where a process puts the chunks it explains: their text as UTF-8 in a temporary file of its own (one
    per process, made here before the fork), read back by offset and length when the chunk's turn comes."""

    def __init__(self, sep: str) -> None:
        import tempfile

        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _Pool.close
        self.fd = self.file.fileno()
        self.size = 0
        self.sep = sep

    def put(self, k: int, texts: list[str]) -> tuple[int, int]:
        """Chunk ``k``'s texts written (after the separator from the chunk before): their (offset, length)."""
        data = ((self.sep if k else "") + self.sep.join(texts)).encode("utf-8")
        _write_all(self.fd, data)
        off = self.size
        self.size += len(data)
        return off, len(data)


def _take(queue: int) -> int | None:
    """The next chunk nobody has taken (the indices wait in a pipe, written whole before any process reads:
    each 4-byte read takes one, whoever reads it), or None when all are taken."""
    b = os.read(queue, 4)
    return int.from_bytes(b, "little") if len(b) == 4 else None


def _worker(work: _Work, chunks: list[tuple[int, int]], queue: int, output: _Output, fd: int) -> None:
    """In a forked child: chunks taken from ``queue`` until none is left, each written to ``output`` and
    announced on ``fd`` (its offset, length and warnings). A failure sends an error mark and stops (the
    parent runs that chunk itself, in its turn)."""
    import pickle
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle (it ends the workers)
    while (k := _take(queue)) is not None:
        try:
            texts, ws, ts = work.run(*chunks[k])
            off, n = output.put(k, texts)
            meta = pickle.dumps((ws, ts), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:
            _write_all(fd, _ERROR + k.to_bytes(8, "little") + bytes(_HEAD - 9))
            return
        _write_all(fd, b"".join((_OK, k.to_bytes(8, "little"), off.to_bytes(8, "little"), n.to_bytes(4, "little"),
                                 len(meta).to_bytes(4, "little"), meta)))


_REDO = "redo"  # a chunk a worker could not do: run here, in its turn


class _Pool:
    """``jobs`` processes: this one and ``jobs - 1`` forked workers, each taking the next chunk nobody has
    taken (:func:`_take`) when it is free. :meth:`results` yields every chunk in order: where its text is
    (``(fd, offset, length)``), its parser warnings and its typo warnings."""

    def __init__(self, work: _Work, chunks: list[tuple[int, int]], jobs: int, sep: str) -> None:
        import threading

        self.work = work
        self.chunks = chunks
        self.pids: list[int] = []
        self.outputs: list[_Output] = []
        self.done: dict[int, Any] = {}  # chunk -> (fd, offset, length, warnings, typos) | _REDO | exception
        self.cond = threading.Condition()
        self.running = 0  # workers still sending
        self.failed = False  # a chunk failed here: take no more
        readers: list[int] = []
        queue, qw = os.pipe()
        self.queue = queue
        try:
            _write_all(qw, b"".join(k.to_bytes(4, "little") for k in range(len(chunks))))
        finally:
            os.close(qw)  # every index written, no writer left: an empty queue reads as the end
        self.mine = _Output(sep)
        # What exists now is left out of the cyclic collector's walks (until close()), in this process and in the
        # workers: a walk writes to every object's header, which would copy every page they share.
        gc.freeze()
        try:
            for _ in range(1, jobs):
                output = _Output(sep)
                self.outputs.append(output)
                r, wfd = os.pipe()
                pid = os.fork()
                if pid == 0:  # the worker
                    code = 0
                    try:
                        os.close(r)
                        for fd in readers:
                            os.close(fd)
                        _worker(work, chunks, queue, output, wfd)
                    except BaseException:
                        code = 1
                    finally:
                        os._exit(code)
                os.close(wfd)
                readers.append(r)
                self.pids.append(pid)
        except BaseException:
            gc.unfreeze()
            raise
        self.running = len(readers)
        self.threads = []
        for r, output in zip(readers, self.outputs, strict=True):
            th = threading.Thread(target=self._read, args=(r, output.fd), daemon=True)
            th.start()
            self.threads.append(th)

    def _read(self, fd: int, data_fd: int) -> None:
        """A worker's messages, as they come (the worker never waits for this process)."""
        import pickle

        with os.fdopen(fd, "rb") as f:
            while True:
                head = f.read(_HEAD)
                if len(head) < _HEAD:
                    break
                k = int.from_bytes(head[1:9], "little")
                if head[:1] != _OK:
                    with self.cond:
                        self.done[k] = _REDO
                        self.cond.notify()
                    break
                off, n = int.from_bytes(head[9:17], "little"), int.from_bytes(head[17:21], "little")
                meta = f.read(int.from_bytes(head[21:25], "little"))
                ws, ts = pickle.loads(meta)
                with self.cond:
                    self.done[k] = (data_fd, off, n, ws, ts)
                    self.cond.notify()
        with self.cond:  # error, death or the end: a chunk it took and did not send is run here
            self.running -= 1
            self.cond.notify()

    def _run_here(self, k: int) -> Any:
        try:
            texts, ws, ts = self.work.run(*self.chunks[k])
        except Exception as e:  # raised in its turn: an earlier chunk's error (in a worker) comes first
            self.failed = True
            return e
        off, n = self.mine.put(k, texts)
        return (self.mine.fd, off, n, ws, ts)

    def results(self) -> Iterator[tuple[int, int, int, list[ParseWarning], list[ParseWarning]]]:
        done = self.done
        for k in range(len(self.chunks)):
            while True:
                with self.cond:
                    got = done.pop(k, None)
                if got is not None:
                    break
                j = _take(self.queue) if not self.failed else None
                if j is not None:  # work while waiting
                    r = self._run_here(j)
                    with self.cond:
                        done[j] = r
                    continue
                with self.cond:  # every chunk taken: wait for the workers'
                    while k not in done and self.running:
                        self.cond.wait()
                    if k not in done:  # taken by a worker that died: run here
                        done[k] = _REDO
            if got is _REDO:
                got = self._run_here(k)
            if isinstance(got, BaseException):
                raise got
            yield got

    def close(self) -> None:
        import contextlib
        import signal

        for pid in self.pids:  # done already, or stopped: this process had an error or was interrupted
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        for pid in self.pids:
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
        for th in self.threads:
            th.join()
        os.close(self.queue)
        for o in (self.mine, *self.outputs):
            o.file.close()
        gc.unfreeze()


def _copy(out: TextIO, fd: int, off: int, n: int) -> None:
    """Bytes ``off`` to ``off + n`` of file ``fd`` written to ``out``: by the kernel when ``out`` is a file
    descriptor taking UTF-8 (flushed first), else read and decoded."""
    target = _raw_fd(out)
    if target is not None:
        out.flush()
        try:
            while n > 0:
                sent = os.sendfile(target, fd, off, n)
                if sent == 0:
                    break
                off += sent
                n -= sent
        except OSError as e:
            import errno

            if e.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                raise
        if n <= 0:
            return
        while n > 0:
            data = os.pread(fd, min(n, 1 << 20), off)
            _write_all(target, data)
            off += len(data)
            n -= len(data)
        return
    parts = []
    while n > 0:
        data = os.pread(fd, n, off)
        parts.append(data)
        off += len(data)
        n -= len(data)
    out.write(b"".join(parts).decode("utf-8"))  # whole: a character's bytes are never split


def _raw_fd(out: TextIO) -> int | None:
    """``out``'s file descriptor when what is written to it may go there as UTF-8 bytes, else None."""
    if os.linesep != "\n" or str(getattr(out, "encoding", "")).lower().replace("-", "").replace("_", "") != "utf8":
        return None
    try:
        # a stream whose descriptor is not where its bytes go (the pager: fileno() is the terminal, for its
        # size) names the right one
        fileno = getattr(out, "bytes_fileno", None) or out.fileno
        return int(fileno())
    except (AttributeError, OSError, ValueError):  # io.StringIO: no descriptor
        return None


# -- output --------------------------------------------------------------------------------------------------


class _Spool:
    """Text kept to be written later: in memory, then (UTF-8) in a temporary file past :data:`SPOOL_MEMORY`
    characters, copied to the output as the workers' chunks are (:func:`_copy`)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.file: Any = None

    def write(self, text: str) -> None:
        if self.file is not None:
            self.file.write(text.encode("utf-8"))
            return
        self.parts.append(text)
        self.size += len(text)
        if self.size > SPOOL_MEMORY:
            import tempfile

            self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by copy_to
            self.file.write("".join(self.parts).encode("utf-8"))
            self.parts = []

    def copy_to(self, out: TextIO) -> None:
        if self.file is None:
            out.write("".join(self.parts))
            return
        try:
            self.file.flush()
            _copy(out, self.file.fileno(), 0, self.file.tell())
        finally:
            self.file.close()


class _Placed:
    """The JSON traces the workers wrote: copied in order (:func:`_copy`) after the head."""

    def __init__(self, placed: list[tuple[int, int, int]]) -> None:
        self.placed = placed

    def copy_to(self, out: TextIO) -> None:
        for fd, off, n in self.placed:
            _copy(out, fd, off, n)


# -- the command ---------------------------------------------------------------------------------------------


def cmd_explain(args: argparse.Namespace, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> ExitStatus:
    """The command. The cyclic garbage collector is paused throughout (as :func:`ovntrace.parser.parse` pauses
    it; the traces are built and annotated with it paused already): once the input is segmented, each
    collection that the imports and the set-up would trigger walks every line of it."""
    was = gc.isenabled()
    gc.disable()
    try:
        return _explain(args, stdin, stdout, stderr)
    finally:
        if was:
            gc.enable()


def _explain(args: argparse.Namespace, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> ExitStatus:
    from ovntrace.parser.document import build_trace, segment

    cli._apply_common(args)
    text = cli._read_input(args.file, stdin)
    seg = segment(text)
    segments: list[Any] = list(seg.traces)
    if not segments:
        from ovntrace.render.display import no_trace_message

        raise CliError(cli._what_it_is(text, args.file) or no_trace_message(text), ExitStatus.NO_TRACE)
    line_count, prose, seg_warnings = seg.line_count, seg.prose, seg.warnings
    spans = [(t.first_line, t.last_line) for t in segments]
    kinds = {t.format is TraceFormat.OVN_TRACE for t in segments}
    del seg

    whole = len(kinds) > 1  # ovn-trace and ofproto/trace: compared, so every trace is needed at once
    with_facts = not args.no_ovn and bool(args.nb or args.sb or args.node or args.context)
    built: list[Trace] | None = None
    build_warnings: list[ParseWarning] = []
    if whole or with_facts:
        was = gc.isenabled()
        gc.disable()
        try:
            built = [build_trace(t, build_warnings) for t in segments]
        finally:
            if was:
                gc.enable()
        segments = []
    correlator = None
    if not args.no_ovn:
        from ovntrace.correlate import Correlator

        ctx = None
        if with_facts:
            assert built is not None
            ctx = cli._load_context(args, ParseResult(tuple(built), (), line_count, prose))
        on = cli._context_warnings(ctx, args.on, stderr)
        correlator = Correlator(ctx, args.ovn_version, on)

    render = _renderer(args, stdout)
    jobs = getattr(args, "jobs", 0) or (cpus() if sum(b - a + 1 for a, b in spans) >= PARALLEL_MIN_LINES else 1)
    if whole:
        jobs = 1
    work = _Work(segments, built, correlator, render)
    # one process: trace by trace (each written before the next is built)
    chunks = _chunks(spans, jobs) if jobs > 1 and not whole else [(i, i + 1) for i in range(len(spans))]
    jobs = min(jobs, len(chunks))

    fmt = args.format
    is_json = fmt in ("json", "json1")
    sep = ", " if is_json else "\n" if fmt == "markdown" else ""
    warnings = seg_warnings + build_warnings
    ovn_all: list[TraceOvn | None] = []
    out: Any = stdout
    if pool_jobs := (jobs if jobs > 1 and not whole else 0):
        placed: list[tuple[int, int, int]] = []  # JSON: where each chunk's text is, written after the head
        out = _Placed(placed)
        pool = _Pool(work, chunks, pool_jobs, sep)
        try:
            typos = _text_typos(text)  # while the workers start
            del text
            for fd, off, n, ws, ts in pool.results():
                warnings += ws
                typos += ts
                if is_json:
                    placed.append((fd, off, n))
                else:
                    _copy(stdout, fd, off, n)
            result, comparisons = _result(warnings, typos, None, line_count, prose, [], None)
            _finish(args, result, out, stdout, comparisons)
        finally:
            pool.close()
    else:
        typos = _text_typos(text)
        del text  # the segments hold what is left to build
        out = _Spool() if is_json else stdout
        first = True
        results: Iterator[tuple[list[str], list[ParseWarning], list[ParseWarning]]]
        if whole:  # the comparison needs the annotations: annotate here, render with them
            assert built is not None
            ovn_all = [correlator.annotate(t) if correlator is not None else None for t in built]
            results = iter([_run_annotated(built, ovn_all, render)])
        else:
            results = (work.run(a, b) for a, b in chunks)
        for texts, ws, ts in results:
            warnings += ws
            typos += ts
            for piece in texts:
                if not first:
                    out.write(sep)
                first = False
                out.write(piece)
        result, comparisons = _result(warnings, typos, built if whole else None, line_count, prose, ovn_all,
                                      correlator)
        _finish(args, result, out, stdout, comparisons)
    if result.warnings and not args.quiet:
        from ovntrace.render.safe import escape

        for w in result.warnings:  # a warning quotes the input: its control characters are shown escaped
            stderr.write(f"ovntrace: line {w.line}: {escape(w.message)}\n")
    return ExitStatus.OK


def _text_typos(text: str) -> list[ParseWarning]:
    """The typo lint's warnings on the text itself (table lines without their dot); each trace's own (action
    names) come with the trace."""
    from ovntrace.parser.lint import typo_warnings

    return list(typo_warnings(text, ParseResult((), (), 0, ())))


def _result(warnings: list[ParseWarning], typos: list[ParseWarning], built: list[Trace] | None, line_count: int,
            prose: tuple[int, ...], ovn_all: list[TraceOvn | None], correlator: Correlator | None,
            ) -> tuple[ParseResult, list[Any]]:
    """The document's parse result (no traces, unless compared: ``built``) and the comparisons."""
    warnings.sort(key=lambda w: w.line)
    typos.sort(key=lambda w: w.line)
    if typos:  # flagged, with their line numbers, in every format
        warnings = sorted((*warnings, *typos), key=lambda w: w.line)
    result = ParseResult(tuple(built) if built is not None else (), tuple(warnings), line_count, prose)
    comparisons = cli._comparisons(result, ovn_all if correlator is not None else None) if built is not None else []
    return result, comparisons


def _run_annotated(built: list[Trace], ovn: list[TraceOvn | None], render: Callable[..., str],
                   ) -> tuple[list[str], list[ParseWarning], list[ParseWarning]]:
    from ovntrace.parser.lint import typo_warnings

    texts = [render(t, o, i + 1) for i, (t, o) in enumerate(zip(built, ovn, strict=True))]
    typos = list(typo_warnings("", ParseResult(tuple(built), (), 0, ())))
    return texts, [], typos


def _finish(args: argparse.Namespace, result: ParseResult, out: Any, stdout: TextIO,
            comparisons: Sequence[Any]) -> None:
    """What follows the traces (and, in JSON, what comes before them)."""
    fmt = args.format
    if fmt in ("json", "json1"):
        from ovntrace.render import json as json1
        from ovntrace.render import json_v2

        comparison = None
        if comparisons:
            from ovntrace.correlate.compare import to_json

            comparison = [to_json(c) for c in comparisons]
        mod: Any = json_v2 if fmt == "json" else json1
        stdout.write(mod.head_text(result))
        out.copy_to(stdout)
        stdout.write(mod.tail_text(comparison))
    elif fmt == "markdown":
        from ovntrace.render import markdown

        tail = markdown.tail_lines(result.warnings)
        stdout.write("\n" + "\n".join(tail) + "\n" if tail else "\n")
        if comparisons:
            from ovntrace.render.compare import markdown_lines

            stdout.write("\n".join(markdown_lines(comparisons, args.full)) + "\n")
    elif comparisons:
        from ovntrace.render.compare import text_lines

        stdout.write("\n".join(text_lines(comparisons, args.full)) + "\n")


__all__ = ["cmd_explain", "cpus"]
