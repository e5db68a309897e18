"""No import cycles in ns_plugins: the static graph of every module's imports.

Every import of an ``ns_plugins`` module anywhere in a module (module and class bodies, ``try`` and
``if`` blocks, and function bodies too: an import moved into a function to dodge a cycle is still a
cycle between the two modules; only ``if TYPE_CHECKING:`` blocks are left out), each resolved to
the module it loads (``from pkg import name`` loads ``pkg/name.py`` when that is a module, else
``pkg``). Any cycle fails, with the modules it runs through. Static, so one test covers every
module in milliseconds, whichever module a user happens to import first.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Union

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "ns_plugins"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> Dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}


def import_nodes(body: List[ast.stmt]) -> Iterator[Union[ast.Import, ast.ImportFrom]]:
    """Import statements of a module, wherever they sit (except under ``if TYPE_CHECKING:``)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else ""
            if name != "TYPE_CHECKING":
                yield from import_nodes(node.body)
            yield from import_nodes(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *[h.body for h in node.handlers]):
                yield from import_nodes(block)
        elif isinstance(node, (ast.With, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.For, ast.While)):
            yield from import_nodes(node.body)


def resolve(name: str, modules: Dict[str, Path]) -> Optional[str]:
    """The ns_plugins module ``name`` loads (its longest prefix that is one), or None."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def imports_of(module: str, path: Path, modules: Dict[str, Path]) -> Set[str]:
    is_package = path.name == "__init__.py"
    targets: Set[str] = set()
    for node in import_nodes(ast.parse(path.read_text(), str(path)).body):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            # a submodule when ``base.name`` is one, else an attribute of ``base``'s module
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        for name in names:
            if name.split(".")[0] == PACKAGE:
                target = resolve(name, modules)
                if target and target != module:
                    targets.add(target)
    # parent packages (imported first) are left out: they are in sys.modules before their own bodies run,
    # so ``a/__init__`` importing ``a.b`` is no cycle; an explicit ``from a import name`` is an edge above
    return targets


def find_cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    components: List[List[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [cycle_through(graph, set(c)) for c in components]


def cycle_through(graph: Dict[str, Set[str]], component: Set[str]) -> List[str]:
    """A concrete cycle inside a strongly connected component: start -> ... -> start."""
    start = min(component)
    parents: Dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt_frontier = []
        for node in frontier:
            for nxt in sorted(graph[node] & component):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [start, *reversed(path[:-1]), start] if node != start else [start, start]
                if nxt not in parents:
                    parents[nxt] = node
                    nxt_frontier.append(nxt)
        frontier = nxt_frontier
    return sorted(component)


def import_graph() -> Dict[str, Set[str]]:
    modules = all_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_the_package() -> None:
    graph = import_graph()
    assert "ns_plugins.splat.model" in graph["ns_plugins.splat.config"]
    assert "ns_plugins.splat.compat" in graph["ns_plugins"]  # `from ns_plugins.splat.compat import ...`


@pytest.mark.parametrize("subpackage", sorted({name.split(".")[1] for name in all_modules() if name.count(".") >= 1}))
def test_no_import_cycles(subpackage: str) -> None:
    prefix = f"{PACKAGE}.{subpackage}"
    cycles = [c for c in find_cycles(import_graph()) if any(m == prefix or m.startswith(prefix + ".") for m in c)]
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)
