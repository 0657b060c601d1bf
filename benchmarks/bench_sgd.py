"""Batched minibatch SGD: lintheory against PyTorch (eager), in one process.

Setting: the sparse-regression problem of the SGD section of chapter 2 (``chapters/02c_sgd``) —
n = 14 Gaussian samples in dimension d = 40, a 3-sparse truth, a depth-2 diagonal network
``theta = u * v`` from ``u = 0.2``, ``v = 0``, the course's loss ``||X theta - y||^2 / (2n)``, minibatches
of b = 2 samples drawn without replacement, step 0.1, 2000 steps, float64, R independent repetitions
(independent minibatch streams) run as one batched computation.

Contenders, from the same arrays and the **same minibatches**:

- **lintheory**: ``lt.stochastic_gradient_descent`` over a leading batch axis (only the final state
  recorded), with its default ``backend="auto"``, which runs the compiled (numba) loop of
  ``lintheory._compiled`` here, *including* the drawing of the minibatches (by NumPy, the same streams
  as the NumPy loop). "First call" includes loading the compiled kernel from numba's on-disk cache
  (the kernel is dropped before it; numba's once-per-process start-up is paid in the warm-up);
  "steady" is the best of three later calls; "of which sampling" is the best of three drawings of
  all the run's minibatches alone;
- **NumPy path**: the same call with ``backend="numpy"``, the reference loop (one timed call);
- **PyTorch**: eager mode on one thread, per step a gather of the R minibatches, the minibatch loss
  summed over the repetitions, ``backward()`` and an in-place update. It is handed lintheory's
  minibatch indices (drawn before its clock starts, so its time excludes the sampling), which makes
  the two runs comparable number by number.

Before any time counts, PyTorch's final parameters must agree with lintheory's to 1e-10 (maximum
absolute difference relative to the largest parameter); the script stops otherwise.
"""

from __future__ import annotations

import numpy as np

import lintheory as lt
from lintheory import _compiled
from lintheory.dynamics.minibatch import _SGD_CHUNK, _member_generators, _minibatch_blocks, _minibatch_indices
from _common import best_time, discrepancy, first_time, sig

N, D, ALPHA, B, LR, STEPS, SEED = 14, 40, 0.2, 2, 0.1, 2000, 0
AGREEMENT = 1e-10


def problem(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D))
    theta = np.zeros(D)
    theta[:3] = [1.0, -1.0, 0.8]
    return X, X @ theta


def init(R: int) -> list[np.ndarray]:
    return [np.full((R, D), ALPHA), np.zeros((R, D))]


def run_lintheory(X: np.ndarray, y: np.ndarray, R: int, steps: int, backend: str = "auto") -> list[np.ndarray]:
    run = lt.stochastic_gradient_descent(lt.Diagonal(D, 2), lt.SquaredLoss(X, y), init(R), LR, steps,
                                         batch_size=B, seed=SEED, record_every=steps, keep_params=False,
                                         backend=backend)
    if np.any(run.diverged):
        raise RuntimeError("the benchmark run diverged; choose a smaller step")
    return run.final_params


def draw_all(R: int, steps: int) -> None:
    """Draw every minibatch of the run, chunk by chunk, as both loops of lintheory do."""
    block = _minibatch_blocks(_member_generators(SEED, R), (R,), N, B, False, steps)
    for start in range(0, steps, _SGD_CHUNK):
        block(start)


def minibatches(R: int, steps: int) -> np.ndarray:
    """lintheory's minibatch indices for this seed, shape (steps, R, B)."""
    draw = _minibatch_indices(_member_generators(SEED, R), (R,), N, B, False, steps)
    return np.stack([draw(k) for k in range(steps)])


def run_torch(X: np.ndarray, y: np.ndarray, R: int, idx: np.ndarray) -> list[np.ndarray]:
    import torch

    u, v = (torch.tensor(p, requires_grad=True) for p in init(R))
    Xt, yt, It = torch.tensor(X), torch.tensor(y), torch.tensor(idx)
    for k in range(idx.shape[0]):
        Xb, yb = Xt[It[k]], yt[It[k]]                            # (R, B, D), (R, B)
        r = torch.einsum("rbd,rd->rb", Xb, u * v) - yb
        loss = (0.5 * torch.mean(r * r, dim=-1)).sum()           # the sum gives each member its gradient
        loss.backward()
        with torch.no_grad():
            u -= LR * u.grad
            v -= LR * v.grad
            u.grad = None
            v.grad = None
    return [u.detach().numpy(), v.detach().numpy()]


def run(quick: bool = False) -> list[dict]:
    import torch

    torch.set_num_threads(1)
    X, y = problem()
    run_lintheory(X, y, 1, 1, backend="compiled")               # warm-up: imports, numba's start-up
    rows = []
    for R in ((1, 20) if quick else (1, 20, 200)):
        _compiled._KERNEL = None                 # the first call loads the kernel from the disk cache
        lt_first, reference = first_time(lambda: run_lintheory(X, y, R, STEPS))
        lt_steady, _ = best_time(lambda: run_lintheory(X, y, R, STEPS))
        numpy_time, out = first_time(lambda: run_lintheory(X, y, R, STEPS, backend="numpy"))
        numpy_error = discrepancy(out, reference)
        sampling, _ = best_time(lambda: draw_all(R, STEPS))
        idx = minibatches(R, STEPS)
        torch_time, out = first_time(lambda: run_torch(X, y, R, idx))
        torch_error = discrepancy(out, reference)
        for name, error in (("the NumPy path", numpy_error), ("PyTorch", torch_error)):
            if error > AGREEMENT:
                raise RuntimeError(f"{name} disagrees with lintheory by {error:.2e} at R = {R}")
        rows.append({"R": R, "batch size": B, "steps": STEPS, "lintheory first s": sig(lt_first),
                     "lintheory steady s": sig(lt_steady), "of which sampling s": sig(sampling),
                     "NumPy path s": sig(numpy_time),
                     "PyTorch s": sig(torch_time), "NumPy path ratio": sig(numpy_time / lt_steady),
                     "PyTorch ratio": sig(torch_time / lt_steady),
                     "deviation": float(f"{max(numpy_error, torch_error):.1e}")})
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
