"""Batched gradient descent: lintheory against JAX (jit) and PyTorch (eager), in one process.

Setting: the flat-minima Fig. 1 experiment (Marion & Chizat 2024) — n = 50 samples, d = 5, a
fully-connected linear network of depth 10 and width 5 with a scalar output, the paper's loss
``mean((X theta - y)**2)``, Gaussian initialisation at scale 0.35, learning rate 0.02, 2000 steps,
float64, R independent repetitions run as one batched computation.

Contenders, all starting from the same arrays:

- **lintheory**: ``lt.gradient_descent`` over a leading batch axis (only the final state recorded),
  with its default ``backend="auto"``, which runs the compiled (numba) loop of ``lintheory._compiled``
  here. "First call" includes loading the compiled kernel from numba's on-disk cache (or compiling it,
  the first time on a machine): the kernel is dropped before every first call; numba's once-per-process
  start-up (import, LLVM initialisation) is paid in the warm-up, like JAX's runtime start. "steady" is the best of three later
  calls. The ratio columns divide a contender's time by lintheory's (first call by first call,
  steady state by steady state; PyTorch, which compiles nothing, by lintheory's steady state);
- **NumPy path**: the same call with ``backend="numpy"``, the reference loop (one timed call);
- **compiled loop**: the limit, a minimal hand-written numba loop of the same update for this one
  architecture (explicit loops over the 5 x 5 layers, the loss gradient in its covariance form
  ``2c (Sigma theta - X^T y)``, in-place updates, no records and no divergence checks), cached on disk
  the same way; "limit ratio" is lintheory's steady time over the loop's (the goal: at most 2);
- **JAX**: the loss of one network differentiated by ``jax.grad``, batched by ``jax.vmap``, the
  2000 steps in one ``jax.lax.scan``, the whole run under ``jax.jit`` — in two formulations of the
  layer product: ``A @ B`` (matmul) and ``sum(A[..., :, :, None] * B[..., None, :, :], -2)``
  (broadcast-sum, which XLA fuses better for 5 x 5 matrices at small R). Each column takes the
  faster formulation. "First call" includes tracing and compilation (JAX's and lintheory's
  once-per-process start-up is paid before, by a warm-up); "steady" is the best of three later calls;
- **PyTorch**: eager mode, batched matmuls, ``loss.backward()`` and an in-place update per step,
  on one thread (``torch.set_num_threads(1)``; eager mode gains nothing from threads at this size);
  one timed call of 2000 steps.

Before any time counts, the final parameters of JAX, PyTorch, the NumPy path and the compiled loop
must agree with lintheory's to 1e-10 (maximum absolute difference relative to the largest parameter); the script stops otherwise.
"""

from __future__ import annotations

import numpy as np

import lintheory as lt
from lintheory import _compiled
from _common import best_time, discrepancy, first_time, sig

N, D, DEPTH, WIDTH = 50, 5, 10, 5
LR, STEPS, SCALE = 0.02, 2000, 0.35
AGREEMENT = 1e-10


def problem(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The paper's data: Gaussian X, noisy linear targets, scaled so that ||w*|| = 1."""
    return lt.data.overdetermined_regression(N, D, noise=1.0, seed=seed)


def run_lintheory(X: np.ndarray, y: np.ndarray, params: list[np.ndarray], steps: int,
                  backend: str = "auto") -> list[np.ndarray]:
    net = lt.FullyConnected([D] + [WIDTH] * (DEPTH - 1) + [1])
    loss = lt.SquaredLoss(X, y, normalization="mean")
    run = lt.gradient_descent(net, loss, params, LR, steps, record_every=steps, keep_params=False,
                              backend=backend)
    if np.any(run.diverged):
        raise RuntimeError("the benchmark run diverged; choose a smaller scale or learning rate")
    return run.final_params


def _limit_loop_py(mid, last, Sig, XtY, two_c, lr, steps):      # pragma: no cover - compiled
    """Gradient descent on x -> w^T W_{L-1} ... W_1 x (every W_k h x h, w of length h), batch first:
    ``mid`` (R, L-1, h, h) and ``last`` (R, h) are updated in place."""
    R, L1, h, _ = mid.shape
    S = np.empty((L1 + 1, h))                   # suffix row vectors w^T W_{L-1} ... W_{l+1}
    Bc = np.empty(h)                            # W_l ... W_1 g
    Bn = np.empty(h)
    for r in range(R):
        for k in range(steps):
            for a in range(h):
                S[L1, a] = last[r, a]
            for l in range(L1 - 1, -1, -1):
                for b in range(h):
                    S[l, b] = 0.0
                for a in range(h):
                    sa = S[l + 1, a]
                    for b in range(h):
                        S[l, b] += sa * mid[r, l, a, b]
            for j in range(h):                  # lr * dLoss/dtheta = lr * 2c (Sigma theta - X^T y)
                acc = -XtY[j]
                for i in range(h):
                    acc += Sig[j, i] * S[0, i]
                Bc[j] = lr * (two_c * acc)
            for l in range(L1):                 # grad W_l = S_l^T (W_{l-1}...W_1 g)^T, then B <- W_l B
                for a in range(h):
                    acc = 0.0
                    sa = S[l + 1, a]
                    for b in range(h):
                        acc += mid[r, l, a, b] * Bc[b]
                        mid[r, l, a, b] -= sa * Bc[b]
                    Bn[a] = acc
                Bc, Bn = Bn, Bc
            for a in range(h):
                last[r, a] -= Bc[a]


def limit_runner():
    """A fresh dispatcher of the hand-written loop (its first call loads numba's on-disk cache, or
    compiles the first time on a machine): ``(X, y, params) -> final params``."""
    import numba

    loop = numba.njit(cache=True)(_limit_loop_py)

    def call(X, y, params):
        mid = np.ascontiguousarray(np.stack(params[:-1], axis=1))
        last = params[-1][:, 0, :].copy()
        loop(mid, last, X.T @ X, X.T @ y, 2.0 / X.shape[0], LR, STEPS)
        return [mid[:, k] for k in range(DEPTH - 1)] + [last[:, None, :]]

    return call


def jax_runner(formulation: str):
    """A jitted ``(params, X, y) -> final params`` in JAX, for one layer-product formulation."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)

    def product(A, B):
        if formulation == "matmul":
            return A @ B
        return jnp.sum(A[..., :, :, None] * B[..., None, :, :], axis=-2)

    def loss_one(ps, X, y):
        P = ps[0]
        for W in ps[1:]:
            P = product(W, P)
        r = X @ P[0] - y
        return jnp.mean(r * r)

    grad = jax.vmap(jax.grad(loss_one), in_axes=(0, None, None))

    def run(ps, X, y):
        def step(ps, _):
            return [p - LR * g for p, g in zip(ps, grad(ps, X, y))], None
        return jax.lax.scan(step, ps, None, length=STEPS)[0]

    compiled = jax.jit(run)

    def call(params, X, y):
        out = compiled([jnp.asarray(p) for p in params], jnp.asarray(X), jnp.asarray(y))
        return [np.asarray(jax.block_until_ready(p)) for p in out]

    return call


def _warm_up(X: np.ndarray, y: np.ndarray) -> None:
    """Start JAX's runtime and run lintheory once on a tiny problem, so that no contender's timed
    first call pays for a start-up that happens once per process."""
    import jax
    import jax.numpy as jnp

    import numba

    jax.block_until_ready(jax.jit(lambda a: a + 1)(jnp.zeros(3)))
    numba.njit(lambda a: a + 1)(1.0)            # numba's start-up (import, LLVM), the same way
    net = lt.FullyConnected([D] + [WIDTH] * (DEPTH - 1) + [1])
    run_lintheory(X, y, net.init(SCALE, seed=0), 1)


def run_torch(X: np.ndarray, y: np.ndarray, params: list[np.ndarray]) -> list[np.ndarray]:
    import torch

    ws = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    Xt, yt = torch.tensor(X), torch.tensor(y)
    for _ in range(STEPS):
        P = ws[0]
        for W in ws[1:]:
            P = torch.matmul(W, P)
        r = P[:, 0, :] @ Xt.T - yt
        loss = torch.mean(r * r, dim=-1).sum()      # the sum over the batch gives each member its gradient
        loss.backward()
        with torch.no_grad():
            for W in ws:
                W -= LR * W.grad
                W.grad = None
    return [W.detach().numpy() for W in ws]


def run(quick: bool = False) -> list[dict]:
    import torch

    torch.set_num_threads(1)
    X, y = problem()
    _warm_up(X, y)
    net = lt.FullyConnected([D] + [WIDTH] * (DEPTH - 1) + [1])
    rows = []
    for R in ((1, 20) if quick else (1, 20, 200)):
        params = net.init(SCALE, seed=R, batch=R)
        _compiled._KERNEL = None                 # the first call loads the kernel from the disk cache
        lt_first, reference = first_time(lambda: run_lintheory(X, y, params, STEPS))
        lt_steady, _ = best_time(lambda: run_lintheory(X, y, params, STEPS))
        numpy_time, out = first_time(lambda: run_lintheory(X, y, params, STEPS, backend="numpy"))
        numpy_error = discrepancy(out, reference)
        limit = limit_runner()
        limit_first, out = first_time(lambda: limit(X, y, params))
        limit_error = discrepancy(out, reference)
        limit_steady, _ = best_time(lambda: limit(X, y, params))
        for name, error in (("the NumPy path", numpy_error), ("the compiled loop", limit_error)):
            if error > AGREEMENT:
                raise RuntimeError(f"{name} disagrees with lintheory by {error:.2e} at R = {R}")
        jax_times = {}
        for formulation in ("matmul", "broadcast-sum"):
            call = jax_runner(formulation)
            first, out = first_time(lambda: call(params, X, y))
            error = discrepancy(out, reference)
            if error > AGREEMENT:
                raise RuntimeError(f"JAX ({formulation}) disagrees with lintheory by {error:.2e} at R = {R}")
            steady, _ = best_time(lambda: call(params, X, y))
            jax_times[formulation] = (first, steady, error)
        first_f = min(jax_times, key=lambda f: jax_times[f][0])
        steady_f = min(jax_times, key=lambda f: jax_times[f][1])
        jax_first, jax_steady = jax_times[first_f][0], jax_times[steady_f][1]
        jax_error = max(t[2] for t in jax_times.values())
        torch_time, out = first_time(lambda: run_torch(X, y, params))
        torch_error = discrepancy(out, reference)
        if torch_error > AGREEMENT:
            raise RuntimeError(f"PyTorch disagrees with lintheory by {torch_error:.2e} at R = {R}")
        rows.append({
            "R": R,
            "lintheory first s": sig(lt_first),
            "lintheory steady s": sig(lt_steady),
            "NumPy path s": sig(numpy_time),
            "compiled loop first s": sig(limit_first),
            "compiled loop steady s": sig(limit_steady),
            "JAX first call s": sig(jax_first),
            "JAX steady s": sig(jax_steady),
            "PyTorch s": sig(torch_time),
            "JAX first ratio": sig(jax_first / lt_first),
            "JAX steady ratio": sig(jax_steady / lt_steady),
            "PyTorch ratio": sig(torch_time / lt_steady),
            "NumPy path ratio": sig(numpy_time / lt_steady),
            "limit ratio": sig(lt_steady / limit_steady),
            "deviation": float(f"{max(jax_error, torch_error, numpy_error, limit_error):.1e}"),
        })
        print(f"R = {R}: fastest JAX formulation, first call: {first_f}; steady state: {steady_f}")
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
