"""The stored outputs of every chapter survive a round-off-level change of every simulation.

A reader's machine computes the chapters with another BLAS, another CPU and perhaps without numba, so
its round-off differs from the machine that stored the outputs. Strict nbval compares outputs after
``tests/nbval_sanitize.cfg`` (which keeps six decimals of every float); a printed or glued number that
changes under round-off would fail there. This test makes such a change on purpose: it executes each
chapter with ``lintheory``'s compiled loop disabled (the NumPy reference loop everywhere; the two agree
to round-off, not bit for bit) and requires every text output to equal the stored one after the same
sanitizer. When it was first run, it caught two glued round-off distances of chapter 5 (1e-31 stored,
1e-30 with NumPy), since removed.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow        # executes every chapter: CI runs it with the other slow tests

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))
NUMPY_ONLY = "import lintheory._compiled as _c\n_c.worth_it = lambda *args, **kwargs: False\n"


def sanitizer() -> list[tuple[re.Pattern, str]]:
    """nbval's substitutions, read from the same file the strict nbval run uses."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "tests" / "nbval_sanitize.cfg")
    return [(re.compile(cfg[s]["regex"]), cfg[s]["replace"]) for s in cfg.sections()]


def text_outputs(cell: nbformat.NotebookNode, subs: list[tuple[re.Pattern, str]]) -> list[str]:
    """The cell's printed text and text/plain results (glue records included), sanitized; not images."""
    out = []
    for o in cell.get("outputs", []):
        texts = [o["text"]] if o.get("output_type") == "stream" else [
            v for k, v in o.get("data", {}).items() if k.endswith("text/plain") and "image/png" not in o["data"]]
        for t in texts:
            for pattern, replace in subs:
                t = pattern.sub(replace, t)
            out.append(t)
    return out


def differences(stored: nbformat.NotebookNode, rerun: nbformat.NotebookNode) -> list[str]:
    """Cells whose sanitized text outputs differ (cells tagged ``nbval-ignore-output`` are skipped)."""
    subs, out = sanitizer(), []
    for i, (a, b) in enumerate(zip(stored.cells, rerun.cells)):
        if a.cell_type != "code" or "nbval-ignore-output" in a.metadata.get("tags", []):
            continue
        if text_outputs(a, subs) != text_outputs(b, subs):
            out.append(f"cell {i}: stored {text_outputs(a, subs)} but {text_outputs(b, subs)}")
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_stored_outputs_survive_the_numpy_loop(path):
    stored = nbformat.read(path, as_version=4)
    rerun = nbformat.from_dict(stored)
    rerun.cells.insert(0, nbformat.v4.new_code_cell(NUMPY_ONLY))
    NotebookClient(rerun, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    rerun.cells.pop(0)
    diff = differences(stored, rerun)
    assert not diff, f"{path.name}: outputs that change with round-off:\n" + "\n".join(diff)


def test_the_comparison_sees_a_change_in_the_seventh_digit_and_not_in_the_eighth():
    def one(text: str) -> nbformat.NotebookNode:
        cell = nbformat.v4.new_code_cell("x")
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        return nbformat.v4.new_notebook(cells=[cell])

    assert differences(one("1.2345678e-31\n"), one("1.2345679e-31\n")) == []
    assert differences(one("1.2345678e-31\n"), one("1.2345688e-31\n")) != []
    assert differences(one("1e-31\n"), one("1e-30\n")) != []
