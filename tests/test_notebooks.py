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


def _tools():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "notebook_macros", Path(__file__).resolve().parent.parent / "tools" / "notebook_macros.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def macro_problems(path: Path) -> list[str]:
    """The notebook must open with the macro cell generated from _config.yml, and every macro of the
    book that its markdown uses must be defined there (so it renders outside the book)."""
    import re
    tools = _tools()
    nb = json.loads(path.read_text())
    first = nb["cells"][0] if nb["cells"] else {}
    found = []
    source = "".join(first.get("source", ""))
    if first.get("id") != tools.CELL_ID or source != tools.macro_cell_source():
        found.append("the first cell is not the macro cell of _config.yml: run python tools/notebook_macros.py")
    defined = set(re.findall(r"\\newcommand\{\\(\w+)\}", source))
    book = set(tools.book_macros())
    for cell in nb["cells"][1:]:
        if cell["cell_type"] != "markdown":
            continue
        used = set(re.findall(r"\\([A-Za-z]+)", "".join(cell["source"])))
        for name in sorted((used & book) - defined):
            found.append(f"\\{name} is used but not defined in the notebook")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_defines_every_book_macro_it_uses(path):
    assert macro_problems(path) == []


def test_macro_checker_catches_a_missing_definition(tmp_path):
    tools = _tools()
    cell = {"cell_type": "markdown", "id": tools.CELL_ID, "metadata": {},
            "source": tools.macro_cell_source().replace("\\newcommand{\\lmax}{\\lambda_{\\max}}", "")}
    nb = {"cells": [cell, {"cell_type": "markdown", "metadata": {}, "source": "$\\lmax(H)$"}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "bad.ipynb"
    path.write_text(json.dumps(nb))
    found = macro_problems(path)
    assert any("not the macro cell" in f for f in found) and any("\\lmax is used" in f for f in found)


def test_display_math_is_never_inside_a_paragraph():
    """A $$ display touching a line of prose is not parsed as math by MyST (raw dollars in the book)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "fix_display_math", Path(__file__).resolve().parent.parent / "tools" / "fix_display_math.py")
    fixer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixer)
    assert fixer.embedded_displays("text\n$$\nx\n$$\nmore") == [2]        # the checker can fail
    root = Path(__file__).resolve().parent.parent
    found = [f"{p.name}: line {n}" for p in sorted(root.glob("*.md")) if p.name != "README.md"
             for n in fixer.embedded_displays(p.read_text())]
    for path in NOTEBOOKS:
        for i, cell in enumerate(json.loads(path.read_text())["cells"]):
            if cell["cell_type"] == "markdown":
                found += [f"{path.name} cell {i}: line {n}"
                          for n in fixer.embedded_displays("".join(cell["source"]))]
    assert found == [], "run python tools/fix_display_math.py"



def test_the_book_shows_code_without_its_glue_bookkeeping():
    """_ext/hide_glue.py shows each code cell through tools/hide_bookkeeping.strip_bookkeeping: every glue statement
    goes, at any depth, and what is left still parses (a block emptied of glue gets 'pass')."""
    import ast
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    from hide_bookkeeping import strip_bookkeeping
    src = ("from lintheory import glue\nx = 1\nglue('a', x, display=False)\nfor k in (1, 2):\n    y = k\n"
           "    glue(f'b{k}', y,\n         display=False)\nif x:\n    lt.glue('c', 2)\nprint(x)")
    assert strip_bookkeeping(src) == "x = 1\nfor k in (1, 2):\n    y = k\nif x:\n    pass\nprint(x)"
    assert strip_bookkeeping("%pip install x\nglue('a', 1)") == "%pip install x\nglue('a', 1)"  # magics: unchanged
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                shown = strip_bookkeeping("".join(cell["source"]))
                assert "glue(" not in shown, f"{path.name}: a glue call would be shown"
                if not shown.lstrip().startswith("%"):
                    ast.parse(shown)
