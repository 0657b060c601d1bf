"""Every committed notebook was executed top to bottom in one kernel, holds no error, and saved the
state of every widget it shows (so the built book can render it)."""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "chapters").glob("*.ipynb"))


def problems(path: Path) -> list[str]:
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    found = []
    counts = [c.get("execution_count") for c in code]
    if counts != list(range(1, len(code) + 1)):
        found.append(f"execution counts {counts} are not 1..{len(code)}: re-run top to bottom")
    state = nb.get("metadata", {}).get("widgets", {}).get(
        "application/vnd.jupyter.widget-state+json", {}).get("state", {})
    for i, cell in enumerate(code, 1):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"code cell {i} stores an error ({out.get('ename')})")
            if out.get("name") == "stderr":
                found.append(f"code cell {i} writes to stderr: {''.join(out.get('text', ''))[:200]}")
            view = out.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            if view and view.get("model_id") not in state:
                found.append(f"code cell {i} shows a widget whose state was not saved")
    return found


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found in chapters/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_was_executed_cleanly(path):
    assert problems(path) == []


def test_checker_catches_bad_notebooks(tmp_path):
    nb = {"cells": [
        {"cell_type": "code", "source": ["1"], "execution_count": 2, "outputs": [], "metadata": {}},
        {"cell_type": "code", "source": ["x"], "execution_count": 3, "metadata": {},
         "outputs": [{"output_type": "error", "ename": "NameError", "evalue": "", "traceback": []},
                     {"output_type": "display_data", "metadata": {},
                      "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "abc"}}}]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "bad.ipynb"
    path.write_text(json.dumps(nb))
    found = problems(path)
    assert any("execution counts" in f for f in found)
    assert any("NameError" in f for f in found)
    assert any("not saved" in f for f in found)
