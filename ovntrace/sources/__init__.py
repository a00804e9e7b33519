"""Cluster facts from every kind of source, into :class:`ovntrace.model.cluster.ClusterContext`.

* OVSDB database files (standalone and clustered/Raft), read natively: :mod:`.ovsdb`;
* ``ovsdb-client dump --format=json`` and ``ovn-*ctl --format=json list`` outputs: :mod:`.jsondump`;
* live OVSDB remotes (``tcp:``, ``ssl:``, ``unix:``): one read-only select (:mod:`.rpc`), or ovsdbapp
  (:mod:`.live`);
* pasted ``ovs-vsctl show``, ``ovs-ofctl show``, ``ovs-appctl dpif/show``, ``ovn-nbctl show``,
  ``ovn-sbctl show`` (Lark grammars): :mod:`.paste`;
* a node's ``conf.db`` -> :class:`NodeFacts`: :func:`.convert.node_facts`.

Everything is recognised by content (:func:`load_context`); see docs/sources.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ovntrace.sources.errors import PasteError, SourceError

if TYPE_CHECKING:
    from ovntrace.sources.live import load_remote
    from ovntrace.sources.load import load_cluster, load_context, load_directory, load_nb, load_node, load_sb

_LAZY = {"load_remote": "live", "load_cluster": "load", "load_context": "load", "load_directory": "load",
         "load_nb": "load", "load_node": "load", "load_sb": "load"}


def __getattr__(name: str) -> Any:
    """The loaders are imported on first use: ``explain`` without a database (and every module that only
    needs :mod:`.limits` or :mod:`.errors`) does not pay for the OVSDB, RPC and paste readers."""
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value

__all__ = [
    "PasteError",
    "SourceError",
    "load_cluster",
    "load_context",
    "load_directory",
    "load_nb",
    "load_node",
    "load_remote",
    "load_sb",
]
