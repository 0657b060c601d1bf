"""Gradient flow of diagonal networks on the exponential or logistic loss, clocked by the log of the loss.

On separable data the exponential loss :math:`\\varepsilon` goes to 0 and the time to ``inf``; Moroshko et al.
(2020) show the direction reached depends on how small :math:`\\varepsilon` is, down to values like
:math:`10^{-1000}` that no float holds. Here neither :math:`\\varepsilon` nor the time is ever formed: the state is
the dual variable :math:`\\lambda` (cumulative per-sample losses) and the clock is :math:`s = \\log(1/\\varepsilon)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from scipy.integrate import solve_ivp
from scipy.special import logsumexp

from ._validation import as_array, check_choice, check_positive
from .theory.classification_scale import dual_map
from .theory.max_margin import _signed_inputs, l1_max_margin

__all__ = ["LogLossFlow", "log_loss_flow", "log_inv_loss", "last_crossing"]


@dataclass(frozen=True)
class LogLossFlow:
    """A gradient-flow path recorded at prescribed values of :math:`s = \\log(1/\\varepsilon)`.

    Attributes
    ----------
    s : ndarray, shape (T,)
        :math:`\\log(1/\\varepsilon)` of each snapshot (natural log; ``s / log(10)`` is :math:`\\log_{10}(1/\\varepsilon)`).
    lam : ndarray, shape (T, n)
        Dual variables :math:`\\lambda_i = \\frac1n\\int_0^te^{-z_i^\\top\\theta}`.
    theta : ndarray, shape (T, d)
        End-to-end predictors.
    stats : dict
        ``nfev``, ``njev`` and ``nlu`` of the integrator.
    """

    s: np.ndarray
    lam: np.ndarray
    theta: np.ndarray
    stats: dict = field(default_factory=dict)


LOSSES = ("exponential", "logistic")


def _log_loss_terms(m: np.ndarray, loss: str) -> tuple[np.ndarray, np.ndarray]:
    """Logs of the per-sample losses :math:`\\ell(m_i)` and of :math:`-\\ell'(m_i)`, never forming either.

    Exponential: both are :math:`-m`. Logistic: :math:`\\log\\log(1+e^{-m})`, computed as
    :math:`-m + \\log(1 - e^{-m}/2)` to :math:`O(e^{-2m})` for :math:`m > 30`, and :math:`-\\log(1+e^{m})`.
    """
    if loss == "exponential":
        return -m, -m
    with np.errstate(over="ignore"):
        big = m > 30.0
        log_ell = np.where(big, -m + np.log1p(-0.5 * np.exp(-np.where(big, m, 30.0))),
                           np.log(np.logaddexp(0.0, -np.where(big, 0.0, m))))
    return log_ell, -np.logaddexp(0.0, m)


def _vector_field(Z: np.ndarray, alpha: float, depth: int, loss: str) -> tuple[Callable, Callable]:
    """The right-hand side :math:`d\\lambda/ds` of :func:`log_loss_flow` and its Jacobian in :math:`\\lambda`."""

    def terms(lam):
        theta, dtheta, d2theta = dual_map(Z.T @ lam, alpha, depth, second=True)
        m = Z @ theta
        log_ell, log_slope = _log_loss_terms(m, loss)
        r = np.exp(log_slope - logsumexp(log_ell))   # -l'/(n L): the 1/n cancels against the mean's
        g = Z.T @ r
        return m, dtheta, d2theta, r, g, np.dot(dtheta, g * g)

    def rhs(_s, lam):
        *_, r, _g, G = terms(lam)
        return r / G

    def jac(_s, lam):
        # dr/dm = rr^T - diag(r w), w = l''/(-l') = 1 (exponential) or sigma(m) (logistic); dm/dlam = Z D Z^T
        m, dtheta, d2theta, r, g, G = terms(lam)
        w = 1.0 if loss == "exponential" else np.exp(-np.logaddexp(0.0, -m))
        dm = (Z * dtheta) @ Z.T
        dr = (np.outer(r, r) - np.diag(r * w)) @ dm
        dG = Z @ (d2theta * g * g) + dr.T @ (Z @ (2 * dtheta * g))
        return dr / G - np.outer(r, dG) / G ** 2

    return rhs, jac


def log_inv_loss(X: Any, y: Any, theta: Any, *, loss: str = "exponential") -> np.ndarray:
    """:math:`\\log(1/\\L(\\theta))` for the mean exponential or logistic loss, as a log-sum-exp (batched over
    leading axes of ``theta``); the loss itself is never formed, so it may be far below the smallest float."""
    Z = _signed_inputs(X, y)
    check_choice("loss", loss, LOSSES)
    log_ell = _log_loss_terms(np.asarray(theta, dtype=float) @ Z.T, loss)[0]
    return np.log(Z.shape[0]) - logsumexp(log_ell, axis=-1)


def log_loss_flow(X: Any, y: Any, alpha: float, depth: int, s_eval: Any, *, loss: str = "exponential",
                  rtol: float = 1e-10, atol: float = 1e-12) -> LogLossFlow:
    """Gradient flow on :math:`\\L = \\frac1n\\sum_i\\ell(y_ix_i^\\top\\theta)` with the loss's log as the clock.

    The network is the diagonal one :math:`\\theta = v_1\\odot\\cdots\\odot v_L` from
    :math:`v_l(0) = \\alpha\\mathbf 1` (:math:`l < L`), :math:`v_L(0) = 0` (``depth = 1``: a linear model from 0),
    and :math:`\\ell(m) = e^{-m}` (``"exponential"``) or :math:`\\log(1+e^{-m})` (``"logistic"``). With
    :math:`z_i = y_ix_i`, :math:`\\theta = \\varphi(Z^\\top\\lambda)` (:func:`lintheory.theory.dual_map`) and
    :math:`\\dot\\lambda_i = -\\ell'(z_i^\\top\\theta)/n`. Changing the clock to :math:`s = -\\log\\L` (derived in this
    course),

    .. math::
        \\frac{d\\lambda}{ds} = \\frac{r}{\\sum_j\\varphi'(\\nu_j)\\,(Z^\\top r)_j^2},\\qquad
        r_i = \\frac{-\\ell'(z_i^\\top\\theta)}{n\\L},\\quad \\nu = Z^\\top\\lambda,

    and :math:`r_i` is computed from logs (for the exponential loss :math:`r = \\operatorname{softmax}(-Z\\theta)`):
    no quantity of the size of :math:`\\L` or of the time appears, so :math:`s` may run to :math:`10^4`
    (:math:`\\L = 10^{-4343}`) and beyond. Integrated by ``solve_ivp`` (BDF, an implicit method: the system is
    mildly stiff) with the exact Jacobian.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,), labels in {-1, +1}
    alpha : float
        Initialization scale (unused for ``depth = 1``).
    depth : int
        1, 2, 3 or 4.
    s_eval : array_like, shape (T,)
        Increasing values of :math:`\\log(1/\\L)` at which to record. The flow starts at :math:`\\theta = 0`, where
        :math:`s = 0` (exponential) or :math:`-\\log\\log 2` (logistic); every value must exceed it.
    loss : {"exponential", "logistic"}
    rtol, atol : float
        Tolerances of the integrator on :math:`\\lambda`.

    Returns
    -------
    LogLossFlow

    Raises
    ------
    ValueError
        If the data are not linearly separable through the origin (checked by a linear program): then the
        loss has a positive minimum and the clock cannot run.
    """
    Z = _signed_inputs(X, y)
    alpha = check_positive("alpha", alpha)
    check_choice("loss", loss, LOSSES)
    dual_map(0.0, alpha, depth)                      # validates depth
    s_eval = as_array("s_eval", s_eval, ndim=1)
    s0 = 0.0 if loss == "exponential" else -np.log(np.log(2.0))
    if np.any(s_eval <= s0) or np.any(np.diff(s_eval) <= 0):
        raise ValueError(f"s_eval must be strictly increasing and above {s0:.6g}, the value of s = log(1/loss) "
                         f"at theta = 0")
    l1_max_margin(X, y)             # raises ValueError unless separable: else s = log(1/loss) stays bounded

    rhs, jac = _vector_field(Z, alpha, depth, loss)
    sol = solve_ivp(rhs, (s0, float(s_eval[-1])), np.zeros(Z.shape[0]), method="BDF", t_eval=s_eval,
                    jac=jac, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"log_loss_flow: the integrator failed: {sol.message}")
    lam = sol.y.T
    theta = dual_map(lam @ Z, alpha, depth)[0]
    return LogLossFlow(s=sol.t, lam=lam, theta=theta,
                       stats={"nfev": sol.nfev, "njev": sol.njev, "nlu": sol.nlu})


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
