"""How an OVSDB reply is read off a socket, by size: ``python bench/bench_ovsdb_read.py [--sizes 52,104]``.

The reply is a real ``transact``/``select`` answer shape (``{"id", "result": [{"rows": [...]}], "error"}``)
made of the lab Southbound's real Logical_Flow rows (fixtures/lab/ovnsb_db.db), repeated with fresh UUIDs
until it reaches each size (MB). For each size, in the same process:

* baseline: ``json.loads`` of the same bytes (the least any reader must spend);
* now: ``ovntrace.sources.rpc._Session.call`` reading it from a real loopback TCP server (the framer:
  each byte scanned once, the message decoded once);
* before: the reader ovntrace had until this change (buffer concatenated per chunk, a decode of the whole
  buffer tried after every chunk ending in ``}``), on the same server, for comparison (``--no-before`` skips).

Printed: seconds, the ratio to the baseline, and the time ratio between the two sizes (linear: about the
size ratio, 2.0 for 52 -> 104 MB). Issue 17 item 8 measured the old reader at 3.9 s / 11 s.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ovntrace.sources.ovsdb import gc_paused, split_records  # noqa: E402
from ovntrace.sources.rpc import _Session  # noqa: E402


def reply_bytes(mb: int) -> bytes:
    records, _ = split_records((ROOT / "fixtures" / "lab" / "ovnsb_db.db").read_bytes())
    flows: dict[str, Any] = {}
    for rec in records[1:]:
        flows.update(rec.data.get("Logical_Flow") or {})
    base = [{"_uuid": ["uuid", u], **row} for u, row in flows.items() if row]
    one = sum(len(json.dumps(r)) for r in base)
    rows = []
    for _ in range(mb * 1_000_000 // one + 1):
        for r in base:
            rows.append({**r, "_uuid": ["uuid", str(uuid.uuid4())]})
    return json.dumps({"id": 1, "result": [{"rows": rows}], "error": None}).encode()


class Server:
    """A loopback TCP server that answers each connection's first request with ``data``, then closes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                with contextlib.suppress(OSError):
                    conn.sendall(self.data)

    def close(self) -> None:
        self.sock.close()


class BeforeSession(_Session):
    """The reader of ovntrace before this change (commit e892d0f), kept here only to measure it."""

    def _read(self) -> dict[str, Any]:
        buf = b""
        decoder = json.JSONDecoder()
        while True:
            text = buf.lstrip()
            if text and text.rstrip().endswith(b"}"):
                try:
                    obj, _ = decoder.raw_decode(text.decode("utf-8"))
                except (ValueError, UnicodeDecodeError):
                    obj = None
                if obj is not None:
                    return obj  # type: ignore[no-any-return]
            self.sock.settimeout(max(0.1, self.deadline - time.monotonic()))
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise OSError("closed")
            buf += chunk


def timed_read(server: Server, cls: type[_Session]) -> float:
    sock = socket.create_connection(("127.0.0.1", server.port))
    try:
        with gc_paused():
            t0 = time.perf_counter()
            result = cls(sock, "tcp:127.0.0.1", 600.0).call("transact", ["OVN_Southbound"])
            took = time.perf_counter() - t0
    finally:
        sock.close()
    assert isinstance(result, list) and result[0]["rows"]
    del result
    _clean()
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="52,104", help="reply sizes in MB (default 52,104)")
    ap.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    ap.add_argument("--no-before", action="store_true", help="do not measure the old reader")
    args = ap.parse_args()
    results: dict[int, dict[str, float]] = {}
    for mb in (int(s) for s in args.sizes.split(",")):
        data = reply_bytes(mb)
        server = Server(data)
        try:
            base = min(_time(json.loads, data) for _ in range(args.repeat))
            now = min(timed_read(server, _Session) for _ in range(args.repeat))
            before = float("nan") if args.no_before else timed_read(server, BeforeSession)
        finally:
            server.close()
        results[mb] = {"bytes": len(data), "json_loads": base, "now": now, "before": before}
        print(f"{len(data) / 1e6:7.1f} MB  json.loads {base:6.2f} s   now {now:6.2f} s ({now / base:4.2f}x "
              f"json.loads)   before {before:6.2f} s ({before / base:5.2f}x)", flush=True)
    sizes = sorted(results)
    if len(sizes) >= 2:
        a, b = results[sizes[0]], results[sizes[-1]]
        print(f"scaling {sizes[0]} -> {sizes[-1]} MB (bytes x{b['bytes'] / a['bytes']:.2f}): json.loads "
              f"x{b['json_loads'] / a['json_loads']:.2f}, now x{b['now'] / a['now']:.2f}, before "
              f"x{b['before'] / a['before']:.2f}")


def _time(fn: Any, arg: Any) -> float:
    """Seconds of ``fn()``, with the cyclic GC paused as the reader pauses it (else json.loads of 100 MB
    spends most of its time in collections)."""
    with gc_paused():
        t0 = time.perf_counter()
        fn(arg)
        took = time.perf_counter() - t0
    _clean()
    return took


def _clean() -> None:
    gc.unfreeze()  # gc_paused freezes what is alive: let the next run start from the same heap
    gc.collect()


if __name__ == "__main__":
    main()
