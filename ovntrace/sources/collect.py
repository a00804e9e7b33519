"""The read-only commands ``ovntrace path`` runs on nodes, and what their outputs become.

Every command is an argv template in :data:`COMMANDS` (shown in docs/path.md); arguments are filled in and
the line is ``shlex``-quoted by the transport. Nothing here writes to any database or switch.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ovntrace.model.cluster import ClusterContext
from ovntrace.sources.load import context_from_text_any
from ovntrace.sources.ssh import Pool, SshError

#: name -> argv template ({placeholders} filled per call). All read-only.
COMMANDS: dict[str, tuple[str, ...]] = {
    # on the central node: whole NB / SB as JSON (ovsdb-client dump takes one table at a time, or all)
    "nb": ("ovsdb-client", "dump", "--format=json", "{nb_remote}", "OVN_Northbound"),
    "sb": ("ovsdb-client", "dump", "--format=json", "{sb_remote}", "OVN_Southbound"),
    # on every node: its conf.db (bridges, ports, interfaces: ofports, iface-ids, tunnel remote_ip)
    "ovs": ("ovsdb-client", "dump", "--format=json", "Open_vSwitch"),
    # on a node: trace a microflow (conntrack state of the first recirculation with --ct-next)
    "trace": ("ovs-appctl", "ofproto/trace", "{bridge}", "{flow}"),
}


def argv(name: str, ct_next: Sequence[str] = (), **values: str) -> list[str]:
    """The argv of command ``name`` with its placeholders filled (each value stays one argument)."""
    out = [part.format(**values) for part in COMMANDS[name]]
    if name == "trace":
        for ct in ct_next:
            out += ["--ct-next", ct]
    return out


@dataclass
class Collected:
    """The raw outputs of one collection: NB and SB dumps, each node's conf.db dump, and the nodes that failed."""

    nb: str
    sb: str
    ovs: dict[str, str] = field(default_factory=dict)
    errors: dict[str, SshError] = field(default_factory=dict)  # node -> why its conf.db was not read
    commands: list[tuple[str, str]] = field(default_factory=list)  # (node, command line) as run

    def context(self, name: str = "") -> ClusterContext:
        """One ClusterContext of everything collected (the failed nodes are absent)."""
        ctx = context_from_text_any(self.nb, f"{name}nb", "nb").merge(context_from_text_any(self.sb, f"{name}sb",
                                                                                             "sb"))
        for node, text in self.ovs.items():
            ctx = ctx.merge(context_from_text_any(text, f"{name}{node}:ovs", "ovs", node))
        return ctx


def collect_raw(pool: Pool, central: str, nb_remote: str, sb_remote: str, nodes: Iterable[str]) -> Collected:
    """NB and SB from the central node and each node's conf.db, in parallel, as text.

    A node whose conf.db cannot be read (sshd down, auth, OVS not running) is recorded in ``errors`` and the
    others are still collected; NB/SB failing (the central node) raises :class:`SshError`."""
    jobs: list[tuple[str, list[str], str]] = [
        (central, argv("nb", nb_remote=nb_remote), "nb"),
        (central, argv("sb", sb_remote=sb_remote), "sb"),
    ]
    jobs += [(n, argv("ovs"), "ovs") for n in nodes]

    def one(job: tuple[str, list[str], str]) -> str | SshError:
        node, cmd, _ = job
        try:
            return pool.run(node, cmd)
        except SshError as e:
            return e

    with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as ex:
        outs = list(ex.map(one, jobs))
    for (_node, _cmd, _hint), out in zip(jobs[:2], outs[:2], strict=True):
        if isinstance(out, SshError):
            raise out
    nb, sb = outs[0], outs[1]
    assert isinstance(nb, str) and isinstance(sb, str)
    got = Collected(nb, sb, commands=[(n, shlex.join(c)) for n, c, _ in jobs])
    for (node, _cmd, _hint), out in zip(jobs[2:], outs[2:], strict=True):
        if isinstance(out, SshError):
            got.errors[node] = out
        else:
            got.ovs[node] = out
    return got


def collect_dbs(pool: Pool, central: str, nb_remote: str, sb_remote: str,
                nodes: Iterable[str]) -> ClusterContext:
    """NB and SB from the central node and each node's conf.db, in parallel, as one ClusterContext.
    Any failure raises :class:`SshError` (see :func:`collect_raw` to keep the nodes that answered)."""
    got = collect_raw(pool, central, nb_remote, sb_remote, nodes)
    for err in got.errors.values():
        raise err
    return got.context(f"{central}:")


def trace(pool: Pool, node: str, flow: str, bridge: str = "br-int", ct_next: Sequence[str] = ()) -> str:
    return pool.run(node, argv("trace", ct_next, bridge=bridge, flow=flow))
