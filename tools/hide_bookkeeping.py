"""Move the book's bookkeeping out of the reader's view: every ``glue(...)`` call of a chapter's code cells goes into
a cell of its own, right after, tagged so that the book does not show it.

A number quoted in the prose is glued from the code that computed it (``glue("name", value, display=False)``), and
that bookkeeping is not what a reader came for. This script moves each top-level ``glue(...)`` statement of a code
cell to the end of the cell's code, into a new code cell tagged ``remove-cell`` (``remove-input`` when a glue shows
its value), which runs in the same place of the notebook, so nothing changes for the kernel, nbval or myst-nb's glue.

A glue statement is moved only if nothing after it in its cell rebinds a name it reads; otherwise it is left where it
is and reported. Run from the project root, then re-execute the notebooks it changed and check that every glued value
is the same: ``python tools/hide_bookkeeping.py [chapters/NAME.ipynb ...]``. ``tests/test_notebooks.py`` fails while
a shown code cell still calls ``glue``.
"""

from __future__ import annotations

import ast
import pathlib
import sys

import nbformat

ROOT = pathlib.Path(__file__).resolve().parents[1]
HIDDEN = ("remove-cell", "remove-input")


def _glue_call(node: ast.AST) -> bool:
    f = node.func if isinstance(node, ast.Call) else None
    return (isinstance(f, ast.Name) and f.id == "glue") or (isinstance(f, ast.Attribute) and f.attr == "glue")


def is_glue(stmt: ast.stmt) -> bool:
    """Bookkeeping: a ``glue(...)`` call statement (also ``lt.glue``, ``lt.display.glue``), the import of ``glue``,
    or a ``for`` loop whose body is nothing but such statements."""
    if isinstance(stmt, ast.Expr):
        return _glue_call(stmt.value)
    if isinstance(stmt, ast.ImportFrom):                 # from lintheory import glue
        return all(alias.name == "glue" for alias in stmt.names)
    if isinstance(stmt, ast.For) and not stmt.orelse:
        return all(is_glue(s) for s in stmt.body)
    return False


def shows_value(stmt: ast.stmt) -> bool:
    """Whether a glue call of the statement also displays its value (``display`` not given as False)."""
    for call in (n for n in ast.walk(stmt) if isinstance(n, ast.Call) and _glue_call(n)):
        given = [kw.value for kw in call.keywords if kw.arg == "display"] + call.args[2:3]
        if not (given and isinstance(given[0], ast.Constant) and given[0].value is False):
            return True
    return False


def _scoped(node: ast.AST) -> set[int]:
    """The ids of the Name nodes bound by the comprehensions inside ``node`` (local to them in Python 3)."""
    inner = set()
    for comp in (n for n in ast.walk(node) if isinstance(n, ast.comprehension)):
        inner |= {id(n) for n in ast.walk(comp.target) if isinstance(n, ast.Name)}
    return inner


def _names(nodes, ctx) -> set[str]:
    """Names read (ctx=ast.Load) or bound (ast.Store) by the statements, leaving out comprehension variables."""
    out = set()
    for node in nodes:
        local = _scoped(node)
        bound_here = {n.id for n in ast.walk(node) if id(n) in local}
        out |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)
                and id(n) not in local and not (ctx is ast.Load and n.id in bound_here)}
    return out


def split_cell(source: str) -> tuple[str, str, bool, list[int]] | None:
    """(code left in the cell, glue code to move, whether a moved glue shows its value, lines left in place), or None
    if the cell has no top-level glue call or cannot be parsed."""
    try:
        tree = ast.parse(source)
    except SyntaxError:       # IPython magics
        return None
    body = tree.body
    glues = [i for i, s in enumerate(body) if is_glue(s)]
    if not glues:
        return None
    lines = source.split("\n")
    moved, kept_glue = [], []
    for i in glues:
        later = [s for s in body[i + 1:] if not is_glue(s)]
        if _names([body[i]], ast.Load) & _names(later, ast.Store):
            kept_glue.append(body[i].lineno)
        else:
            moved.append(i)
    if not moved:
        return None
    taken = set()
    for i in moved:
        taken.update(range(body[i].lineno - 1, body[i].end_lineno))
    kept_lines = [line if k not in taken else None for k, line in enumerate(lines)]
    last = [s for i, s in enumerate(body) if i not in moved][-1:]
    if last and is_glue(body[-1]) and isinstance(last[0], ast.Expr):
        # the cell ended with a moved glue: an expression now last would show its value; a ';' keeps it quiet
        row = kept_lines[last[0].end_lineno - 1]
        kept_lines[last[0].end_lineno - 1] = row[:last[0].end_col_offset] + ";" + row[last[0].end_col_offset:]
    keep = "\n".join(line for line in kept_lines if line is not None).rstrip()
    glue = "\n".join(lines[k] for k in sorted(taken)).strip()
    return keep, glue, any(shows_value(body[i]) for i in moved), kept_glue


def strip_bookkeeping(source: str) -> str:
    """The code of a cell as the book shows it: every glue statement removed, at any depth (a ``glue(...)`` call
    statement, or a ``for`` loop of nothing but such calls), with its continuation lines; a block left with no
    statement gets ``pass``. Code that does not parse (IPython magics) is returned unchanged."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.split("\n")
    drop: set[int] = set()
    emptied: list[ast.stmt] = []

    def visit(body: list[ast.stmt]) -> None:
        for stmt in body:
            if is_glue(stmt):
                drop.update(range(stmt.lineno - 1, stmt.end_lineno))
                continue
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    visit(inner)
                    if all(is_glue(s) for s in inner):
                        emptied.append(inner[0])
            for handler in getattr(stmt, "handlers", []):
                visit(handler.body)

    visit(tree.body)
    if not drop:
        return source
    for first in emptied:                  # keep the block valid: 'pass' where its first statement was
        indent = lines[first.lineno - 1][:first.col_offset]
        lines[first.lineno - 1] = indent + "pass"
        drop.discard(first.lineno - 1)
    return "\n".join(line for k, line in enumerate(lines) if k not in drop).rstrip()


def hide(path: pathlib.Path) -> tuple[int, list[str]]:
    """Rewrite one notebook; return the number of cells split and the glue calls that had to stay in view."""
    nb = nbformat.read(path, as_version=4)
    cells, split, stayed = [], 0, []
    for cell in nb.cells:
        cells.append(cell)
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.cell_type != "code" or any(t in tags for t in HIDDEN):
            continue
        parts = split_cell(cell.source)
        if parts is None:
            continue
        keep, glue, shows, kept = parts
        stayed += [f"{path.name}: line {n} of the cell starting {cell.source[:40]!r}" for n in kept]
        new = nbformat.v4.new_code_cell(glue, metadata={"tags": ["remove-input" if shows else "remove-cell"]})
        if keep.strip():
            cell.source = keep
            cells.append(new)
        else:                 # the cell was bookkeeping only
            cell.source = glue
            cell.metadata.setdefault("tags", []).append("remove-input" if shows else "remove-cell")
        split += 1
    nb.cells = cells
    nbformat.write(nb, path)
    return split, stayed


def visible_glue(path: pathlib.Path) -> list[str]:
    """Every glue call left in a shown code cell of a notebook, at any depth (what the test checks)."""
    nb = nbformat.read(path, as_version=4)
    found = []
    for i, cell in enumerate(nb.cells):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.cell_type != "code" or any(t in tags for t in HIDDEN):
            continue
        try:
            body = ast.parse(cell.source).body
        except SyntaxError:
            continue
        found += [f"{path.name} cell {i} line {n.lineno}" for s in body for n in ast.walk(s)
                  if isinstance(n, ast.Call) and _glue_call(n)]
    return found


def main(argv: list[str]) -> None:
    paths = [pathlib.Path(a) for a in argv] or sorted((ROOT / "chapters").glob("*.ipynb"))
    for path in paths:
        split, stayed = hide(path)
        print(f"{path.name}: {split} cells split")
        for s in stayed:
            print("  left in view (a later line rebinds a name it reads):", s)


if __name__ == "__main__":
    main(sys.argv[1:])
