"""Issue 17 items 8-9 for the command runners and the OVSDB reader: output is capped (real sshd of the
session lab, and this host), a listener that never speaks SSH is one line naming node and what timed out,
``@cert-authority``/``@revoked`` lines in known_hosts are handled, and an OVSDB server that streams without
end, or sends a reply larger than the cap, is refused early.

The silent listener and the OVSDB servers are real loopback TCP servers in this process, each bounded (they
send at most a fixed amount, then stop); nothing here is mocked."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ovntrace.lab.lab import Lab
from ovntrace.sources.errors import SourceError
from ovntrace.sources.limits import set_max_input_size
from ovntrace.sources.rpc import JsonFramer, fetch_tables
from ovntrace.sources.ssh import KnownHosts, LocalTransport, SshError, SshTransport, Target, resolve_target


@pytest.fixture(autouse=True)
def _reset_limit() -> Iterator[None]:
    yield
    set_max_input_size(None)


@contextlib.contextmanager
def tcp_server(handler: object) -> Iterator[int]:
    """A loopback server calling ``handler(conn)`` per connection in a thread; yields its port."""
    srv = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=_handle, args=(conn,), daemon=True).start()

    def _handle(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            handler(conn, stop)  # type: ignore[operator]

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield srv.getsockname()[1]
    finally:
        stop.set()
        srv.close()


# -- a listener that never speaks SSH ----------------------------------------------------------------


def test_silent_ssh_listener_is_one_line(capfd: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    def silent(conn: socket.socket, stop: threading.Event) -> None:
        stop.wait(10)  # accept, say nothing

    kh = tmp_path / "known_hosts"
    kh.write_text("")
    with tcp_server(silent) as port:
        t = SshTransport(Target("kube-node7", "127.0.0.1", port, "root", "", str(kh)), connect_timeout=1.5)
        with pytest.raises(SshError) as e:
            t.run(["ovs-vsctl", "show"])
        time.sleep(0.3)  # paramiko's thread would print its traceback as it ends
    msg = str(e.value)
    assert "\n" not in msg and e.value.kind == "timeout"
    assert msg.startswith("kube-node7: ") and "SSH banner" in msg and "timed out after 2s" in msg
    assert capfd.readouterr().err == ""


def test_ovsdb_server_streaming_forever_is_refused_at_the_cap() -> None:
    """A server answering get_schema with a string that never ends (here: 256 MiB, then it waits): the
    reader stops at the cap (8 MiB) at once, instead of buffering until its deadline."""
    def endless(conn: socket.socket, stop: threading.Event) -> None:
        conn.recv(65536)
        conn.sendall(b'{"id":1,"error":null,"result":"')
        chunk = b"x" * (1 << 20)
        for _ in range(256):
            conn.sendall(chunk)
        stop.wait(30)

    set_max_input_size(8 << 20)
    with tcp_server(endless) as port:
        t0 = time.monotonic()
        with pytest.raises(SourceError, match=r"a reply: more than 8 MiB, the input size limit"):
            fetch_tables(f"tcp:127.0.0.1:{port}", "OVN_Southbound", timeout=20)
        assert time.monotonic() - t0 < 10


def test_huge_ovsdb_reply_is_read_whole_or_refused_by_the_cap() -> None:
    rows = [{"_uuid": ["uuid", f"00000000-0000-0000-0000-{i:012d}"], "name": f"chassis-{i}", "x": "}{\"\\" * 8}
            for i in range(200_000)]
    reply = json.dumps({"id": 1, "error": None, "result": [{"rows": rows}]}).encode()
    assert len(reply) > 16 << 20

    def answer(conn: socket.socket, stop: threading.Event) -> None:
        conn.recv(65536)
        conn.sendall(b'{"method":"echo","params":[],"id":"echo"}' + reply[:1000])  # an echo first, same packet
        conn.sendall(reply[1000:])
        conn.recv(65536)

    from ovntrace.sources.rpc import _Session

    with tcp_server(answer) as port:
        for cap, ok in ((64 << 20, True), (8 << 20, False)):
            set_max_input_size(cap)
            sock = socket.create_connection(("127.0.0.1", port))
            try:
                s = _Session(sock, "tcp:test", 30.0)
                if ok:
                    got = s.call("transact", [])
                    assert got == [{"rows": rows}]
                else:
                    with pytest.raises(SourceError, match="more than 8 MiB"):
                        s.call("transact", [])
            finally:
                sock.close()


def test_framer_is_exact_on_real_json_cut_anywhere() -> None:
    """Strings holding braces, quotes and backslashes, non-ASCII text, several messages in one chunk, cut at
    every offset."""
    msgs = [{"id": 1, "result": [{"rows": [{"match": 'outport == "a}{"', "x": "\\\"}\\\\", "é": "ü{"}]}]},
            {"method": "echo", "params": [], "id": "e"}, {"t": "\\\\\\\\"}, {}]
    for ascii_only in (True, False):
        data = b" ".join(json.dumps(m, ensure_ascii=ascii_only).encode() for m in msgs) + b"\n"
        for cut in range(1, len(data)):
            f = JsonFramer("t", 1 << 20)
            assert f.feed(data[:cut]) + f.feed(data[cut:]) == msgs
    with pytest.raises(SourceError, match="not a JSON-RPC message"):
        JsonFramer("t").feed(b"[1, 2]")


# -- output caps ---------------------------------------------------------------------------------------


def test_local_command_output_is_capped() -> None:
    set_max_input_size(1 << 20)
    t = LocalTransport("here")
    with pytest.raises(SshError) as e:
        t.run(["head", "-c", str(64 << 20), "/dev/zero"])
    assert e.value.kind == "too-large" and "more than 1 MiB" in str(e.value) and "\n" not in str(e.value)
    assert t.run(["echo", "ok"]) == "ok\n"


def _target(lab: Lab, node: str, known_hosts: Path | None = None) -> Target:
    from ovntrace.lab import inventory as inv_mod

    inv = inv_mod.load(lab.inventory_path)
    n = next(x for x in inv.nodes if x.name == node)
    t = resolve_target(n.name, n.ssh, [lab.ssh_config])
    if known_hosts is not None:
        import dataclasses

        t = dataclasses.replace(t, known_hosts=str(known_hosts))
    return t


@pytest.mark.lab
def test_remote_command_output_is_capped_over_real_ssh(lab: Lab) -> None:
    set_max_input_size(1 << 20)
    t = SshTransport(_target(lab, "kube-node1"))
    try:
        with pytest.raises(SshError) as e:
            t.run(["head", "-c", str(64 << 20), "/dev/zero"])
        assert e.value.kind == "too-large" and str(e.value).startswith("kube-node1: `head -c")
        assert "more than 1 MiB" in str(e.value)
        assert t.run(["echo", "still", "usable"]) == "still usable\n"  # same connection, next channel
    finally:
        t.close()


@pytest.mark.lab
def test_known_hosts_markers(lab: Lab, tmp_path: Path) -> None:
    real = Path(_target(lab, "kube-node1").known_hosts).read_text()
    pub = (lab.dir / "id_ed25519.pub").read_text().split()
    kh = tmp_path / "known_hosts"
    # a CA line and a revoked key that is not the node's: every node still reachable
    kh.write_text(f"@cert-authority *.example.org {pub[0]} {pub[1]}\n@revoked * {pub[0]} {pub[1]}\n" + real)
    t = SshTransport(_target(lab, "kube-node1", kh))
    try:
        assert t.run(["echo", "ok"]) == "ok\n"
    finally:
        t.close()
    parsed = KnownHosts.read(str(kh))
    assert parsed.cert_authorities == 1 and len(parsed.revoked) == 1 and not parsed.bad_lines
    # the node's own key revoked: refused even with --accept-new
    node1 = _target(lab, "kube-node1")
    line = next(ln for ln in real.splitlines() if ln.startswith(f"[127.0.0.1]:{node1.port} "))
    _, ktype, kb64 = line.split()[:3]
    kh.write_text(f"@revoked * {ktype} {kb64}\n" + real)
    t = SshTransport(_target(lab, "kube-node1", kh))
    with pytest.raises(SshError) as e:
        t.run(["echo", "ok"])
    assert e.value.kind == "hostkey-revoked" and "@revoked" in str(e.value)
    # only a CA line: the unknown-key message says why the CA did not help
    kh.write_text(f"@cert-authority * {pub[0]} {pub[1]}\n")
    t = SshTransport(_target(lab, "kube-node1", kh))
    with pytest.raises(SshError) as e:
        t.run(["echo", "ok"])
    assert e.value.kind == "hostkey" and "@cert-authority" in str(e.value) and "\n" not in str(e.value)
