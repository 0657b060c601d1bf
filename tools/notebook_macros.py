"""Give every chapter notebook the book's TeX macros, so its math renders outside the book too.

The one list of macros is ``_config.yml`` (``sphinx.config.mathjax3_config.tex.macros``), which the
built book hands to MathJax. JupyterLab, JupyterLite, Colab and GitHub do not read it, so each notebook
opens with a markdown cell that defines the same macros with ``\\newcommand``; the cell is tagged
``remove-cell`` so the book, which has the macros already, does not show it.

Run ``python tools/notebook_macros.py`` after changing the macros in ``_config.yml``;
``tests/test_notebooks.py`` fails while any notebook's cell differs from what this script writes.
"""

from __future__ import annotations

import pathlib

import nbformat
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
CELL_ID = "tex-macros"


def book_macros(config: pathlib.Path = ROOT / "_config.yml") -> dict[str, str | list]:
    """The macros of the book's MathJax configuration, name -> definition or [definition, n_args]."""
    cfg = yaml.safe_load(config.read_text())
    return cfg["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]


def macro_cell_source(macros: dict[str, str | list] | None = None) -> str:
    """The markdown of the macro cell: one inline-math span of ``\\newcommand`` definitions."""
    macros = book_macros() if macros is None else macros
    parts = []
    for name, body in macros.items():
        if isinstance(body, list):
            definition, n_args = body
            parts.append(f"\\newcommand{{\\{name}}}[{n_args}]{{{definition}}}")
        else:
            parts.append(f"\\newcommand{{\\{name}}}{{{body}}}")
    return ("<!-- The book's TeX macros, written by tools/notebook_macros.py from _config.yml "
            "(hidden in the book, which defines them itself). -->\n$" + "".join(parts) + "$")


def macro_cell() -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(macro_cell_source())
    cell["id"] = CELL_ID
    cell["metadata"] = {"tags": ["remove-cell"]}
    return cell


def main() -> None:
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cell = macro_cell()
        if nb.cells and nb.cells[0].get("id") == CELL_ID:
            if nb.cells[0] == cell:
                continue
            nb.cells[0] = cell
        else:
            nb.cells.insert(0, cell)
        nbformat.write(nb, path)
        print("wrote macros into", path.name)


if __name__ == "__main__":
    main()
