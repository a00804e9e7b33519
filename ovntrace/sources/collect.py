"""The read-only commands ``ovntrace path`` runs on nodes, and what their outputs become.

Every command is an argv template in :data:`COMMANDS` (shown in docs/path.md); arguments are filled in and
the line is ``shlex``-quoted by the transport. Nothing here writes to any database or switch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from ovntrace.model.cluster import ClusterContext
from ovntrace.sources.load import context_from_text_any
from ovntrace.sources.ssh import Pool

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


def collect_dbs(pool: Pool, central: str, nb_remote: str, sb_remote: str,
                nodes: Iterable[str]) -> ClusterContext:
    """NB and SB from the central node and each node's conf.db, in parallel, as one ClusterContext."""
    jobs: list[tuple[str, list[str], str, str | None]] = [
        (central, argv("nb", nb_remote=nb_remote), "nb", None),
        (central, argv("sb", sb_remote=sb_remote), "sb", None),
    ]
    jobs += [(n, argv("ovs"), "ovs", n) for n in nodes]

    def one(job: tuple[str, list[str], str, str | None]) -> ClusterContext:
        node, cmd, hint, as_node = job
        text = pool.run(node, cmd)
        return context_from_text_any(text, f"{node}:{cmd[0]} {hint}", hint, as_node)

    with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as ex:
        parts = list(ex.map(one, jobs))
    ctx = ClusterContext()
    for p in parts:
        ctx = ctx.merge(p)
    return ctx


def trace(pool: Pool, node: str, flow: str, bridge: str = "br-int", ct_next: Sequence[str] = ()) -> str:
    return pool.run(node, argv("trace", ct_next, bridge=bridge, flow=flow))
