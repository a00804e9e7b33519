"""The Northbound columns correlation declares (ovntrace/correlate/columns.py) are every column it reads.

Sources load only the declared columns (a live server is asked for them alone), so a column correlation
reads without declaring it would be missing from every source. Three checks:

* correlate's source, parsed: every read of a row's ``columns`` (``.get("x")``, ``["x"]``, ``"x" in``, through
  a local name bound to ``row.columns``, with a key that is a literal or a loop over literals) names a declared
  column; a use of ``columns`` this reader cannot resolve fails too (declare it, then teach the reader);
* a loaded row raises on any other column (it never reads as ``None``);
* explain on every fixture directory's traces is the same JSON with the NB rows as loaded and with every
  column of every row (plain dicts, nothing trimmed): what is not loaded is not read.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

import ovntrace.correlate
from ovntrace.correlate.columns import nb_columns
from ovntrace.model.cluster import ClusterContext, ColumnNotLoaded, LoadedColumns, NbRow
from ovntrace.sources import ovsdb
from ovntrace.sources.tables import NB, NB_READ, NB_TABLES, WANTED
from tests.conftest import FIX, explain_with_db_files

CORRELATE = Path(ovntrace.correlate.__file__).parent
DECLARED = frozenset().union(*(nb_columns(t) for t in NB_TABLES))


def column_reads(source: str, where: str = "<source>") -> tuple[set[str], list[str]]:
    """(the column names ``source`` reads from a row's ``columns``, the uses it could not resolve)."""
    tree = ast.parse(source)
    parent: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parent[child] = node
    reads: set[str] = set()
    unresolved: list[str] = []
    scopes = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))]
    for scope in [tree, *scopes]:
        body = [n for n in ast.walk(scope) if _scope_of(n, parent, tree) is scope]
        aliases = {t.id for n in body if isinstance(n, ast.Assign) and _is_columns(n.value, set())
                   for t in n.targets if isinstance(t, ast.Name)}
        loops: dict[str, set[str]] = {}
        for n in body:
            if isinstance(n, (ast.For, ast.comprehension)) and isinstance(n.target, ast.Name):
                lits = _literals(n.iter)
                if lits is not None:
                    loops.setdefault(n.target.id, set()).update(lits)
        for n in body:
            if not _is_columns(n, aliases):
                continue
            p = parent.get(n)
            if isinstance(p, ast.Assign) and p.value is n:
                continue  # the alias itself: its uses are read below
            key: ast.AST | None = None
            if isinstance(p, ast.Attribute) and p.attr == "get":
                call = parent.get(p)
                if isinstance(call, ast.Call) and call.func is p and call.args:
                    key = call.args[0]
            elif isinstance(p, ast.Subscript) and p.value is n:
                key = p.slice
            elif isinstance(p, ast.Compare) and len(p.ops) == 1 and isinstance(p.ops[0], (ast.In, ast.NotIn)) \
                    and p.comparators[0] is n:
                key = p.left
            names = _key_names(key, loops) if key is not None else None
            if names is None:
                shown = parent.get(p, p) if isinstance(p, ast.Attribute) else p  # the call, not ``x.columns.get``
                text = ast.unparse(shown if shown is not None else n)[:80]
                unresolved.append(f"{where}:{getattr(n, 'lineno', 0)}: {text}")
            else:
                reads |= names
    return reads, unresolved


def _scope_of(node: ast.AST, parent: dict[ast.AST, ast.AST], tree: ast.AST) -> ast.AST:
    p = parent.get(node)
    while p is not None and not isinstance(p, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        p = parent.get(p)
    return p if p is not None else tree


def _is_columns(node: ast.AST, aliases: set[str]) -> bool:
    if isinstance(node, ast.Attribute) and node.attr == "columns":
        return True
    return isinstance(node, ast.Name) and node.id in aliases and isinstance(node.ctx, ast.Load)


def _literals(node: ast.AST) -> set[str] | None:
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
        return {str(e.value) for e in node.elts if isinstance(e, ast.Constant)}
    return None


def _key_names(key: ast.AST, loops: dict[str, set[str]]) -> set[str] | None:
    if isinstance(key, ast.Constant) and isinstance(key.value, str):
        return {key.value}
    if isinstance(key, ast.Name) and key.id in loops:
        return loops[key.id]
    return None


def test_the_reader_finds_reads_and_refuses_what_it_cannot_resolve() -> None:
    reads, bad = column_reads(
        "def f(row, other):\n"
        "    c = row.columns\n"
        "    for k in ('a', 'b'):\n"
        "        if k in c and c[k]:\n"
        "            pass\n"
        "    return row.columns.get('up'), other.columns['x'], 'y' in other.columns\n")
    assert reads == {"a", "b", "up", "x", "y"} and not bad
    _, bad = column_reads("def f(row, name):\n    return row.columns.get(name)\n")
    assert len(bad) == 1 and "row.columns.get(name)" in bad[0]
    _, bad = column_reads("def f(row):\n    return dict(row.columns.items())\n")
    assert len(bad) == 1


def test_correlate_reads_only_declared_columns() -> None:
    reads: set[str] = set()
    unresolved: list[str] = []
    for f in sorted(CORRELATE.glob("*.py")):
        if f.name == "columns.py":
            continue
        got, bad = column_reads(f.read_text(), f.name)
        reads |= got
        unresolved += bad
    assert not unresolved, "columns read in a way this test cannot check: " + "; ".join(unresolved)
    assert reads, "no column read found: the reader no longer sees correlate's reads"
    assert reads <= DECLARED, f"read but not declared in ovntrace/correlate/columns.py: {sorted(reads - DECLARED)}"
    assert all("name" in nb_columns(t) for t in NB_TABLES)  # NbRow.name


def test_sources_load_every_declared_column() -> None:
    for t in NB_TABLES:
        assert nb_columns(t) <= (NB_READ[t] or frozenset()), t


def test_a_column_not_loaded_is_an_error_not_none() -> None:
    cols = LoadedColumns.of(frozenset({"name", "tier"}))({"name": "ls1"})
    assert cols.get("name") == "ls1" and cols["name"] == "ls1" and "name" in cols
    assert cols.get("tier") is None and "tier" not in cols  # loaded, but not in this database's schema
    for read in (lambda: cols.get("ports"), lambda: cols["ports"], lambda: "ports" in cols):
        with pytest.raises(ColumnNotLoaded, match="'ports'"):
            read()


DB_DIRS = sorted({p.parent for p in FIX.rglob("ovnnb_db.db") if (p.parent / "ovnsb_db.db").exists()})


def _whole_nb(src: str) -> ClusterContext:
    """The NB file with every column of every row, in plain dicts (nothing trimmed, nothing guarded)."""
    from ovntrace.sources.load import load_context

    db = ovsdb.read_database(Path(src).read_bytes(), WANTED[NB])
    rows = tuple(NbRow(u, t, dict(r)) for t in sorted(NB_TABLES) for u, r in sorted((db.tables.get(t) or {}).items()))
    return dataclasses.replace(load_context(src, NB), nb_rows=rows)


@pytest.mark.parametrize("d", DB_DIRS, ids=lambda p: str(p.relative_to(FIX)))
def test_explain_is_the_same_with_every_nb_column(d: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ovntrace.sources import load

    traces = sorted(d.glob("*.txt"))[:10]
    assert traces
    real = load.load_nb

    def explain(trace: Path, whole: bool) -> str:
        monkeypatch.setattr(load, "load_nb", _whole_nb if whole else real)
        return explain_with_db_files(trace, d)

    for t in traces:
        assert explain(t, False) == explain(t, True), t.name
