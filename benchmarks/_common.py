"""Shared helpers of the benchmark sections: timing and table rows.

Every section module exposes ``run(quick: bool = False) -> list[dict]``: the rows of its table
(column name -> number or string, in display order). ``quick`` shrinks the sizes so that the whole
script can be smoke-tested in seconds; published numbers come from a full run.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np


def best_time(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Best wall time over ``repeat`` calls of ``fn()`` (seconds) and the last call's result.

    The minimum is the standard estimate of a function's cost on a shared machine (other processes
    only ever add time; see the ``timeit`` documentation).
    """
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def first_time(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of one call (for costs paid once, such as a compilation)."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def sig(x: float, digits: int = 3) -> float | int:
    """Round to ``digits`` significant figures (for the committed tables); whole numbers of 100 or
    more become ints, so that a table shows 7430, not 7430.0."""
    rounded = float(f"{x:.{digits}g}")
    return int(rounded) if abs(rounded) >= 100 and rounded.is_integer() else rounded


def transpose(rows: list[dict], name: str | None = None) -> list[dict]:
    """A wide table turned on its side: one row per column of ``rows``.

    Each input row becomes a column, headed by its value under ``name`` (that entry is then not
    repeated as a row), or ``"value"`` for a single unnamed row. The first column is "quantity".
    """
    heads = [row[name] for row in rows] if name else ["value"] * len(rows)
    keys = [k for k in rows[0] if k != name]
    return [{"quantity": k, **{h: row[k] for h, row in zip(heads, rows)}} for k in keys]


def lookup(table: list[dict], quantity: str) -> dict:
    """The entries of a transposed table's row ``quantity``, keyed by column head."""
    for row in table:
        if row["quantity"] == quantity:
            return {k: v for k, v in row.items() if k != "quantity"}
    raise KeyError(f"no row {quantity!r} in the table")


def discrepancy(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """max |a - b| over all blocks, relative to the largest entry of ``b``: how far a contender's final
    parameters are from lintheory's."""
    scale = max(float(np.max(np.abs(q))) for q in b)
    return max(float(np.max(np.abs(p - q))) for p, q in zip(a, b)) / scale
