"""How much ovntrace reads from any one input, and reading with that cap (files, devices, FIFOs, pipes,
compressed files, sockets, remote command output).

Every read stops at :func:`max_input_size` bytes (default 1 GiB; ``OVNTRACE_MAX_INPUT_SIZE`` or
``--max-input-size`` raise or lower it, e.g. ``4G``, ``512M``): ``/dev/zero``, a FIFO that never ends, a
server that streams forever or a remote command that prints without end is refused with one line instead of
filling the memory. The size of a regular file is never trusted alone (a device reports 0): the cap is
applied to what is actually read. Compressed files (gzip, xz, bzip2) are read transparently; the cap is on
the decompressed size (a small "bomb" is refused too). See docs/sources.md.
"""

from __future__ import annotations

import io
import os
import re
import stat
from typing import Any, BinaryIO

from ovntrace.sources.errors import SourceError

DEFAULT_MAX_INPUT = 1 << 30
ENV = "OVNTRACE_MAX_INPUT_SIZE"
_CHUNK = 1 << 20
_override: int | None = None
_SIZE = re.compile(r"\s*(\d+)\s*([kmgt]?)(i?b)?\s*", re.I)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}

# magic bytes -> (name, opener of a decompressing stream over a binary file)
GZIP_MAGIC = b"\x1f\x8b"
XZ_MAGIC = b"\xfd7zXZ\x00"
BZ2_MAGIC = b"BZh"


class InputTooLarge(SourceError):
    """An input is larger than the size limit."""


def parse_size(text: str) -> int:
    """``"1048576"``, ``"64k"``, ``"512M"``, ``"2G"``, ``"1GiB"`` -> bytes (K = 1024). ValueError otherwise."""
    m = _SIZE.fullmatch(text)
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"not a size: {text!r} (expected a positive number of bytes, e.g. 512M or 2G)")
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


def human(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


def set_max_input_size(n: int | None) -> None:
    """Set the limit for this process (``--max-input-size``); ``None`` goes back to the env var / default."""
    global _override
    _override = n


def max_input_size() -> int:
    """The limit in bytes: :func:`set_max_input_size`, else ``$OVNTRACE_MAX_INPUT_SIZE``, else 1 GiB."""
    if _override is not None:
        return _override
    env = os.environ.get(ENV)
    if env:
        try:
            return parse_size(env)
        except ValueError as e:
            raise SourceError(f"{ENV}: {e}") from None
    return DEFAULT_MAX_INPUT


def too_large_message(what: str, limit: int) -> str:
    return (f"{what}: more than {human(limit)}, the input size limit (raise it with --max-input-size "
            f"or {ENV}, e.g. {ENV}=4G)")


def too_large(what: str, limit: int) -> InputTooLarge:
    return InputTooLarge(too_large_message(what, limit))


def read_stream(f: Any, name: str, limit: int | None = None) -> bytes:
    """All of ``f`` (to EOF), or :class:`InputTooLarge` once more than ``limit`` bytes came."""
    cap = max_input_size() if limit is None else limit
    buf = bytearray()
    while True:
        chunk = f.read(min(_CHUNK, cap + 1 - len(buf)))
        if not chunk:
            return bytes(buf)
        buf += chunk
        if len(buf) > cap:
            raise too_large(name, cap)


def decompress_stream(f: Any, head: bytes) -> Any:
    """A decompressing stream over ``f`` when ``head`` (its first bytes) is gzip, xz or bzip2, else None."""
    if head.startswith(GZIP_MAGIC):
        import gzip  # the compression modules only for a compressed input (start-up: explain needs none)

        return gzip.GzipFile(fileobj=f, mode="rb")
    if head.startswith(XZ_MAGIC):
        import lzma

        return lzma.LZMAFile(f, "rb")
    if head.startswith(BZ2_MAGIC):
        import bz2

        return bz2.BZ2File(f, "rb")
    return None


def is_compressed(head: bytes) -> bool:
    return head.startswith((GZIP_MAGIC, XZ_MAGIC, BZ2_MAGIC))


def read_path(path: str | os.PathLike[str], name: str | None = None, limit: int | None = None,
              head_only: int | None = None) -> bytes:
    """The bytes of a file, device or FIFO, read with the cap (never trusting ``stat``), decompressed when
    it is gzip/xz/bzip2 (the cap applies to the decompressed bytes). ``head_only``: only the first bytes
    (decompressed). Errors are one-line :class:`SourceError` naming the file."""
    shown = name or os.fspath(path)
    try:
        with open(path, "rb") as raw:
            if head_only is None:
                whole = _read_regular(raw, shown, limit)
                if whole is not None:
                    return whole
            import gzip  # their errors, below (imported here: a trace file's explain needs none of them)
            import lzma
            import zlib

            head = raw.read(8)
            stream: Any = _Prepend(head, raw)  # works for FIFOs and pipes too (no seeking back)
            inner = decompress_stream(stream, head)
            if inner is not None:
                stream = inner
            try:
                if head_only is not None:
                    return bytes(stream.read(head_only))
                return read_stream(stream, shown, limit)
            except (EOFError, lzma.LZMAError, zlib.error, gzip.BadGzipFile) as e:
                why = e or "early end"
                raise SourceError(f"{shown}: a compressed file that is cut short or damaged: {why}") from None
            except OSError as e:
                if inner is None:
                    raise
                raise SourceError(f"{shown}: a compressed file that is cut short or damaged: {e}") from None
            finally:
                if inner is not None:
                    inner.close()
    except SourceError:
        raise
    except OSError as e:
        raise SourceError(f"{shown}: {e.strerror or e}") from None


def _read_regular(raw: BinaryIO, name: str, limit: int | None) -> bytes | None:
    """A regular, uncompressed file in one read of its size (a big database file: no chunks joined, no copy),
    the cap applied to what was read; ``None`` for anything else (the caller reads it in chunks). The size
    is only a hint: a file that grew meanwhile is read on to its end, up to the cap."""
    try:
        st = os.fstat(raw.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size < _CHUNK:
        return None
    head = raw.read(8)
    raw.seek(0)
    if is_compressed(head):
        return None
    cap = max_input_size() if limit is None else limit
    data = raw.read(min(cap, st.st_size) + 1)
    if len(data) > cap:
        raise too_large(name, cap)
    rest = raw.read(1)
    if rest:  # it grew: read on (with the cap) and join
        if len(data) + 1 > cap:
            raise too_large(name, cap)
        try:
            data += rest + read_stream(raw, name, cap - len(data) - 1)
        except InputTooLarge:
            raise too_large(name, cap) from None
    return data


class _Prepend(io.RawIOBase):
    """A read-only binary stream: ``head`` then the rest of ``f`` (for streams that cannot seek back)."""

    def __init__(self, head: bytes, f: BinaryIO) -> None:
        super().__init__()
        self._head = head
        self._f = f

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._f.read(len(view))
        view[:len(data)] = data
        return len(data)
