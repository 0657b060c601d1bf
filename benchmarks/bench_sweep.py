"""The full-scale flat-minima Fig. 1 sweep (Marion & Chizat 2024), through ``lt.sweep``.

Every learning rate, scale and repetition of the authors' ``run_experiment.py`` (papers.md §4.3):
n = 50, d = 5, depth 10, width 5, Gaussian initialisation at 10 scales in [0.25, 0.6], learning rates
0.005, 0.02, 0.07, 0.1, 0.2 with 40000, 10000, 4000, 4000, 2000 steps and 20, 20, 20, 20, 80
repetitions — 1.32 million repetition-steps per scale, 13.2 million in all. One sweep task is one
(learning rate, scale) pair: all its repetitions run as one batched ``gradient_descent`` call, then
one batched Lanczos call gives the final sharpness of the runs that did not diverge.

The sweep runs twice: on every core (``backend="loky"``) and in one process
(``backend="sequential"``), and the two must give identical results; their time ratio is the
parallel speed-up. The chapter on flat minima states the science; this section only measures cost,
but it also reports that every converged run satisfies the chapter's bound ``S >= S_min``.
"""

from __future__ import annotations

import numpy as np

import lintheory as lt
from _common import sig, transpose

LRS = (0.005, 0.02, 0.07, 0.1, 0.2)
STEPS = {0.005: 40000, 0.02: 10000, 0.07: 4000, 0.1: 4000, 0.2: 2000}
REPS = {0.005: 20, 0.02: 20, 0.07: 20, 0.1: 20, 0.2: 80}
SCALES = tuple(float(s) for s in np.linspace(0.25, 0.6, 10))
N, D, DEPTH = 50, 5, 10


def fig1_task(lr: float, scale: float, steps_factor: float = 1.0) -> dict:
    """One (learning rate, scale) cell of Fig. 1: every repetition, batched.

    Returns the final distances ``mean((theta - w*)**2)`` (NaN where diverged), the final
    sharpness of the runs that did not diverge, and the number of diverged runs.
    """
    X, y = lt.data.overdetermined_regression(N, D, noise=1.0, seed=0)
    loss = lt.SquaredLoss(X, y, normalization="mean")
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    net = lt.FullyConnected([D] * DEPTH + [1])
    seed = 1000 * LRS.index(lr) + SCALES.index(scale)
    params = net.init(scale, seed=seed, batch=REPS[lr])
    steps = max(1, int(STEPS[lr] * steps_factor))
    run = lt.gradient_descent(net, loss, params, lr, steps, record_every=steps, keep_params=False)
    ok = run.diverged_step < 0
    sharp = np.full(ok.shape, np.nan)
    if ok.any():
        sharp[ok] = lt.metrics.sharpness(net, loss, [b[ok] for b in run.final_params], tol=1e-6)
    return {"distance": np.mean((run.theta[-1] - w_star) ** 2, axis=-1), "sharpness": sharp,
            "diverged": int((~ok).sum())}


def _same(a: lt.SweepResult, b: lt.SweepResult) -> bool:
    return all(np.array_equal(x[k], y[k], equal_nan=True) for x, y in zip(a.results, b.results)
               for k in ("distance", "sharpness"))


def run(quick: bool = False) -> list[dict]:
    grid = {"lr": LRS, "scale": SCALES[::5] if quick else SCALES}
    if quick:
        grid["steps_factor"] = [0.01]
    parallel = lt.sweep(fig1_task, grid, backend="loky", desc="Fig. 1")
    serial = lt.sweep(fig1_task, grid, backend="sequential", desc="Fig. 1, one process")
    if not _same(parallel, serial):
        raise RuntimeError("the parallel and the sequential sweeps disagree")
    X, y = lt.data.overdetermined_regression(N, D, noise=1.0, seed=0)
    s_min = lt.theory.sharpness_lower_bound(X, y, DEPTH, normalization="mean")
    converged = [(r["distance"] < 1e-6) & np.isfinite(r["sharpness"]) for r in parallel.results]
    lowest = min((float(np.min(r["sharpness"][c])) for r, c in zip(parallel.results, converged) if c.any()),
                 default=float("nan"))
    runs = sum(r["distance"].size for r in parallel.results)
    import joblib
    return transpose([{
        "tasks": len(parallel),
        "runs": runs,
        "repetition-steps": sum(REPS[c["lr"]] * max(1, int(STEPS[c["lr"]] * c.get("steps_factor", 1)))
                                for c in parallel.configs),
        "workers": joblib.cpu_count(),
        "sweep s (all cores)": sig(parallel.seconds),
        "sweep s (one process)": sig(serial.seconds),
        "speed-up": sig(serial.seconds / parallel.seconds),
        "diverged runs": sum(r["diverged"] for r in parallel.results),
        "converged runs": int(sum(c.sum() for c in converged)),
        "lowest S / S_min": sig(lowest / s_min, 4),
    }])


if __name__ == "__main__":
    for row in run():
        print(row)
