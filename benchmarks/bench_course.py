"""The course's own costs: wall time to execute each chapter, and its slowest widget frame.

Every ``chapters/*.ipynb`` (in name order) is read into memory and executed with nbclient in a
fresh ``python3`` kernel whose working directory is ``chapters/``, as the book build does; the
committed notebooks are never written. "execution s" is the wall time from starting the kernel
to the end of the chapter's last cell (kernel start-up included, shut-down excluded); a cell
that raises stops the script.

Then one extra cell, appended to the in-memory copy and not timed, finds every
``lintheory.widgets.FigureExplorer`` alive in the kernel (``gc.get_objects()``) and prints, as JSON,
their total number of frames, the largest ``draw_seconds`` (the slowest frame's computation and
matplotlib calls: what a widget update computes) and the largest ``draw_seconds + render_seconds``
(the same with matplotlib's rendering to PNG: what the slowest update would cost if frames were made
on demand; in the book they are precomputed, so an update only swaps images).

Goals: every widget update computes in under 0.1 s; all chapters together under 5 minutes. The last
row gives the totals over the chapters run (frames summed, slowest frames the maxima).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from _common import sig

CHAPTERS = Path(__file__).resolve().parent.parent / "chapters"
QUICK_CHAPTER = "00_first_experiment.ipynb"
CELL_TIMEOUT_S = 1200

PROBE = """\
import gc as _gc, json as _json
from lintheory.widgets import FigureExplorer as _FigureExplorer
_explorers = [o for o in _gc.get_objects() if isinstance(o, _FigureExplorer)]
print(_json.dumps({"frames": sum(len(w.frames) for w in _explorers),
                   "draw": max((t for w in _explorers for t in w.draw_seconds.values()), default=None),
                   "frame": max((w.draw_seconds[k] + w.render_seconds[k] for w in _explorers for k in w.frames),
                                default=None)}))
"""


def execute(path: Path, prelude: str = "", cells: list | None = None) -> tuple[float, dict]:
    """Execute a copy of the notebook at ``path`` and probe its widgets.

    ``prelude``: code run first in the kernel, inside the timed span (``bench_chapters`` disables the
    compiled loop so: it imports lintheory, which the chapter's first cell then finds imported).
    ``cells``: if given, receives ``(index, seconds)`` for every code cell of the notebook, its own
    wall time.

    Returns
    -------
    seconds : float
        Wall time from kernel start to the end of the notebook's last cell.
    probe : dict
        ``{"frames": int, "draw": float or None, "frame": float or None}`` over the explorers alive
        in the kernel: the slowest ``draw``, and the slowest draw plus PNG rendering.
    """
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(CHAPTERS)}})
    start = time.perf_counter()
    with client.setup_kernel():
        if prelude:
            client.execute_cell(nbformat.v4.new_code_cell(prelude), 0)
        for index, cell in enumerate(nb.cells[:-1]):
            begin = time.perf_counter()
            client.execute_cell(cell, index)
            if cells is not None and cell.cell_type == "code":
                cells.append((index, time.perf_counter() - begin))
        seconds = time.perf_counter() - start
        probe = client.execute_cell(nb.cells[-1], len(nb.cells) - 1)
    stdout = "".join(out.get("text", "") for out in probe.outputs if out.get("name") == "stdout")
    return seconds, json.loads(stdout)


def _time(value: float | None) -> float | str:
    return "no widget" if value is None else sig(value)


def row(chapter: str, seconds: float, probe: dict) -> dict:
    """One table row; the frame columns say "no widget" when the chapter has none."""
    return {"chapter": chapter, "execution s": sig(seconds), "widget frames": probe["frames"],
            "slowest draw s": _time(probe["draw"]), "slowest draw + PNG s": _time(probe["frame"])}


def run(quick: bool = False) -> list[dict]:
    """One row per chapter (only the first chapter if ``quick``), then the totals."""
    paths = [CHAPTERS / QUICK_CHAPTER] if quick else sorted(CHAPTERS.glob("*.ipynb"))
    results = [(path.stem, *execute(path)) for path in paths]
    total = {"frames": sum(probe["frames"] for _, _, probe in results)}
    for key in ("draw", "frame"):
        total[key] = max((probe[key] for _, _, probe in results if probe[key] is not None), default=None)
    return ([row(name, seconds, probe) for name, seconds, probe in results]
            + [row("all chapters", sum(seconds for _, seconds, _ in results), total)])


if __name__ == "__main__":
    for r in run():
        print(r)
