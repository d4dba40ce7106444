"""The import rules of docs/ARCHITECTURE.md, read off the code with `ast`.

* No import cycle between opskit's modules. Module-level and function-level imports both
  count (a function-level import is a cycle that merely waits for its call); imports under
  `if TYPE_CHECKING:` do not (they never run).
* Capabilities (backup, monitor, firmware, audit, notify, web, and any package added
  beside them) never import each other, at any level, `TYPE_CHECKING` included: what two
  share moves down a floor (platforms, transport, store, targets, runner).
* The floors point down: transport imports only errors, fileio and platforms; platforms
  only errors; the stored configs (`store`) only the base and the inventory; targets, runner
  and the inventory (with its import/export, `interop`) import no capability; a
  capability reaches the inventory through `opskit.inventory` itself.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

OPSKIT = Path(__file__).resolve().parents[1] / "opskit"

# Packages that are not capabilities; every other package under opskit/ is one.
FLOORS = {"platforms", "transport", "store", "inventory", "interop", "commands", "lab"}
BASE = {"opskit", "opskit.errors", "opskit.fileio", "opskit.output"}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    typing_only: bool  # under `if TYPE_CHECKING:`


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(OPSKIT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(OPSKIT.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _edges(name: str, path: Path, modules: dict[str, Path]) -> list[Edge]:
    edges: list[Edge] = []
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def add(target: str, node: ast.stmt, typing_only: bool) -> None:
        if target.startswith("opskit") and target in modules and target != name:
            edges.append(Edge(name, target, node.lineno, typing_only))

    def visit(node: ast.AST, typing_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    visit_stmt(stmt, True)
                for stmt in child.orelse:
                    visit_stmt(stmt, typing_only)
                continue
            visit_stmt(child, typing_only)

    def visit_stmt(node: ast.AST, typing_only: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node, typing_only)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")
                parent = parent[: len(parent) - (node.level - 1)]
                base = ".".join([*parent, *([base] if base else [])])
            for alias in node.names:
                # `from pkg import submodule` imports the submodule; else the module itself
                sub = f"{base}.{alias.name}"
                add(sub if sub in modules else base, node, typing_only)
        else:
            visit(node, typing_only)

    visit(ast.parse(path.read_text()), False)
    return edges


def _all_edges() -> list[Edge]:
    modules = _modules()
    return [e for name, path in modules.items() for e in _edges(name, path, modules)]


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _capabilities() -> set[str]:
    # a directory of modules is a package, with or without an __init__.py
    return {
        p.name
        for p in OPSKIT.iterdir()
        if p.is_dir() and any(p.glob("*.py")) and p.name not in FLOORS
    }


def _where(edge: Edge) -> str:
    path = _modules()[edge.source].relative_to(OPSKIT.parent)
    return f"{path}:{edge.line}: {edge.source} imports {edge.target}"


def test_the_walk_sees_the_code() -> None:
    """The rules below mean something only if the walk finds the imports."""
    caps = _capabilities()
    assert {"backup", "monitor", "firmware", "audit", "notify", "web"} <= caps
    targets = {e.target for e in _all_edges() if e.source == "opskit.backup.service"}
    assert {"opskit.runner", "opskit.targets", "opskit.inventory"} <= targets


def test_no_import_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for e in _all_edges():
        if not e.typing_only:
            graph.setdefault(e.source, set()).add(e.target)
    # Tarjan's strongly connected components, iteratively.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    assert cycles == []


def test_capabilities_do_not_import_each_other() -> None:
    caps = _capabilities()
    bad = [
        _where(e)
        for e in _all_edges()
        if _package(e.source) in caps
        and _package(e.target) in caps
        and _package(e.source) != _package(e.target)
    ]
    assert bad == []


# floor -> the opskit modules it may import besides its own (a name covers its package)
ALLOWED = {
    "platforms": ("opskit.errors",),
    # fileio (stdlib only): the known-hosts file is written atomically, like every file
    "transport": ("opskit.errors", "opskit.fileio", "opskit.platforms"),
    "inventory": (*sorted(BASE), "opskit.platforms"),
    "interop": (*sorted(BASE), "opskit.platforms", "opskit.inventory"),
    "store": (*sorted(BASE), "opskit.inventory"),
}


# modules under the capabilities: they import none (the worker's jobs come from the CLI)
FLOOR_MODULES = ("opskit.targets", "opskit.runner", "opskit.coordinator", "opskit.scheduler")


def _covered(target: str, names: tuple[str, ...]) -> bool:
    return any(target == n or (n != "opskit" and target.startswith(n + ".")) for n in names)


def test_the_floors_point_down() -> None:
    caps = _capabilities()
    bad = []
    for e in _all_edges():
        src, dst = _package(e.source), _package(e.target)
        if src in ALLOWED and dst != src and not _covered(e.target, ALLOWED[src]):
            bad.append(_where(e))
        if e.source in FLOOR_MODULES and dst in caps:
            bad.append(_where(e))
        if src in caps and e.target.startswith("opskit.inventory.") and not e.typing_only:
            # a capability reaches the inventory through its front door
            bad.append(_where(e))
    assert bad == []
