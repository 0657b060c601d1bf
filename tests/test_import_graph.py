"""The package's import graph has no cycle (issue 28): every import of lintheory points one way.

The graph is read statically (``ast``), so a late import inside a function counts as much as one at
the top of a module: both are a dependency, and a cycle of them is the circle issue 28 removed
(``dynamics`` and ``_compiled`` importing each other). An edge goes from a module to every lintheory
module it imports, and to that module's enclosing packages, except the importer's own (importing
``lintheory.dynamics.trajectory`` from ``lintheory.metrics`` runs ``lintheory/dynamics/__init__.py``
first; a module of ``lintheory.dynamics`` importing a sibling does not rerun its own package).
"""

from __future__ import annotations

import ast
from pathlib import Path

import lintheory


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Every module of the package under ``root`` (a directory named ``package``), by dotted name."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = (package,) + path.relative_to(root).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """``{module: modules it imports}`` over the package's own modules (third-party imports dropped)."""
    modules = module_names(root, package)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        own_package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        own_ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        targets = []
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = own_package.split(".")
                    base = base[:len(base) - (node.level - 1)]
                    base_name = ".".join(base + ([node.module] if node.module else []))
                else:
                    base_name = node.module or ""
                for alias in node.names:       # `from pkg import submodule` imports the submodule
                    sub = f"{base_name}.{alias.name}"
                    targets.append(sub if sub in modules else base_name)
        for target in targets:
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                ancestor = ".".join(parts[:i])
                if ancestor in modules and ancestor != name and (i == len(parts) or ancestor not in own_ancestors):
                    graph[name].add(ancestor)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph as a list of nodes (first repeated last), or None."""
    state: dict[str, int] = {}                  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_lintheory_import_graph_has_no_cycle():
    root = Path(lintheory.__file__).parent
    graph = import_graph(root, "lintheory")
    assert "lintheory.dynamics.compiled" in graph["lintheory.dynamics.descent"]      # the graph is read
    assert "lintheory.losses" in graph["lintheory.dynamics.compiled"]               # (late imports too)
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_simulators_are_layered():
    """The compiled backend and the layers below it never import the loops that call them."""
    graph = import_graph(Path(lintheory.__file__).parent, "lintheory")
    loops = {"lintheory.dynamics.descent", "lintheory.dynamics.sgd", "lintheory.dynamics"}
    for lower in ("compiled", "trajectory", "minibatch", "flow"):
        assert not graph[f"lintheory.dynamics.{lower}"] & loops, lower


def test_a_fabricated_cycle_is_found(tmp_path):
    """The check can fail: the circle issue 28 removed (a late import inside a function included)."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .dynamics import run\n")
    (pkg / "dynamics.py").write_text("def run():\n    from . import _compiled\n    return _compiled.go()\n")
    (pkg / "_compiled.py").write_text("from .dynamics import run as _run\n\ndef go():\n    return 1\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "leaf.py").write_text("import numpy\nfrom .. import dynamics\n")
    graph = import_graph(pkg, "pkg")
    assert graph["pkg.sub.leaf"] == {"pkg.dynamics"}        # numpy is not ours; pkg is leaf's own package
    assert find_cycle(graph) == ["pkg.dynamics", "pkg._compiled", "pkg.dynamics"]
    (pkg / "_compiled.py").write_text("def go():\n    return 1\n")       # the loop no longer imported back
    assert find_cycle(import_graph(pkg, "pkg")) is None
