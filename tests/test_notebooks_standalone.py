"""Every chapter runs outside the book's toolchain: in a kernel where neither ``myst_nb`` nor ``sphinx``
can be imported (as in plain JupyterLab, JupyterLite or Colab), each notebook executes top to bottom
without an error. ``lintheory.glue`` then simply displays values instead of recording them for Sphinx."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow        # executes every chapter: CI runs it with nbval, after the fast tests

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "chapters").glob("*.ipynb"))
# A finder placed first on sys.meta_path refuses the book's toolchain, as if it were not installed.
# (Not sys.modules[name] = None: scipy's docstring tools test `"sphinx" in sys.modules` and would break.)
BLOCK = ("import sys\n"
         "class _NoBookToolchain:\n"
         "    def find_spec(self, name, path=None, target=None):\n"
         "        if name.split('.')[0] in ('myst_nb', 'sphinx', 'docutils'):\n"
         "            raise ModuleNotFoundError(f'No module named {name!r} (blocked)', name=name)\n"
         "        return None\n"
         "sys.meta_path.insert(0, _NoBookToolchain())\n")


def run_blocked(nb: nbformat.NotebookNode, cwd: Path) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    nb.cells.insert(0, nbformat.v4.new_code_cell(BLOCK + "try:\n    import myst_nb\n"
                                                 "    raise AssertionError('myst_nb is importable')\n"
                                                 "except ImportError:\n    pass\n"))
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_chapter_runs_without_the_book_toolchain(path):
    run_blocked(nbformat.read(path, as_version=4), path.parent)


def test_blocking_really_blocks(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("from myst_nb import glue")])
    with pytest.raises(Exception, match="ImportError|ModuleNotFoundError"):
        run_blocked(nb, tmp_path)
