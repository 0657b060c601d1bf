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


def is_glue(stmt: ast.stmt) -> bool:
    """A top-level ``glue(...)``, ``lt.glue(...)`` or ``lt.display.glue(...)`` call statement."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return False
    f = stmt.value.func
    return (isinstance(f, ast.Name) and f.id == "glue") or (isinstance(f, ast.Attribute) and f.attr == "glue")


def shows_value(stmt: ast.stmt) -> bool:
    """Whether a glue call also displays its value (``display`` not given as False)."""
    for kw in stmt.value.keywords:
        if kw.arg == "display":
            return not (isinstance(kw.value, ast.Constant) and kw.value.value is False)
    return len(stmt.value.args) < 3 or not (isinstance(stmt.value.args[2], ast.Constant)
                                             and stmt.value.args[2].value is False)


def _names(nodes, ctx) -> set[str]:
    return {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)}


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
    """The shown code cells of a notebook that still call glue at top level (what the test checks)."""
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
        found += [f"{path.name} cell {i} line {s.lineno}" for s in body if is_glue(s)]
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
