"""Gradient flow accuracy per cost: ``lt.gradient_flow`` against fixed-step Euler, at equal accuracy.

What is measured
----------------
For each problem, the gradient evaluations and the wall time that two simulators need to reproduce
an exact gradient-flow solution to a relative error of at most ``1e-6`` (``1e-3`` with
``quick=True``):

- **lintheory**: ``lt.gradient_flow`` (``solve_ivp``, DOP853, dense output at the record times) with
  ``rtol`` on the decade grid ``1e-4, ..., 1e-12`` and ``atol = 1e-3 * rtol``. The error is not
  monotone in ``rtol`` (a loose tolerance can pass by luck while the next tighter one fails: the
  7th-order interpolant between long steps can be less accurate than the steps themselves), so the
  reported ``rtol`` is the loosest one such that it *and every tighter grid value* meet the target.
  Gradient evaluations are ``solve_ivp``'s ``nfev`` (one chain-rule gradient each, the dense-output
  stages included); the time is the best of 3 runs (``best_time``).
- **Euler**: ``lt.gradient_descent`` with step ``h`` (= explicit Euler on the flow, time ``t = k h``),
  ``h = T / (N m)`` with integer ``m`` and ``record_every = m``, so it records exactly at the grid
  below. Its error is ``O(h)``: ``m`` doubles from 1 while the error exceeds ``100 x`` the target,
  then ``m <- ceil(m * error / target)`` until a run meets the target. The reported ``h``, error,
  gradient evaluations (``n_grad`` = steps + 1) and wall time are those of that run, actually
  executed; the time is of that single run (tens of seconds, not repeated).

The error of a run is the maximum, over the ``N + 1 = 101`` equally spaced record times of
``[0, T]`` and over the modes ``i``, of :math:`|u_i^\\top\\theta(t)v_i - a_i(t)|/a_i(t)`, where
:math:`\\theta` is the end-to-end predictor, :math:`u_i, v_i` the singular vectors shared by the data
and :math:`a_i(t)` the exact mode strength. ``T`` is the exact time at which the loss comes within
``1e-8`` of its minimum, :math:`\\tfrac12\\sum_i(s_i - a_i(T))^2 = 10^{-8}`, so the grid covers the
plateau, the transitions and the convergence.

Problems
--------
Data: ``lt.data.aligned_regression(ones(2), s, n=8, seed=0)`` (whitened inputs, randomly rotated
singular vectors), target modes ``s = (1, 0.5)``, the course's loss ``SquaredLoss(X, Y)``.

1. *2-layer, Saxe modes*: ``FullyConnected([2, 2, 2])`` from ``theory.spectral_init`` (balanced,
   decoupled) with ``a0 = 0.1 s``; reference ``theory.saxe_mode``.
2. *depth-4, balanced modes*: ``FullyConnected([2, 2, 2, 2, 2])``, balanced and decoupled
   (first and last layers from ``spectral_init(U, V, a0 ** (1/2))``, so each carries
   ``a0 ** (1/4)``, and ``diag(a0 ** (1/4))`` in between), ``a0 = 0.2 s``. Each mode then obeys
   :math:`\\dot a = 4a^{3/2}(s - a)`, solved in closed form by :func:`depth4_mode` (the package has
   no closed form in time for depth > 2).

The sizes are set by Euler's cost, not by lintheory's: Euler's error is about ``0.2 h`` on these
curves, so ``1e-6`` takes one to two million steps (tens of microseconds each), about a minute per
problem. A long plateau (``a0 = 1e-3 s``) or a wider spread of ``s`` would need roughly ``10^7`` to
``10^8`` steps, while gradient flow stays at a few hundred to two thousand evaluations (at depth 4
and ``a0 = 1e-3 s`` it needs ``rtol = 1e-12``: at ``1e-8`` the steps are accurate to ``3e-9`` but
the values interpolated at the record times during the late, fast transition are off by ``7e-6``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.optimize import brentq

import lintheory as lt

from _common import best_time, first_time, sig, transpose

LOSS_GAP = 1e-8                             # the record grid ends when the loss is this close to its minimum
N_INTERVALS = 100                           # record times: N_INTERVALS + 1 points on [0, T]
RTOLS = tuple(10.0 ** -k for k in range(4, 13))
ATOL_FRACTION = 1e-3                        # atol = ATOL_FRACTION * rtol
COARSE = 100.0                              # Euler: halve h while error > COARSE * target, then predict


@dataclass(frozen=True)
class Problem:
    """A network started on exact decoupled modes, and the exact solution it must reproduce."""

    name: str
    reference_name: str
    net: lt.FullyConnected
    loss: lt.SquaredLoss
    params: list[np.ndarray]
    U: np.ndarray                           # (d, modes): input singular vectors
    V: np.ndarray                           # (m, modes): output singular vectors
    t: np.ndarray                           # the record grid
    reference: np.ndarray                   # (len(t), modes): exact mode strengths on the grid

    @property
    def horizon(self) -> float:
        """The last record time ``T``."""
        return float(self.t[-1])


def _depth4_potential(y: float) -> float:
    """:math:`G = u - \\operatorname{artanh}(1/u)` at :math:`u = 1 + e^y`, written without cancellation."""
    return 1.0 + math.exp(y) + 0.5 * (y - math.log(2.0 + math.exp(y)))


def depth4_mode(t: np.ndarray, s: np.ndarray, a0: np.ndarray) -> np.ndarray:
    """Strength of one balanced, decoupled mode of a depth-4 linear network under gradient flow.

    With whitened inputs and the course's loss every layer carries the mode as a scalar :math:`w`
    with :math:`\\dot w = (s - w^4)w^3`, so :math:`a = w^4` obeys :math:`\\dot a = 4a^{3/2}(s - a)`.
    Substituting :math:`u = \\sqrt{s/a}` gives :math:`dt = -u^2\\,du/(2s^{3/2}(u^2 - 1))`, hence

    .. math:: t(a) = \\frac{G(u_0) - G(u)}{2s^{3/2}}, \\qquad G(u) = u - \\operatorname{artanh}(1/u).

    This is inverted for :math:`y = \\ln(u - 1)` with ``brentq`` (``G`` is increasing in ``y``, from
    :math:`-\\infty` to :math:`\\infty`), to about 1e-14 relative accuracy in :math:`a`.

    Parameters
    ----------
    t : ndarray, shape (T,)
        Times (>= 0).
    s, a0 : ndarray, shape (modes,)
        Target strengths and initial strengths, ``0 < a0 < s``.

    Returns
    -------
    ndarray, shape (T, modes)
    """
    out = np.empty((t.size, s.size))
    for i, (si, ai) in enumerate(zip(s, a0)):
        y0 = math.log(math.sqrt(si / ai) - 1.0)
        g0 = _depth4_potential(y0)
        for j, tj in enumerate(t):
            c = g0 - 2.0 * si ** 1.5 * tj
            y = brentq(lambda y, c: _depth4_potential(y) - c, min(0.0, 2.0 * c - 4.0), y0, args=(c,),
                       xtol=1e-14)
            out[j, i] = si / (1.0 + math.exp(y)) ** 2
    return out


def _saxe_modes(t: np.ndarray, s: np.ndarray, a0: np.ndarray) -> np.ndarray:
    """``theory.saxe_mode`` on a time grid, shape ``(T, modes)`` like :func:`depth4_mode`."""
    return lt.theory.saxe_mode(t[:, None], s, a0)


ExactModes = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
CLOSED_FORMS: dict[int, tuple[str, str, ExactModes]] = {
    2: ("2-layer, Saxe modes", "theory.saxe_mode", _saxe_modes),
    4: ("depth-4, balanced modes", "closed-form t(a), inverted", depth4_mode),
}


def _horizon(exact: ExactModes, s: np.ndarray, a0: np.ndarray) -> float:
    """The time ``T`` at which the exact loss gap :math:`\\frac12\\sum(s - a)^2` reaches ``LOSS_GAP``."""
    def gap(t: float) -> float:
        return 0.5 * float(np.sum((s - exact(np.array([t]), s, a0)[0]) ** 2)) - LOSS_GAP

    hi = 1.0
    while gap(hi) > 0:
        hi *= 2.0
    return brentq(gap, 0.0, hi, xtol=1e-12)


def _problem(depth: int, a0_ratio: float) -> Problem:
    """Balanced, decoupled ``FullyConnected([2] * (depth + 1))`` on whitened aligned data."""
    name, reference_name, exact = CLOSED_FORMS[depth]
    s = np.array([1.0, 0.5])
    a0 = a0_ratio * s
    X, Y = lt.data.aligned_regression(np.ones(s.size), s, n=8, seed=0)
    U, _, _, V = lt.theory.shared_bases(X.T @ X / len(X), X.T @ Y / len(X))
    first, last = lt.theory.spectral_init(U, V, a0 ** (2 / depth))
    params = [first] + [np.diag(a0 ** (1 / depth))] * (depth - 2) + [last]
    t = np.linspace(0.0, _horizon(exact, s, a0), N_INTERVALS + 1)
    return Problem(name=f"{name} (s = 1, 0.5; a0 = {a0_ratio:g} s)", reference_name=reference_name,
                   net=lt.FullyConnected([s.size] * (depth + 1)), loss=lt.SquaredLoss(X, Y),
                   params=params, U=U, V=V, t=t, reference=exact(t, s, a0))


def relative_error(problem: Problem, theta: np.ndarray) -> float:
    """Max over record times and modes of the relative error of the mode strengths."""
    modes = np.einsum("dq,tdp,pq->tq", problem.U, theta, problem.V)
    return float(np.max(np.abs(modes - problem.reference) / problem.reference))


def _flow(problem: Problem, rtol: float) -> lt.Trajectory:
    return lt.gradient_flow(problem.net, problem.loss, problem.params, problem.t,
                            rtol=rtol, atol=ATOL_FRACTION * rtol)


def flow_cost(problem: Problem, target: float) -> dict:
    """Loosest grid ``rtol`` from which every tighter one meets ``target``; its error, nfev and time."""
    chosen = None
    for rtol in sorted(RTOLS):
        if relative_error(problem, _flow(problem, rtol).theta) > target:
            break
        chosen = rtol
    if chosen is None:
        raise RuntimeError(f"{problem.name}: gradient flow misses {target:g} even at rtol {min(RTOLS):g}")
    elapsed, traj = best_time(lambda: _flow(problem, chosen))
    return {"rtol": chosen, "error": relative_error(problem, traj.theta),
            "evals": int(traj.stats["nfev"]), "time": elapsed}


def _euler(problem: Problem, m: int) -> lt.Trajectory:
    return lt.gradient_descent(problem.net, problem.loss, problem.params, problem.horizon / (N_INTERVALS * m),
                               N_INTERVALS * m, record_every=m, keep_params=False)


def euler_cost(problem: Problem, target: float) -> dict:
    """First executed Euler run meeting ``target`` (see the module docstring); its h, error, evals, time."""
    m = 1
    while True:
        elapsed, traj = first_time(lambda: _euler(problem, m))
        error = relative_error(problem, traj.theta)
        if error <= target:
            return {"h": problem.horizon / (N_INTERVALS * m), "error": error,
                    "evals": int(traj.stats["n_grad"]), "time": elapsed}
        m = 2 * m if error > COARSE * target else math.ceil(m * error / target)


def _row(problem: Problem, target: float) -> dict:
    flow, euler = flow_cost(problem, target), euler_cost(problem, target)
    return {
        "problem": problem.name,
        "reference": problem.reference_name,
        "horizon T": sig(problem.horizon),
        "target error": target,
        "GF rtol": flow["rtol"],
        "GF error": sig(flow["error"]),
        "GF grad evals": flow["evals"],
        "GF time s": sig(flow["time"]),
        "Euler step h": sig(euler["h"]),
        "Euler error": sig(euler["error"], 4),
        "Euler grad evals": euler["evals"],
        "Euler time s": sig(euler["time"]),
        "eval ratio (Euler/GF)": sig(euler["evals"] / flow["evals"]),
        "time ratio (Euler/GF)": sig(euler["time"] / flow["time"]),
    }


def run(quick: bool = False) -> list[dict]:
    """One column per problem, one row per quantity; ``quick`` lowers the accuracy target to 1e-3
    (a smoke test)."""
    target = 1e-3 if quick else 1e-6
    return transpose([_row(_problem(depth, a0_ratio), target) for depth, a0_ratio in ((2, 0.1), (4, 0.2))],
                     "problem")


if __name__ == "__main__":
    for row in run():
        print(row)
