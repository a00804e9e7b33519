"""The Northbound columns correlation reads, per table: every source loads these and no others.

A Northbound row reaches correlation as an :class:`ovntrace.model.cluster.NbRow` whose ``columns`` hold
only what is declared here (``ovntrace.sources`` imports :func:`nb_columns`): a live server is asked for
these columns alone, a database file's or a dump's other columns are never decoded, so the same facts come
from every source. Reading any other column of such a row raises
:class:`ovntrace.model.cluster.ColumnNotLoaded` instead of answering ``None``.

Every column read by correlation code (``row.columns.get("x")``, ``row.columns["x"]``, ``"x" in columns``,
``row.name``) must be listed here: ``tests/correlate/test_columns.py`` reads correlate's source and fails on
any read it cannot find in this list (or cannot resolve to a literal name), and runs correlation on real
fixtures recording every column read.
"""

from __future__ import annotations

from collections.abc import Mapping

#: ``annotate.nb_summary`` of an ACL (the row a flow's stage-hint points at)
ACL_SUMMARY: frozenset[str] = frozenset(
    {"name", "direction", "priority", "match", "action", "log", "severity", "label", "tier"})

#: ``annotate.nb_summary`` of a row of any other table (``name`` is also ``NbRow.name``)
SUMMARY: frozenset[str] = frozenset(
    {"name", "addresses", "type", "networks", "mac", "ip_prefix", "nexthop", "policy", "match", "action",
     "external_ip", "logical_ip", "vips", "protocol"})

#: what the rest of correlation reads beyond the summary, by table
_MORE: Mapping[str, frozenset[str]] = {
    # verdict.VerdictFacts.pod (external_ids), verdict._addresses (port_security); index._mac_owners
    # reads name, addresses and type (in SUMMARY)
    "Logical_Switch_Port": frozenset({"external_ids", "port_security"}),
    # verdict._no_route: a router's static routes, and each route's table
    "Logical_Router": frozenset({"static_routes"}),
    "Logical_Router_Static_Route": frozenset({"route_table"}),
    # index._mac_owners (mac), verdict / path.py load balancers (vips, name, protocol): in SUMMARY
}


def nb_columns(table: str) -> frozenset[str]:
    """The columns of Northbound table ``table`` that correlation reads."""
    base = ACL_SUMMARY if table == "ACL" else SUMMARY
    more = _MORE.get(table)
    return base | more if more else base
