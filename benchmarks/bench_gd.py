"""Batched gradient descent: lintheory against JAX (jit) and PyTorch (eager), in one process.

Setting: the flat-minima Fig. 1 experiment (Marion & Chizat 2024) — n = 50 samples, d = 5, a
fully-connected linear network of depth 10 and width 5 with a scalar output, the paper's loss
``mean((X theta - y)**2)``, Gaussian initialisation at scale 0.35, learning rate 0.02, 2000 steps,
float64, R independent repetitions run as one batched computation.

Contenders, all starting from the same arrays:

- **lintheory**: ``lt.gradient_descent`` over a leading batch axis (only the final state recorded);
  its time is that of its first call (it compiles nothing; one timing can only overstate its cost),
  and every "ratio" column is a contender's time divided by it;
- **JAX**: the loss of one network differentiated by ``jax.grad``, batched by ``jax.vmap``, the
  2000 steps in one ``jax.lax.scan``, the whole run under ``jax.jit`` — in two formulations of the
  layer product: ``A @ B`` (matmul) and ``sum(A[..., :, :, None] * B[..., None, :, :], -2)``
  (broadcast-sum, which XLA fuses better for 5 x 5 matrices at small R). Each column takes the
  faster formulation. "First call" includes tracing and compilation (JAX's and lintheory's
  once-per-process start-up is paid before, by a warm-up); "steady" is the best of three later calls;
- **PyTorch**: eager mode, batched matmuls, ``loss.backward()`` and an in-place update per step,
  on one thread (``torch.set_num_threads(1)``; eager mode gains nothing from threads at this size);
  one timed call of 2000 steps.

Before any time counts, the final parameters of JAX and PyTorch must agree with lintheory's to
1e-10 (maximum absolute difference relative to the largest parameter); the script stops otherwise.
"""

from __future__ import annotations

import numpy as np

import lintheory as lt
from _common import best_time, first_time, sig

N, D, DEPTH, WIDTH = 50, 5, 10, 5
LR, STEPS, SCALE = 0.02, 2000, 0.35
AGREEMENT = 1e-10


def problem(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The paper's data: Gaussian X, noisy linear targets, scaled so that ||w*|| = 1."""
    return lt.data.overdetermined_regression(N, D, noise=1.0, seed=seed)


def run_lintheory(X: np.ndarray, y: np.ndarray, params: list[np.ndarray], steps: int) -> list[np.ndarray]:
    net = lt.FullyConnected([D] + [WIDTH] * (DEPTH - 1) + [1])
    loss = lt.SquaredLoss(X, y, normalization="mean")
    run = lt.gradient_descent(net, loss, params, LR, steps, record_every=steps, keep_params=False)
    if np.any(run.diverged):
        raise RuntimeError("the benchmark run diverged; choose a smaller scale or learning rate")
    return run.final_params


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

    jax.block_until_ready(jax.jit(lambda a: a + 1)(jnp.zeros(3)))
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


def discrepancy(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """max |a - b| over all blocks, relative to the largest entry of b."""
    scale = max(float(np.max(np.abs(q))) for q in b)
    return max(float(np.max(np.abs(p - q))) for p, q in zip(a, b)) / scale


def run(quick: bool = False) -> list[dict]:
    import torch

    torch.set_num_threads(1)
    X, y = problem()
    _warm_up(X, y)
    net = lt.FullyConnected([D] + [WIDTH] * (DEPTH - 1) + [1])
    rows = []
    for R in ((1, 20) if quick else (1, 20, 200)):
        params = net.init(SCALE, seed=R, batch=R)
        lt_time, reference = first_time(lambda: run_lintheory(X, y, params, STEPS))   # its first call
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
            "lintheory s": sig(lt_time),
            "JAX first call s": sig(jax_first),
            "JAX steady s": sig(jax_steady),
            "PyTorch s": sig(torch_time),
            "JAX first ratio": sig(jax_first / lt_time),
            "JAX steady ratio": sig(jax_steady / lt_time),
            "PyTorch ratio": sig(torch_time / lt_time),
            "deviation": float(f"{max(jax_error, torch_error):.1e}"),
        })
        print(f"R = {R}: fastest JAX formulation, first call: {first_f}; steady state: {steady_f}")
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
