"""The architecture, one direction of dependency, checked on the source: every ``import`` of every module
(at the top or inside a function: a lazy import is still a dependency) parsed with :mod:`ast`.

model <- parser <- ovn <- correlate <- sources <- path (engine) <- render <- tui, cli, lab, doctor.
No module imports a layer above its own, and the packages of the top layer import each other without cycles.
"""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from pathlib import Path

import ovntrace

ROOT = Path(ovntrace.__file__).parent

# bottom first; a module's layer is that of its longest matching prefix
LAYERS: list[tuple[str, ...]] = [
    ("ovntrace",),  # the package itself: its version only
    ("ovntrace.model",),
    ("ovntrace.parser",),
    ("ovntrace.ovn",),
    ("ovntrace.correlate",),
    # the inventory (what a cluster is, the file format) is read by everything that reaches a cluster;
    # it lives in lab/ but imports only model/ and lab.errors
    ("ovntrace.sources", "ovntrace.lab.inventory", "ovntrace.lab.errors", "ovntrace.lab.selection"),
    ("ovntrace.path", "ovntrace.replay"),  # replay: the offline engine of issue 14, beside path
    ("ovntrace.render",),
    ("ovntrace.tui", "ovntrace.cli", "ovntrace.__main__", "ovntrace.pathcmd", "ovntrace.manpage", "ovntrace.lab",
     "ovntrace.doctor", "ovntrace.bundlecmd", "ovntrace.explaincmd"),
]
PREFIXES = sorted(((p, i) for i, ps in enumerate(LAYERS) for p in ps), key=lambda t: -len(t[0]))


def module_name(f: Path) -> str:
    parts = list(f.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(f: Path) -> set[str]:
    return imports_of(f, module_name(f))


def imports_of(f: Path, mod: str) -> set[str]:
    pkg = mod.split(".") if f.name == "__init__.py" else mod.split(".")[:-1]
    out: set[str] = set()
    for n in ast.walk(ast.parse(f.read_text(), str(f))):
        if isinstance(n, ast.Import):
            out |= {a.name for a in n.names}
        elif isinstance(n, ast.ImportFrom):
            base = ".".join(pkg[: len(pkg) - n.level + 1] if n.level else [])
            name = ".".join(p for p in (base, n.module or "") if p)
            subs = {f"{name}.{a.name}" for a in n.names if is_module(f"{name}.{a.name}")}
            out |= subs or {name}  # `from ovntrace.lab import inventory` imports the module inventory
    return {m for m in out if m == "ovntrace" or m.startswith("ovntrace.")}


def is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (ROOT.parent / rel).with_suffix(".py").is_file() or (ROOT.parent / rel / "__init__.py").is_file()


def layer(name: str) -> tuple[str, int]:
    for prefix, i in PREFIXES:
        if name == prefix or name.startswith(prefix + "."):
            return prefix, i
    raise AssertionError(f"{name}: in no layer of tests/test_layers.py")


def graph() -> dict[str, set[str]]:
    g: dict[str, set[str]] = {}
    for f in sorted(ROOT.rglob("*.py")):
        g[module_name(f)] = {m for m in imports(f) if is_module(m)}
    return g


def test_no_module_imports_a_layer_above_its_own() -> None:
    bad = []
    for mod, deps in graph().items():
        _, mine = layer(mod)
        for d in deps:
            prefix, theirs = layer(d)
            if theirs > mine:
                bad.append(f"{mod} (layer {mine}) imports {d} (layer {theirs}: {prefix})")
    assert not bad, "\n".join(sorted(bad))


def unit(name: str) -> str:
    """The package a module belongs to, for the cycle check (``ovntrace.tui.screens.explain`` -> ``ovntrace.tui``;
    the lab's inventory is a unit of its own)."""
    prefix, _ = layer(name)
    if prefix == "ovntrace":
        return "ovntrace" if name == "ovntrace" else ".".join(name.split(".")[:2])
    return prefix


def test_no_cycles_among_packages() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    why: dict[tuple[str, str], str] = {}
    for mod, deps in graph().items():
        for d in deps:
            a, b = unit(mod), unit(d)
            if a != b and (a.startswith(b + ".") is False) and b != "ovntrace":
                edges[a].add(b)
                why.setdefault((a, b), f"{mod} -> {d}")
    cycles: list[str] = []
    state: dict[str, int] = {}

    def visit(n: str, stack: list[str]) -> None:
        state[n] = 1
        for m in sorted(edges[n]):
            if state.get(m) == 1:
                loop = [*stack[stack.index(m):], m]
                cycles.append(" -> ".join(loop) + "  (" + "; ".join(why[(x, y)] for x, y in itertools.pairwise(loop))
                              + ")")
            elif m not in state:
                visit(m, [*stack, m])
        state[n] = 2

    for n in sorted(edges):
        if n not in state:
            visit(n, [n])
    assert not cycles, "\n".join(cycles)


def test_the_checker_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    """The check must not pass by not looking: an import inside a function counts."""
    deps = graph()["ovntrace.tui.live"]
    assert "ovntrace.path" in deps  # `from ovntrace.path import run_path` inside trace_path()
    (tmp_path / "m.py").write_text("def f():\n    from ovntrace.lab import lab\n")
    assert "ovntrace.lab.lab" in imports_of(tmp_path / "m.py", "ovntrace.path.m")
    assert layer("ovntrace.lab.inventory")[1] < layer("ovntrace.path")[1] < layer("ovntrace.lab.lab")[1]
