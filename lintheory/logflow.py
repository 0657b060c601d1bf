"""Gradient flow of diagonal networks on the exponential loss, clocked by the log of the loss.

On separable data the exponential loss :math:`\\varepsilon` goes to 0 and the time to ``inf``; Moroshko et al.
(2020) show the direction reached depends on how small :math:`\\varepsilon` is, down to values like
:math:`10^{-1000}` that no float holds. Here neither :math:`\\varepsilon` nor the time is ever formed: the state is
the dual variable :math:`\\kappa` (cumulative per-sample losses) and the clock is :math:`s = \\log(1/\\varepsilon)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.integrate import solve_ivp
from scipy.special import logsumexp, softmax

from ._validation import as_array, check_positive
from .theory.classification_scale import dual_map
from .theory.max_margin import _signed_inputs

__all__ = ["LogLossFlow", "log_loss_flow", "log_inv_loss", "last_crossing"]


@dataclass(frozen=True)
class LogLossFlow:
    """A gradient-flow path recorded at prescribed values of :math:`s = \\log(1/\\varepsilon)`.

    Attributes
    ----------
    s : ndarray, shape (T,)
        :math:`\\log(1/\\varepsilon)` of each snapshot (natural log; ``s / log(10)`` is :math:`\\log_{10}(1/\\varepsilon)`).
    kappa : ndarray, shape (T, N)
        Dual variables :math:`\\kappa_n = \\frac1N\\int_0^te^{-z_n^\\top\\theta}`.
    theta : ndarray, shape (T, d)
        End-to-end predictors.
    stats : dict
        ``nfev``, ``njev`` and ``nlu`` of the integrator.
    """

    s: np.ndarray
    kappa: np.ndarray
    theta: np.ndarray
    stats: dict = field(default_factory=dict)


def log_loss_flow(X: Any, y: Any, alpha: float, depth: int, s_eval: Any, *, rtol: float = 1e-10,
                  atol: float = 1e-12) -> LogLossFlow:
    """Gradient flow on :math:`\\L = \\frac1N\\sum_ne^{-y_nx_n^\\top\\theta}` with the loss's log as the clock.

    The network is the diagonal one :math:`\\theta = v_1\\odot\\cdots\\odot v_L` from
    :math:`v_l(0) = \\alpha\\mathbf 1` (:math:`l < L`), :math:`v_L(0) = 0` (``depth = 1``: a linear model from 0).
    With :math:`z_n = y_nx_n`, :math:`\\theta = \\varphi(Z^\\top\\kappa)` (:func:`lintheory.theory.dual_map`) and
    :math:`\\dot\\kappa_n = e^{-z_n^\\top\\theta}/N`. Changing the clock to :math:`s = -\\log\\L` (derived in this course),

    .. math::
        \\frac{d\\kappa}{ds} = \\frac{p}{\\sum_j\\varphi'(\\nu_j)\\,(Z^\\top p)_j^2},\\qquad
        p = \\operatorname{softmax}(-Z\\theta),\\quad \\nu = Z^\\top\\kappa,

    where :math:`p_n = e^{-z_n^\\top\\theta}/(N\\L)` are the normalized per-sample losses: no quantity of the
    size of :math:`\\L` or of :math:`t` appears, so :math:`s` may run to :math:`10^4` (:math:`\\L = 10^{-4343}`)
    and beyond. Integrated by ``solve_ivp`` (BDF, an implicit method: the system is mildly stiff).

    Parameters
    ----------
    X : array_like, shape (N, d)
    y : array_like, shape (N,), labels in {-1, +1}
    alpha : float
        Initialization scale (unused for ``depth = 1``).
    depth : int
        1, 2, 3 or 4.
    s_eval : array_like, shape (T,)
        Increasing values of :math:`\\log(1/\\varepsilon)` at which to record, all > 0
        (the flow starts at :math:`\\theta = 0`, :math:`\\varepsilon = 1`, :math:`s = 0`).
    rtol, atol : float
        Tolerances of the integrator on :math:`\\kappa`.

    Returns
    -------
    LogLossFlow
    """
    Z = _signed_inputs(X, y)
    alpha = check_positive("alpha", alpha)
    dual_map(0.0, alpha, depth)                      # validates depth
    s_eval = as_array("s_eval", s_eval, ndim=1)
    if np.any(s_eval <= 0) or np.any(np.diff(s_eval) <= 0):
        raise ValueError("s_eval must be positive and strictly increasing (s = log(1/loss) starts at 0)")
    if not np.any(Z.sum(axis=0)):
        raise ValueError("the flow does not move: sum_n y_n x_n = 0")

    def rhs(_s, kappa):
        theta, dtheta = dual_map(Z.T @ kappa, alpha, depth)
        p = softmax(-(Z @ theta))
        g = Z.T @ p
        return p / np.dot(dtheta, g * g)

    sol = solve_ivp(rhs, (0.0, float(s_eval[-1])), np.zeros(Z.shape[0]), method="BDF", t_eval=s_eval,
                    rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"log_loss_flow: the integrator failed: {sol.message}")
    kappa = sol.y.T
    theta = dual_map(kappa @ Z, alpha, depth)[0]
    return LogLossFlow(s=sol.t, kappa=kappa, theta=theta,
                       stats={"nfev": sol.nfev, "njev": sol.njev, "nlu": sol.nlu})


def log_inv_loss(X: Any, y: Any, theta: Any) -> np.ndarray:
    """:math:`\\log(1/\\L(\\theta))` for the mean exponential loss, as a log-sum-exp (batched over leading axes)."""
    Z = _signed_inputs(X, y)
    theta = np.asarray(theta, dtype=float)
    return np.log(Z.shape[0]) - logsumexp(-(theta @ Z.T), axis=-1)


def last_crossing(s: Any, gap: Any) -> float:
    """The last ``s`` at which ``gap`` turns from negative to positive, interpolated linearly in :math:`\\log s`.

    With ``gap`` the angle to the :math:`\\ell_2` max-margin direction minus the angle to the :math:`\\ell_1` one,
    this is the measured transition of section 2d. Returns ``nan`` when ``gap`` never turns positive
    after being negative.
    """
    s, gap = as_array("s", s, ndim=1), as_array("gap", gap, ndim=1)
    if s.shape != gap.shape or np.any(s <= 0):
        raise ValueError("s and gap must have the same shape, with s > 0")
    up = np.flatnonzero((gap[:-1] <= 0) & (gap[1:] > 0))
    if up.size == 0:
        return float("nan")
    i = up[-1]
    w = gap[i] / (gap[i] - gap[i + 1])
    return float(np.exp((1 - w) * np.log(s[i]) + w * np.log(s[i + 1])))
