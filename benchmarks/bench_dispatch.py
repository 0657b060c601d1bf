"""Where the compiled loop pays: the break-even behind ``backend="auto"`` (``lintheory._compiled.worth_it``).

A grid of problems, each run on both loops of ``lt.gradient_descent`` and ``lt.stochastic_gradient_descent``
(minibatches of 2): depth-2 diagonal and fully-connected ``[d, 5, 5, m]`` networks, ``n`` in {14, 100},
``d`` in {5, 40, 200}, batches of 1, 20 and 200 repetitions, scalar outputs; and fully-connected
``[d, h, h, m]`` networks with vector outputs (``(d, h, m)`` in {(5, 5, 3), (10, 10, 4), (10, 32, 4),
(40, 10, 3)}, batches 1, 8, 20, 200); and the scalar grid again with the logistic loss (gradient descent
only: compiled SGD takes the squared loss only; the exponential loss costs the same, one ``exp`` per
sample where the logistic loss takes an ``exp`` and a ``log1p``). Each problem is 400 (scalar) or 300 (vector) steps from a 0.1-scale
initialization, timed as the best of two calls after a warm-up call; the ratio is NumPy time over compiled
time. ``work`` is ``lintheory._compiled.step_work``, the measure ``worth_it`` compares with its limits:
multiply-adds of one step over the batch, layers plus loss gradient.

The table summarises, per output kind, how ``worth_it``'s limit splits the problems: how many it sends to
the compiled loop and the lowest ratio among them (the goal: never much slower, >= 0.8), how many it
leaves to NumPy and the highest ratio among those (the speed it gives up).
"""

from __future__ import annotations

import numpy as np

import lintheory as lt
from lintheory import _compiled
from _common import best_time, sig

SCALAR = [(kind, d, n, B) for kind in ("diagonal", "fc") for d in (5, 40, 200) for n in (14, 100)
          for B in (1, 20, 200)]
VECTOR = [(d, h, m, n, B) for d, h, m in ((5, 5, 3), (10, 10, 4), (10, 32, 4), (40, 10, 3))
          for n in (14, 100) for B in (1, 8, 20, 200)]


def ratios(net: lt.Network, n: int, d: int, m: int, B: int, steps: int, rng: np.random.Generator,
           margin: bool = False) -> list[tuple]:
    X = rng.standard_normal((n, d))
    if margin:
        loss = lt.LogisticLoss(X, np.where(X[:, 0] >= 0, 1.0, -1.0))
    else:
        loss = lt.SquaredLoss(X, rng.standard_normal((n, m)) if m > 1 else X[:, 0])
    p = net.init(0.1, seed=0, batch=B)
    out = []
    for b in ((None,) if margin else (None, 2)):
        def call(backend: str):
            kw = dict(record_every=steps, keep_params=False, backend=backend)
            if b is None:
                return lt.gradient_descent(net, loss, p, 1e-3, steps, **kw)
            return lt.stochastic_gradient_descent(net, loss, p, 1e-3, steps, batch_size=b, seed=0, **kw)
        call("compiled")
        compiled, _ = best_time(lambda: call("compiled"), repeat=2)
        numpy, _ = best_time(lambda: call("numpy"), repeat=2)
        out.append((_compiled.step_work(net, loss, p, b), numpy / compiled))
    return out


def summary(kind: str, points: list[tuple], limit: int) -> dict:
    """How ``worth_it``'s limit splits the problems, and what each side costs: the slowest ratio among
    those it compiles (how much slower the compiled loop can be where it is chosen) and the fastest
    among those it leaves to NumPy (what is given up)."""
    compiled = [r for w, r in points if w <= limit]
    numpy = [r for w, r in points if w > limit]
    return {"outputs": kind, "problems": len(points), "worth_it limit": limit,
            "compiled by auto": len(compiled), "their lowest ratio": sig(min(compiled)) if compiled else "",
            "left to NumPy": len(numpy), "their highest ratio": sig(max(numpy)) if numpy else ""}


def run(quick: bool = False) -> list[dict]:
    rng = np.random.default_rng(0)
    scalar, vector, margin = [], [], []
    for kind, d, n, B in (SCALAR[:2] if quick else SCALAR):
        net = lt.Diagonal(d, 2) if kind == "diagonal" else lt.FullyConnected([d, 5, 5, 1])
        scalar += ratios(net, n, d, 1, B, 400, rng)
        margin += ratios(net, n, d, 1, B, 400, rng, margin=True)
    for d, h, m, n, B in (VECTOR[:2] if quick else VECTOR):
        vector += ratios(lt.FullyConnected([d, h, h, m]), n, d, m, B, 300, rng)
    return [summary("scalar", scalar, _compiled._AUTO_MAX_WORK_SCALAR),
            summary("vector", vector, _compiled._AUTO_MAX_WORK_VECTOR),
            summary("scalar, logistic loss", margin, _compiled._AUTO_MAX_WORK_SCALAR)]


if __name__ == "__main__":
    for row in run():
        print(row)
