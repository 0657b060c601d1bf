"""The course's classification runs on both loops: what the compiled logistic and exponential losses save.

The gradient-descent calls of chapters 2 and 3 on margin losses, as the chapters make them: chapter 2's
max-margin runs behind the rho(t) figure (logistic loss, step n / sigma_max^2, a linear predictor for
600000 steps and a width-8 two-layer network for 60000), its exercise on loss-normalised steps
(exponential loss, steps 0.01 and 0.1, 60000 steps each) and chapter 3's gradient-normalised runs
(exponential loss, step 1e-2, 6000 steps, on the three networks the compiled loop takes: diagonal of
depths 2 and 3, fully-connected of depth 2). Each call is timed once on each path, ``backend="numpy"``
then ``backend="compiled"`` (after one short compiled call pays numba's start-up); "ratio" is NumPy
time over compiled time, and "max deviation" the largest difference between the two paths' recorded
losses, relative to each loss. ``quick`` runs 1000 steps per call.
"""

from __future__ import annotations

import numpy as np

import lintheory as lt
from _common import first_time, sig


def calls(quick: bool) -> dict:
    """Name -> (steps, function of the backend returning the list of trajectories)."""
    Xc, yc = lt.data.separable_classification(n=20, d=5, margin=0.1, seed=1)
    logistic, exponential = lt.LogisticLoss(Xc, yc), lt.ExponentialLoss(Xc, yc)
    eta_c = float(len(yc) / np.linalg.norm(Xc, 2) ** 2)
    lin, fc2 = lt.FullyConnected([5, 1]), lt.FullyConnected([5, 8, 1])
    X3, y3 = lt.data.separable_classification(6, 4, margin=0.3, seed=42)
    exp3 = lt.ExponentialLoss(X3, y3)
    nets3 = (lt.Diagonal(4, 2), lt.Diagonal(4, 3), lt.FullyConnected([4, 4, 1]))
    init3 = [[np.full(4, 0.1)] * (net.depth - 1) + [np.zeros(4)] if isinstance(net, lt.Diagonal)
             else net.init(0.1, seed=0) for net in nets3]
    n = (lambda k: 1000) if quick else (lambda k: k)
    kw = dict(keep_params=False)
    return {
        "ch. 2 rho(t): linear, logistic": (n(600000), lambda b: [lt.gradient_descent(
            lin, logistic, lin.init(0.1, seed=0), eta_c, n(600000), record_every=600, backend=b, **kw)]),
        "ch. 2 rho(t): width 8, logistic": (n(60000), lambda b: [lt.gradient_descent(
            fc2, logistic, fc2.init(0.1, seed=0), eta_c, n(60000), record_every=60, backend=b, **kw)]),
        "ch. 2 exercise: linear, exponential, loss-normalized (2 runs)": (2 * n(60000), lambda b: [
            lt.gradient_descent(lin, exponential, lin.init(0.1, seed=0), eta, n(60000), record_every=500,
                                normalize="loss", backend=b, **kw) for eta in (0.01, 0.1)]),
        "ch. 3: diagonal L = 2, 3, FC L = 2, exponential, gradient-normalized (3 runs)": (3 * n(6000), lambda b: [
            lt.gradient_descent(net, exp3, p, 1e-2, n(6000), record_every=50, normalize="gradient",
                                backend=b, **kw) for net, p in zip(nets3, init3)]),
    }


def run(quick: bool = False) -> list[dict]:
    net = lt.Diagonal(2, 2)                     # numba's start-up and the loop's load, paid once here
    lt.gradient_descent(net, lt.SquaredLoss(np.eye(2), np.ones(2)), net.init(0.5, seed=0), 0.1, 2,
                        backend="compiled")
    rows = []
    for name, (steps, call) in calls(quick).items():
        numpy, ref = first_time(lambda: call("numpy"))
        compiled, fast = first_time(lambda: call("compiled"))
        dev = max(float(np.max(np.abs(f.loss - r.loss) / np.maximum(np.abs(r.loss), 1e-300)))
                  for f, r in zip(fast, ref))
        rows.append({"run": name, "steps": steps, "NumPy s": sig(numpy), "compiled s": sig(compiled),
                     "ratio": sig(numpy / compiled), "max deviation": sig(dev, 2)})
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
