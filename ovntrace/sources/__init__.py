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

from ovntrace.sources.errors import PasteError, SourceError
from ovntrace.sources.live import load_remote
from ovntrace.sources.load import load_cluster, load_context, load_directory, load_nb, load_node, load_sb

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
