"""Run read-only commands on cluster nodes: over SSH (paramiko) or on this host (``local``).

* One :class:`SshTransport` per node, its connection opened on first use and reused for every command.
* The target comes from the inventory's ``[nodes.ssh]`` (host, port, user, key, known_hosts) and, for what it
  leaves unset, from an OpenSSH-style ``ssh_config`` (``Host``, ``HostName``, ``User``, ``Port``,
  ``IdentityFile``, ``UserKnownHostsFile``): the lab's ``<dir>/ssh_config`` and ``~/.ssh/config``.
* Host keys are checked against ``known_hosts``: an unknown key is rejected unless ``accept_new`` (then it
  is recorded, atomically, like OpenSSH's ``StrictHostKeyChecking=accept-new``); a changed key is always an
  error.
* Every failure is an :class:`SshError` naming the node and the command (auth, host key, timeout,
  command not found, permission denied, OVS not running).
"""

from __future__ import annotations

import logging
import os
import select
import shlex
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from ovntrace.model.sshspec import split_hop

CONNECT_TIMEOUT = 10.0
COMMAND_TIMEOUT = 30.0

# paramiko's transport thread logs a failed handshake as an ERROR with its traceback, which Python's
# last-resort handler prints on stderr (22 lines for a silent listener): the failure is reported by our
# one-line SshError instead. ``--debug`` tracebacks are unaffected.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


class SshError(Exception):
    """A node could not be reached or a command failed there: one line naming node and command."""

    def __init__(self, node: str, message: str, command: str | None = None, kind: str = "error") -> None:
        where = f"{node}: `{command}`: " if command else f"{node}: "
        super().__init__(where + message)
        self.node = node
        self.command = command
        # auth | hostkey | hostkey-changed | hostkey-revoked | timeout | connect | not-found | permission | ovs-down |
        # too-large | failed
        self.kind = kind


@dataclass(frozen=True)
class Target:
    """Where a node's commands run. ``host`` empty means this host (the ``local`` transport)."""

    node: str
    host: str = ""
    port: int = 22
    user: str = ""
    key: str = ""
    known_hosts: str = ""
    prefix: tuple[str, ...] = ()  # e.g. ("sudo",) or ("docker", "exec", "ovs")
    accept_new: bool = False
    jump: tuple[Target, ...] = ()  # ProxyJump hops, first to last: the target is reached through them

    @property
    def name(self) -> str:
        """``host`` or ``[host]:port``, as in known_hosts."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"


def _expand(p: str) -> str:
    return os.path.expanduser(p) if p else p


def _lookup(host: str, ssh_configs: Sequence[Path]) -> dict[str, object]:
    """The options of the first ``ssh_config`` that has a ``Host`` for ``host`` ({} if none)."""
    import paramiko

    for cfg_path in ssh_configs:
        if not cfg_path.is_file():
            continue
        cfg = paramiko.SSHConfig.from_path(str(cfg_path))
        if host in cfg.get_hostnames():
            return dict(cfg.lookup(host))
    return {}


def split_prefix(prefix: str | Sequence[str] | None) -> tuple[str, ...]:
    """A command prefix (``"sudo"``, ``"docker exec ovs"``) as argv words (``shlex.split`` of a string)."""
    if not prefix:
        return ()
    if isinstance(prefix, str):
        try:
            return tuple(shlex.split(prefix))
        except ValueError as e:
            raise SshError("inventory", f"bad command prefix {prefix!r}: {e}", kind="connect") from None
    return tuple(str(p) for p in prefix)


def _jump_hops(spec: str, via: Target, ssh_configs: Sequence[Path], accept_new: bool,
               seen: frozenset[str] = frozenset()) -> tuple[Target, ...]:
    """The hops of a ProxyJump value (``[user@]host[:port]``, comma-separated, first hop first). A hop
    named by an ssh_config ``Host`` takes its options from there (and its own ProxyJump first); what a hop
    leaves unset (key, known_hosts) is the target's ``via``."""
    hops: list[Target] = []
    for one in (h.strip() for h in spec.split(",") if h.strip()):
        if one.lower() == "none":
            return ()
        user, host, port_s = split_hop(one)
        if not host or (port_s and not port_s.isdigit()):
            raise SshError(via.node, f"bad ProxyJump {one!r} (expected [user@]host[:port])", kind="connect")
        if host in seen:
            raise SshError(via.node, f"ProxyJump loop through {host}", kind="connect")
        looked = _lookup(host, ssh_configs)
        idf = looked.get("identityfile")
        khf = looked.get("userknownhostsfile")
        t = Target(
            node=f"{via.node} (jump {one})",
            host=str(looked.get("hostname") or host),
            port=int(port_s or str(looked.get("port") or 22)),
            user=user or str(looked.get("user") or via.user),
            key=_expand(str(idf[0])) if isinstance(idf, list) and idf else via.key,
            known_hosts=_expand(str(khf).split()[0]) if khf else via.known_hosts,
            accept_new=accept_new,
        )
        inner = looked.get("proxyjump")
        if inner and not hops:
            hops += _jump_hops(str(inner), t, ssh_configs, accept_new, seen | {host})
        hops.append(t)
    return tuple(hops)


def resolve_target(node: str, ssh: object | None, ssh_configs: Sequence[Path] = (),
                   accept_new: bool = False, prefix: Sequence[str] = ()) -> Target:
    """The SSH target of ``node``: the inventory's ``[nodes.ssh]`` (``ssh``, an object with ``host``,
    ``port``, ``user``, ``key``, ``known_hosts`` and optionally ``prefix`` and ``jump``) over the first
    ``ssh_config`` that has a ``Host`` for it (``HostName``, ``Port``, ``User``, ``IdentityFile``,
    ``UserKnownHostsFile``, ``ProxyJump``)."""
    looked = _lookup(node, ssh_configs)
    inv = {k: getattr(ssh, k, None) for k in ("host", "port", "user", "key", "known_hosts", "prefix", "jump")} \
        if ssh else {}
    idf = looked.get("identityfile")
    khf = looked.get("userknownhostsfile")
    host = str(inv.get("host") or looked.get("hostname") or (node if looked or ssh else ""))
    port = int(str(inv.get("port") or looked.get("port") or 22))
    user = str(inv.get("user") or looked.get("user") or os.environ.get("USER") or "root")
    key = str(inv.get("key") or (idf[0] if isinstance(idf, list) and idf else "") or "")
    known = str(inv.get("known_hosts") or (str(khf).split()[0] if khf else "") or "~/.ssh/known_hosts")
    pre = tuple(prefix) or split_prefix(inv.get("prefix"))
    t = Target(node, host, port, user, _expand(key), _expand(known), pre, accept_new)
    jump = str(inv.get("jump") or looked.get("proxyjump") or "")
    if jump and host:
        t = replace(t, jump=_jump_hops(jump, t, ssh_configs, accept_new))
    return t


class Transport(Protocol):
    @property
    def node(self) -> str: ...

    commands: int
    connections: int

    def run(self, argv: Sequence[str], timeout: float = COMMAND_TIMEOUT) -> str: ...

    def close(self) -> None: ...


def _classify(node: str, line: str, rc: int, err: str) -> SshError:
    low = err.lower()
    lines = [ln.strip() for ln in err.strip().splitlines() if ln.strip()]
    first = " | ".join(dict.fromkeys([lines[0], lines[-1]]))[:400] if lines else "(no error output)"
    if rc == 127 or "command not found" in low:
        return SshError(node, f"command not found (exit {rc}): {first}", line, "not-found")
    if "permission denied" in low:
        return SshError(node, f"permission denied: {first}", line, "permission")
    if any(s in low for s in ("database connection failed", "cannot connect to", "failed to connect to socket",
                              "no such file or directory", "connection refused")):
        return SshError(node, f"OVS/OVN not running or not reachable (exit {rc}): {first}", line, "ovs-down")
    return SshError(node, f"failed (exit {rc}): {first}", line, "failed")


@dataclass
class LocalTransport:
    """The same commands, on this host."""

    node: str
    prefix: tuple[str, ...] = ()
    commands: int = 0
    connections: int = 0

    def run(self, argv: Sequence[str], timeout: float = COMMAND_TIMEOUT) -> str:
        full = [*self.prefix, *argv]
        line = shlex.join(full)
        self.commands += 1
        try:
            proc = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except FileNotFoundError:
            raise SshError(self.node, "command not found", line, "not-found") from None
        try:
            out, err = _read_capped(proc, self.node, line, timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        if proc.returncode != 0:
            raise _classify(self.node, line, proc.returncode, err.decode("utf-8", "replace"))
        return out.decode("utf-8", "replace")

    def close(self) -> None:
        pass


def _too_large(node: str, line: str, cap: int) -> SshError:
    from ovntrace.sources.limits import too_large_message

    return SshError(node, too_large_message("the output", cap) + "; stopped the command", line, "too-large")


def _read_capped(proc: subprocess.Popen[bytes], node: str, line: str, timeout: float) -> tuple[bytes, bytes]:
    """stdout and stderr of a local command, at most the input size cap together, within ``timeout``."""
    import selectors

    from ovntrace.sources.limits import max_input_size

    cap = max_input_size()
    bufs = {proc.stdout: bytearray(), proc.stderr: bytearray()}
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        for f in bufs:
            assert f is not None
            sel.register(f, selectors.EVENT_READ)
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                raise SshError(node, f"timed out after {timeout:.0f}s", line, "timeout")
            for key, _ in sel.select(min(left, 1.0)):
                chunk = os.read(key.fd, 1 << 16)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                bufs[key.fileobj] += chunk  # type: ignore[index]
                if sum(len(b) for b in bufs.values()) > cap:
                    raise _too_large(node, line, cap)
    left = max(0.0, deadline - time.monotonic())
    try:
        proc.wait(left)
    except subprocess.TimeoutExpired:
        raise SshError(node, f"timed out after {timeout:.0f}s", line, "timeout") from None
    return bytes(bufs[proc.stdout]), bytes(bufs[proc.stderr])


_KH_LOCK = threading.Lock()


@dataclass
class KnownHosts:
    """A known_hosts file as OpenSSH reads it, for paramiko: plain and hashed entries; ``@revoked`` keys
    (refused for every host, even with --accept-new); ``@cert-authority`` lines skipped (ovntrace does not
    check SSH certificates) and counted, so that an unknown-key error can say so; lines that are not valid
    entries skipped and counted (paramiko alone fails on the whole file: "Incorrect padding")."""

    entries: list[tuple[list[str], object]] = field(default_factory=list)  # (host patterns, PKey)
    revoked: set[tuple[str, str]] = field(default_factory=set)  # (key type, base64)
    cert_authorities: int = 0
    bad_lines: list[int] = field(default_factory=list)

    @staticmethod
    def read(path: str) -> KnownHosts:
        from paramiko.hostkeys import HostKeyEntry, InvalidHostKey

        kh = KnownHosts()
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read(16 << 20).splitlines()
        for n, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            marker = ""
            if line.startswith("@"):
                marker, _, line = line.partition(" ")
                line = line.strip()
            try:
                entry = HostKeyEntry.from_line(line, n)
            except (InvalidHostKey, ValueError, IndexError, TypeError):
                entry = None
            if marker == "@cert-authority":
                kh.cert_authorities += 1
                continue
            if entry is None or entry.key is None:
                kh.bad_lines.append(n)
                continue
            if marker == "@revoked":
                kh.revoked.add((entry.key.get_name(), entry.key.get_base64()))
                continue
            if marker:
                kh.bad_lines.append(n)
                continue
            kh.entries.append((list(entry.hostnames), entry.key))
        return kh

    def install(self, client: object) -> None:
        """Add the entries whose key is not revoked to ``client``'s host keys."""
        import paramiko

        assert isinstance(client, paramiko.SSHClient)
        keys = client.get_host_keys()
        for names, key in self.entries:
            assert isinstance(key, paramiko.PKey)
            if (key.get_name(), key.get_base64()) in self.revoked:
                continue
            for name in names:
                keys.add(name, key.get_name(), key)

    def remark(self) -> str:
        """What was not used from the file, for an unknown-host-key message ("" if everything was)."""
        out = []
        if self.cert_authorities:
            out.append(f"it has {self.cert_authorities} @cert-authority line(s), which ovntrace does not honour "
                       "(no SSH certificate checks): add the host's own key")
        if self.bad_lines:
            out.append(f"line(s) {', '.join(map(str, self.bad_lines[:5]))} are not valid entries and were skipped")
        return "; " + "; ".join(out) if out else ""


def _record_host_key(path: str, entry: str) -> None:
    """Append ``entry`` to known_hosts atomically (temp file + rename), keeping what is there."""
    with _KH_LOCK:
        p = Path(path)
        old = p.read_text() if p.exists() else ""
        if old and not old.endswith("\n"):
            old += "\n"
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".known_hosts.", dir=str(p.parent))
        try:
            with os.fdopen(fd, "w") as f:
                f.write(old + entry + "\n")
            os.chmod(tmp, 0o600)
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


@dataclass
class SshTransport:
    """One paramiko connection to one node, opened on first use and reused."""

    target: Target
    connect_timeout: float = CONNECT_TIMEOUT
    commands: int = 0
    connections: int = 0
    _client: object | None = None
    _jumps: list[object] = field(default_factory=list)  # the ProxyJump hops' clients, first hop first
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def node(self) -> str:
        return self.target.node

    def _connect(self) -> object:
        """The target's client, through its ProxyJump hops (each one's host key checked) when it has some."""
        import paramiko

        t = self.target
        sock: object | None = None
        prev: Target | None = None
        for hop in (*t.jump, t):
            if prev is not None:
                assert isinstance(self._jumps[-1], paramiko.SSHClient)
                tr = self._jumps[-1].get_transport()
                try:
                    if tr is None:
                        raise paramiko.SSHException("jump connection lost")
                    sock = tr.open_channel("direct-tcpip", (hop.host, hop.port), ("127.0.0.1", 0),
                                           timeout=self.connect_timeout)
                except (paramiko.SSHException, OSError) as e:
                    self.close()
                    raise SshError(t.node, f"jump host {prev.user}@{prev.name} cannot forward to {hop.name} "
                                   f"(ProxyJump; does its sshd allow TCP forwarding?): {e or type(e).__name__}",
                                   kind="connect") from None
            try:
                client = self._client_of(hop, sock)
            except SshError:
                self.close()
                raise
            if hop is not t:
                self._jumps.append(client)
            prev = hop
        return client

    def _client_of(self, t: Target, sock: object | None) -> object:
        import paramiko

        client = paramiko.SSHClient()
        kh = t.known_hosts
        known = KnownHosts()
        if kh and os.path.exists(kh):
            try:
                known = KnownHosts.read(kh)
            except OSError as e:
                raise SshError(t.node, f"cannot read known_hosts {kh}: {e}", kind="hostkey") from None
            known.install(client)
        node = t.node
        name = t.name

        class _Policy(paramiko.MissingHostKeyPolicy):
            def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
                if (key.get_name(), key.get_base64()) in known.revoked:
                    raise SshError(node, f"host key of {name} ({key.get_name()} {key.fingerprint}) is marked "
                                   f"@revoked in {kh}; refusing to connect", kind="hostkey-revoked")
                if not t.accept_new:
                    raise SshError(node, f"unknown host key for {name} ({key.get_name()} "
                                   f"{key.fingerprint}) not in {kh or 'known_hosts'}{known.remark()}; check it, "
                                   "then pass --accept-new to record it", kind="hostkey")
                if kh:
                    _record_host_key(kh, f"{name} {key.get_name()} {key.get_base64()}")

        client.set_missing_host_key_policy(_Policy())
        try:
            client.connect(t.host, port=t.port, username=t.user, key_filename=t.key or None,
                           timeout=self.connect_timeout, banner_timeout=self.connect_timeout,
                           auth_timeout=self.connect_timeout, look_for_keys=not t.key, allow_agent=True,
                           sock=sock)  # type: ignore[arg-type]
        except SshError:
            raise
        except paramiko.BadHostKeyException as e:
            raise SshError(node, f"HOST KEY CHANGED for {name}: got {e.key.get_name()} {e.key.fingerprint}, "
                           f"known_hosts {kh} has {e.expected_key.fingerprint}; refusing to connect (possible "
                           "man-in-the-middle); fix known_hosts if the change is expected",
                           kind="hostkey-changed") from None
        except paramiko.AuthenticationException as e:
            raise SshError(node, f"authentication failed as {t.user}@{name} (key {t.key or 'default'}): {e}",
                           kind="auth") from None
        except (TimeoutError, OSError) as e:
            kind = "timeout" if isinstance(e, TimeoutError) else "connect"
            raise SshError(node, f"cannot connect to {name}: {_os_error_words(e)}", kind=kind) from None
        except paramiko.SSHException as e:
            tr = client.get_transport()
            if tr is not None and getattr(tr, "saved_exception", None) is None and tr.is_alive():
                tr.join(1.0)  # the handshake thread records why it failed (a banner timeout ...) as it ends
            why = getattr(tr, "saved_exception", None) or e
            client.close()
            if "banner" in str(why).lower():
                if isinstance(why.__context__, (TimeoutError, OSError)) and not isinstance(
                        why.__context__, ConnectionError):
                    raise SshError(node, f"timed out after {self.connect_timeout:.0f}s waiting for the SSH banner "
                                   f"of {name}: something listens there but does not speak SSH",
                                   kind="timeout") from None
                raise SshError(node, f"{name} closed the connection before its SSH banner: something listens "
                               "there but does not speak SSH (or refused this client)", kind="connect") from None
            raise SshError(node, f"SSH to {name} failed: {why}", kind="connect") from None
        self.connections += 1
        return client

    def run(self, argv: Sequence[str], timeout: float = COMMAND_TIMEOUT) -> str:
        import paramiko

        line = shlex.join([*self.target.prefix, *argv])
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            client = self._client
        assert isinstance(client, paramiko.SSHClient)
        tr = client.get_transport()
        if tr is None or not tr.is_active():
            raise SshError(self.node, "connection lost", line, "connect")
        self.commands += 1
        try:
            chan = tr.open_session(timeout=self.connect_timeout)
            chan.exec_command(line)
            out, err = bytearray(), bytearray()
            deadline = time.monotonic() + timeout
            from ovntrace.sources.limits import max_input_size

            cap = max_input_size()
            while True:
                if len(out) + len(err) > cap:
                    chan.close()  # the remote command gets SIGPIPE / its channel closed
                    raise _too_large(self.node, line, cap)
                if chan.recv_ready():
                    out += chan.recv(1 << 16)
                    continue
                if chan.recv_stderr_ready():
                    err += chan.recv_stderr(1 << 16)
                    continue
                if chan.exit_status_ready() and chan.eof_received:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    chan.close()
                    raise SshError(self.node, f"timed out after {timeout:.0f}s", line, "timeout")
                select.select([chan], [], [], min(left, 0.2))
            rc = chan.recv_exit_status()
            chan.close()
        except paramiko.SSHException as e:
            raise SshError(self.node, f"SSH channel failed: {e}", line, "connect") from None
        if rc != 0:
            raise _classify(self.node, line, rc, err.decode("utf-8", "replace"))
        return out.decode("utf-8", "replace")

    def close(self) -> None:
        import paramiko

        if isinstance(self._client, paramiko.SSHClient):
            self._client.close()
        self._client = None
        for c in reversed(self._jumps):
            if isinstance(c, paramiko.SSHClient):
                c.close()
        self._jumps = []


class Pool:
    """One transport per node; counts connections and commands."""

    def __init__(self, transports: dict[str, Transport]) -> None:
        self.transports = transports

    def __getitem__(self, node: str) -> Transport:
        try:
            return self.transports[node]
        except KeyError:
            raise SshError(node, f"not in the inventory (nodes: {', '.join(sorted(self.transports))})",
                           kind="connect") from None

    def run(self, node: str, argv: Sequence[str], timeout: float = COMMAND_TIMEOUT) -> str:
        return self[node].run(argv, timeout)

    def line(self, node: str, argv: Sequence[str]) -> str:
        """The command line run on ``node`` for ``argv``: its prefix, then ``argv``, each word shell-quoted."""
        t = self.transports.get(node)
        target = getattr(t, "target", None)
        prefix = target.prefix if isinstance(target, Target) else tuple(getattr(t, "prefix", ()))
        return shlex.join([*prefix, *argv])

    @property
    def connections(self) -> int:
        return sum(t.connections for t in self.transports.values())

    @property
    def commands(self) -> int:
        return sum(t.commands for t in self.transports.values())

    def close(self) -> None:
        for t in self.transports.values():
            t.close()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _os_error_words(e: OSError) -> str:
    """An OS-level connect failure in words: never ``[Errno None] …`` (paramiko's NoValidConnectionsError
    carries one error per address tried), never a bare class name."""
    per_address = getattr(e, "errors", None)
    if isinstance(per_address, dict) and per_address:
        words = sorted({(x.strerror or str(x)) if isinstance(x, OSError) else str(x) for x in per_address.values()})
        ports = sorted({str(a[1]) for a in per_address if isinstance(a, tuple) and len(a) > 1})
        where = f" (port {', '.join(ports)})" if ports else ""
        return "; ".join(w.lower() if w[:1].isupper() else w for w in words) + where
    if e.strerror:
        return e.strerror.lower() if e.strerror[:1].isupper() else e.strerror
    text = str(e).removeprefix("[Errno None] ").strip()
    return text or type(e).__name__
