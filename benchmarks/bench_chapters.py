"""The course's cost as a reader meets it: every chapter top to bottom in a fresh kernel, on both paths.

Each ``chapters/*.ipynb`` (in name order) is executed as :mod:`bench_course` executes it (an
in-memory copy, nbclient, a fresh ``python3`` kernel in ``chapters/``, kernel start-up included),
twice:

- **default**: as a reader's JupyterLab runs it, ``backend="auto"`` everywhere (the compiled loop
  where it applies);
- **NumPy path**: the compiled loop disabled before the first cell (``lintheory.dynamics.compiled.worth_it``
  replaced by ``False``, as ``tests/test_notebooks_roundoff.py`` does), so that every run takes the
  NumPy reference loop: what the browser (Pyodide, no numba) runs.

Before the first chapter, one tiny compiled run in this process brings numba's on-disk cache of the
loop up to date (it is keyed to ``compiled.py``'s source: after an edit, the first process to use the
loop compiles it, for several seconds): the default path is timed as a reader meets it after the loop's
one-time compilation, and only loads it (``bench_gd``'s "first call" column measures that load).

Per chapter and path: the wall time, the three slowest cells (their index in the notebook and
seconds) and the 1-minute load average of the machine before and after (``os.getloadavg``): on a
shared machine other processes inflate every time, and the load says by how much to distrust it.
The chapters run one at a time; a cell that raises stops the script. Goals (issue 34): every chapter
at most 30 s on the default path and 60 s on the NumPy path, on 2 cores.

``benchmarks/run.py --quick`` (CI's smoke test) skips it: it takes minutes, and ``bench_course`` already
executes one chapter there.
"""

from __future__ import annotations

import os
from pathlib import Path

from _common import sig
from bench_course import CHAPTERS, execute

NUMPY_ONLY = "import lintheory.dynamics.compiled as _c\n_c.worth_it = lambda *args, **kwargs: False\n"
PATHS = {"default": "", "NumPy path": NUMPY_ONLY}
GOALS = {"default": 30.0, "NumPy path": 60.0}


def measure(path: Path, prelude: str) -> dict:
    """One chapter on one path: seconds, the slowest cells, the load average around the run."""
    load0 = os.getloadavg()[0]
    cells: list[tuple[int, float]] = []
    seconds, _ = execute(path, prelude, cells)
    slowest = sorted(cells, key=lambda c: -c[1])[:3]
    return {"seconds": seconds, "slowest": "; ".join(f"cell {i}: {sig(t, 2)} s" for i, t in slowest),
            "load": f"{load0:.1f} / {os.getloadavg()[0]:.1f}"}


def warm_cache() -> None:
    """Compile the loop (or load it) in this process, so that numba's on-disk cache is current and the
    chapters' kernels load it instead of compiling it."""
    import numpy as np

    import lintheory as lt

    net = lt.Diagonal(2, 2)
    lt.gradient_descent(net, lt.SquaredLoss(np.eye(2), np.ones(2)), net.init(0.5, seed=0), 0.1, 2,
                        backend="compiled")


def chapter_row(path: Path, modes: dict[str, str]) -> dict:
    """The table row of one chapter: each path's seconds, slowest cells and load average."""
    row: dict = {"chapter": path.stem}
    for mode, prelude in modes.items():
        m = measure(path, prelude)
        row |= {f"{mode} s": sig(m["seconds"]), f"{mode}: slowest cells": m["slowest"],
                f"{mode}: load before / after": m["load"]}
    return row


def run(quick: bool = False) -> list[dict]:
    """One row per chapter, then the totals (no rows if ``quick``)."""
    if quick:
        return []
    warm_cache()
    rows = [chapter_row(path, PATHS) for path in sorted(CHAPTERS.glob("*.ipynb"))]
    total = {"chapter": "all chapters"}
    for mode in PATHS:
        total |= {f"{mode} s": sig(sum(row[f"{mode} s"] for row in rows)), f"{mode}: slowest cells": "",
                  f"{mode}: load before / after": ""}
    return rows + [total]


if __name__ == "__main__":
    for r in run():
        print(r)
