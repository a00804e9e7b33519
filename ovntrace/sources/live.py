"""A live OVSDB server through ovsdbapp (optional: ``pip install ovsdbapp``), read-only.

Only the tables (and, for the big Southbound ones, the columns) of :mod:`ovntrace.sources.tables` are
registered, so the server sends nothing else; followers of a clustered database are fine
(``leader_only=False``). No transaction is ever made. The rows are turned into plain values at the edge
(each column's datum in OVSDB JSON, decoded with the same converters as a database file), so no IDL row
leaves this module and the same data gives the same :class:`ClusterContext` as its database file.

Remotes: ``tcp:IP:PORT``, ``unix:PATH``, ``ssl:IP:PORT`` (with ``private_key``, ``certificate`` and
``ca_cert`` files); several remotes separated by commas are tried in turn.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from ovntrace.model.cluster import ClusterContext
from ovntrace.sources.convert import context_of
from ovntrace.sources.errors import SourceError
from ovntrace.sources.ovsdb import Schema, Tables, converter, gc_paused
from ovntrace.sources.tables import NB, OVS, READ, SB


def _import() -> tuple[Any, Any, Any]:
    try:
        stream = importlib.import_module("ovs.stream")
        connection = importlib.import_module("ovsdbapp.backend.ovs_idl.connection")
        idlutils = importlib.import_module("ovsdbapp.backend.ovs_idl.idlutils")
    except ImportError as e:
        raise SourceError(f"live OVSDB needs ovsdbapp (pip install ovsdbapp): {e}") from e
    return connection, idlutils, stream


def _ssl(remote: str, private_key: str | None, certificate: str | None, ca_cert: str | None, stream: Any) -> None:
    if not any(r.strip().startswith("ssl:") for r in remote.split(",")):
        return
    missing = [n for n, v in (("private key", private_key), ("certificate", certificate), ("CA certificate", ca_cert))
               if not v]
    if missing:
        raise SourceError(f"{remote}: ssl needs {', '.join(missing)} "
                          "(OVNTRACE_SSL_KEY, OVNTRACE_SSL_CERT, OVNTRACE_SSL_CA)")
    for path in (private_key, certificate, ca_cert):
        if path and not os.path.isfile(path):
            raise SourceError(f"{remote}: no such file {path}")
    stream.Stream.ssl_set_private_key_file(private_key)
    stream.Stream.ssl_set_certificate_file(certificate)
    stream.Stream.ssl_set_ca_cert_file(ca_cert)


def fetch_tables(
    remote: str, db: str, timeout: float = 30.0, private_key: str | None = None, certificate: str | None = None,
    ca_cert: str | None = None,
) -> tuple[Schema, Tables]:
    """The wanted tables of ``db`` on ``remote`` as plain rows (and the server's schema)."""
    connection, idlutils, stream = _import()
    _ssl(remote, private_key or os.environ.get("OVNTRACE_SSL_KEY"),
         certificate or os.environ.get("OVNTRACE_SSL_CERT"), ca_cert or os.environ.get("OVNTRACE_SSL_CA"), stream)
    try:
        schema_json = idlutils.fetch_schema_json(remote, db)
    except Exception as e:  # ovsdbapp raises a bare Exception when no remote answers
        raise SourceError(f"{remote}: cannot get the {db} schema: {e}") from e
    schema = Schema.from_json(schema_json)
    wanted = READ.get(db)
    if wanted is None:
        raise SourceError(f"{db}: not a database ovntrace reads ({SB}, {NB}, {OVS})")
    helper = idlutils.create_schema_helper(schema_json)
    registered: dict[str, list[str]] = {}
    for table, cols in wanted.items():
        if table not in schema.tables:
            continue  # an older schema (e.g. no Logical_DP_Group before OVN 20.12)
        names = [c for c in schema.tables[table] if cols is None or c in cols]
        helper.register_columns(table, names)
        registered[table] = names
    idl = connection.OvsdbIdl(remote, helper, leader_only=False)
    try:
        idlutils.wait_for_change(idl, timeout=timeout)
    except Exception as e:
        idl.close()
        raise SourceError(f"{remote}: no {db} data within {timeout:g} s: {e}") from e
    tables: Tables = {}
    try:
        with gc_paused():
            for table, names in registered.items():
                convs = [(c, converter(schema.tables[table][c])) for c in names]
                rows = {}
                for uuid, row in idl.tables[table].rows.items():
                    data = row._data
                    plain: dict[str, Any] = {}
                    for c, conv in convs:
                        v = data[c].to_json()
                        plain[c] = v if conv is None else conv(v)
                    rows[str(uuid)] = plain
                tables[table] = rows
    finally:
        idl.close()
    return schema, tables


def load_remote(
    remote: str, db: str = SB, node: str | None = None, timeout: float = 30.0, private_key: str | None = None,
    certificate: str | None = None, ca_cert: str | None = None, client: str | None = None,
    lflow_datapath_keys: set[int] | None = None, lflow_cookies: set[str] | None = None,
) -> ClusterContext:
    """A live database as a :class:`ClusterContext` (``db``: ``OVN_Southbound``, ``OVN_Northbound`` or, for
    a node's ovsdb-server, ``Open_vSwitch``).

    ``client``: ``"select"`` (default: one read-only transact, see :mod:`ovntrace.sources.rpc`) or
    ``"ovsdbapp"`` (the IDL; ``$OVNTRACE_OVSDB_CLIENT`` sets the default). Both give the same context.
    """
    client = client or os.environ.get("OVNTRACE_OVSDB_CLIENT") or "select"
    if client == "select":
        from ovntrace.sources import rpc

        schema, tables = rpc.fetch_tables(remote, db, timeout, private_key, certificate, ca_cert,
                                          lflow_datapath_keys=lflow_datapath_keys, lflow_cookies=lflow_cookies)
    elif client == "ovsdbapp":
        schema, tables = fetch_tables(remote, db, timeout, private_key, certificate, ca_cert)
    else:
        raise SourceError(f"unknown OVSDB client {client!r} (select or ovsdbapp)")
    version = f" {schema.version}" if schema.version else ""
    return context_of(db, tables, f"{db}{version} live from {remote}", node)
