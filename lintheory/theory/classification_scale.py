"""Initialization scale against training accuracy in diagonal-network classification (section 2d).

Setting: the diagonal network :math:`\\theta = v_1\\odot\\cdots\\odot v_L` from :math:`v_l(0) = \\alpha\\mathbf 1`
(:math:`l < L`), :math:`v_L(0) = 0`, trained by gradient flow on the exponential loss
:math:`\\L(\\theta) = \\frac1n\\sum_i e^{-z_i^\\top\\theta}` with :math:`z_i = y_ix_i`. Everything here was derived
for this course from the mirror-flow form of chapter 3 (Yun, Krishnan, Mobahi 2021): with
:math:`\\nu(t) = -\\int_0^t\\nabla\\L` one has :math:`\\theta = \\varphi_{\\alpha,L}(\\nu)` coordinatewise. The
question of Moroshko et al. (2020), which direction :math:`\\theta/\\|\\theta\\|` is reached at a given
training loss :math:`\\varepsilon`, reduces by the scaling :math:`Q_\\alpha(\\theta) = \\alpha^2Q_1(\\theta/\\alpha^L)` to
one curve :math:`c\\mapsto b(c)` per data set and depth, with :math:`c = \\gamma/\\alpha^L` the margin in units of
:math:`\\alpha^L`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq, linprog
from scipy.special import logsumexp

from .._validation import as_array, check_int, check_positive
from ..metrics import angle
from .max_margin import _signed_inputs, l1_max_margin, l2_max_margin

__all__ = ["dual_map", "potential_direction", "potential_angles", "transition_constant",
           "predicted_log_inv_loss", "orthogonal_log_time", "l1_approach_exponent",
           "lp_at_unit_margin"]

DEPTHS = (1, 2, 3, 4)
"""Depths with closed-form dual maps (``1``: a linear model trained from 0)."""


def _depth(L: Any) -> int:
    L = check_int("L", L, minimum=1)
    if L not in DEPTHS:
        raise ValueError(f"L must be one of {DEPTHS} (closed-form dual maps), got {L}")
    return L


def dual_map(nu: Any, alpha: float, L: int, *, second: bool = False) -> tuple[np.ndarray, ...]:
    """:math:`\\theta = \\varphi_{\\alpha,L}(\\nu)` and its derivative, coordinatewise (derived in this course).

    Gradient flow on any loss of :math:`\\theta` for the diagonal network started at
    :math:`v_l = \\alpha` (:math:`l < L`), :math:`v_L = 0` keeps :math:`\\theta(t) = \\varphi(\\nu(t))` with
    :math:`\\nu(t) = -\\int_0^t\\nabla_\\theta\\L\\,dt`, where

    .. math::
        \\varphi(\\nu) = \\alpha^Lh_L(\\alpha^{L-2}\\nu),\\qquad
        \\varphi'(\\nu) = \\alpha^{2L-2}(1+s^2)^{L-2}(1+Ls^2),\\qquad \\tau_L(s) = \\alpha^{L-2}\\nu,

    with :math:`h_L(\\tau) = s(1+s^2)^{(L-1)/2}` (``lintheory.theory.h_L``): :math:`s = \\sinh\\tau` for
    :math:`L = 2`, :math:`\\tan\\tau` for :math:`L = 3`, :math:`\\tau/\\sqrt{1-\\tau^2}` for :math:`L = 4`
    (chapter 3). ``L = 1`` is a linear model trained from 0: :math:`\\varphi(\\nu) = \\nu` (``alpha`` unused).
    :math:`\\varphi'` is :math:`1/\\nabla^2Q_\\alpha` of chapter 3's potential.

    Parameters
    ----------
    nu : array_like
    alpha : float
        Initialization scale, positive.
    L : int
        Depth, one of 1, 2, 3, 4.
    second : bool, default False
        Also return :math:`\\varphi''(\\nu) = \\alpha^{3L-4}(1+s^2)^{(L-1)/2}\\,2s(1+s^2)^{L-3}[(L-2)(1+Ls^2) +
        L(1+s^2)]` (for the Jacobian of the flow).

    Returns
    -------
    theta, dtheta[, d2theta] : ndarray, like ``nu``
        For ``L = 3, 4`` the map is defined for :math:`|\\alpha^{L-2}\\nu| < \\pi/2` resp. ``1``; outside it
        returns ``inf`` (the flow never gets there: :math:`\\theta` would be infinite).
    """
    L, alpha = _depth(L), check_positive("alpha", alpha)
    nu = np.asarray(nu, dtype=float)
    if L == 1:
        return (nu.copy(), np.ones_like(nu)) + ((np.zeros_like(nu),) if second else ())
    tau = alpha ** (L - 2) * nu
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if L == 2:
            s = np.sinh(tau)
        elif L == 3:
            s = np.where(np.abs(tau) < np.pi / 2, np.tan(tau), np.sign(tau) * np.inf)
        else:
            s = np.where(np.abs(tau) < 1, tau / np.sqrt(np.abs(1 - tau * tau)), np.sign(tau) * np.inf)
        q = 1.0 + s * s
        theta = alpha ** L * s * q ** ((L - 1) / 2)
        dtheta = alpha ** (2 * L - 2) * q ** (L - 2) * (1.0 + L * s * s)
        if not second:
            return theta, dtheta
        d2theta = (alpha ** (3 * L - 4) * q ** ((L - 1) / 2) * 2 * s * q ** (L - 3)
                   * ((L - 2) * (1.0 + L * s * s) + L * q))
    return theta, dtheta, d2theta


def _conjugate(tau: np.ndarray, L: int) -> np.ndarray:
    """:math:`\\sum_jH_L^*(\\tau_j)`, :math:`H_L^* = \\int_0^\\tau h_L`: :math:`(\\cosh2\\tau - 1)/4`, :math:`\\tan^2\\tau/2`,
    :math:`\\tau^2/(2(1-\\tau^2))` for ``L = 2, 3, 4`` (``inf`` outside the domain)."""
    with np.errstate(over="ignore", divide="ignore"):
        if L == 2:
            val = (np.cosh(2 * tau) - 1) / 4
        elif L == 3:
            val = np.where(np.abs(tau) < np.pi / 2, np.tan(tau) ** 2 / 2, np.inf)
        else:
            val = np.where(np.abs(tau) < 1, tau * tau / (2 * np.abs(1 - tau * tau)), np.inf)
    return float(np.sum(val))


def _projected_search(F: Any, lam: np.ndarray, f: float, g: np.ndarray, direction: np.ndarray
                       ) -> tuple[np.ndarray, float]:
    """Backtracking (Armijo) along the projection of ``lam + t * direction`` on :math:`\\lambda \\ge 0`."""
    t = 1.0
    while t > 1e-14:
        new = np.maximum(lam + t * direction, 0.0)
        f_new = F(new)
        if f_new <= f + 1e-4 * g @ (new - lam):
            return new, f_new
        t *= 0.5
    return lam, f


def potential_direction(X: Any, y: Any, c: float, L: int, *, tol: float = 1e-10,
                        max_iter: int = 500) -> np.ndarray:
    """:math:`b(c) = \\arg\\min_b Q_{L,1}(b)` s.t. :math:`y_ix_i^\\top b \\ge c` for all ``i`` (derived in this course).

    :math:`Q_{L,1}` is chapter 3's potential at scale 1 (``lintheory.theory.Q(b, 1, L)``). By
    :math:`Q_{L,\\alpha}(\\theta) = \\alpha^2Q_{L,1}(\\theta/\\alpha^L)`, the minimiser of :math:`Q_{L,\\alpha}` under the
    margin constraints :math:`y_ix_i^\\top\\theta \\ge \\gamma` is :math:`\\alpha^Lb(\\gamma/\\alpha^L)`. As
    :math:`c\\to 0`, :math:`b(c)/c` tends to the :math:`\\ell_2` max-margin solution (:math:`Q\\approx\\frac12\\|b\\|^2`
    near 0); as :math:`c\\to\\infty` the direction of :math:`b(c)` tends to the :math:`\\ell_1` max-margin one when that
    is unique (the leading term of :math:`Q` at infinity is :math:`\\frac12|b|\\log|b|` for ``L = 2`` and
    :math:`\\tau_L^*|b|` for ``L > 2``).

    Solved through the dual: :math:`\\lambda = \\arg\\min_{\\lambda\\ge0}\\sum_jH_L^*((Z^\\top\\lambda)_j) - c\\mathbf 1^\\top\\lambda`
    with :math:`Z = \\operatorname{diag}(y)X`, by projected Newton steps (free set: :math:`\\lambda_i > 0` or a negative
    gradient) with backtracking, then :math:`b = \\varphi_{1,L}(Z^\\top\\lambda)` (:func:`dual_map`): the KKT
    conditions of the primal.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,), labels in {-1, +1}
    c : float
        Margin level, positive.
    L : int
        Depth, one of 2, 3, 4.
    tol : float
        Stop when the projected gradient (the constraint violation and slack-weighted multipliers) is below
        ``tol * c``.
    max_iter : int

    Returns
    -------
    ndarray, shape (d,)

    Raises
    ------
    RuntimeError
        If the projected Newton iteration does not converge. On unit-norm data this happens beyond about
        :math:`c = 10^{14}` (``L = 2``) and :math:`10^{13}` (``L = 3``): there the dual objective is of size
        :math:`c\\log c` and its round-off stops the line search before the tolerance is met.
    """
    Z = _signed_inputs(X, y)
    c = check_positive("c", c)
    L = _depth(L)
    if L == 1:
        raise ValueError("L must be at least 2: the depth-1 potential is 1/2 |b|^2 at every scale")
    lam = np.zeros(Z.shape[0])
    F = lambda lam: _conjugate(Z.T @ lam, L) - c * lam.sum()
    f = F(lam)
    for _ in range(max_iter):
        b, db = dual_map(Z.T @ lam, 1.0, L)
        g = Z @ b - c
        pg = np.where(lam > 0, g, np.minimum(g, 0.0))
        if np.max(np.abs(pg)) <= tol * c:
            return b
        free = (lam > 0) | (g < 0)
        H = (Z[free] * db) @ Z[free].T
        newton = np.zeros_like(lam)
        newton[free] = -np.linalg.solve(H + 1e-14 * np.trace(H) * np.eye(H.shape[0]), g[free])
        if -g @ newton <= 1e-10 * max(abs(f), 1.0):      # pure Newton phase: F's decrease is below round-off
            lam = np.maximum(lam + newton, 0.0)
            f = F(lam)
            continue
        diag = np.einsum("nj,j,nj->n", Z, db, Z)
        for direction in (newton, -g / diag):           # Newton; if it stalls, a scaled gradient step
            new, f_new = _projected_search(F, lam, f, g, direction)
            if f_new < f:
                break
        else:                                            # round-off floor of F: accept if nearly optimal
            if np.max(np.abs(pg)) <= 1e3 * tol * c:
                return b
            break
        lam, f = new, f_new
    raise RuntimeError(f"potential_direction: projected Newton did not converge at c = {c:g}")


def _max_margins(X: Any, y: Any, _cache: dict = {}) -> tuple[np.ndarray, np.ndarray]:
    key = (np.asarray(X, dtype=float).tobytes(), np.asarray(y, dtype=float).tobytes())
    if key not in _cache:
        _cache.clear()
        _cache[key] = l2_max_margin(X, y), l1_max_margin(X, y)
    return _cache[key]


def potential_angles(X: Any, y: Any, cs: Any, L: int) -> tuple[np.ndarray, np.ndarray]:
    """Angles (radians) of :math:`b(c)` (:func:`potential_direction`) to the :math:`\\ell_2` and :math:`\\ell_1` max-margin
    solutions, for each margin level in ``cs``.

    Returns
    -------
    to_l2, to_l1 : ndarray, shape (len(cs),)
    """
    cs = as_array("cs", cs, ndim=1)
    w2, w1 = _max_margins(X, y)
    b = np.array([potential_direction(X, y, c, L) for c in cs])
    return angle(b, w2, core_ndim=1), angle(b, w1, core_ndim=1)


def transition_constant(X: Any, y: Any, L: int, *, bracket: tuple[float, float] = (1e-3, 1e5)) -> float:
    """The margin level :math:`c^*` at which :math:`b(c)` is as far from the :math:`\\ell_2` as from the :math:`\\ell_1`
    max-margin direction (derived in this course; root of the angle difference in :math:`\\log c`).

    At scale :math:`\\alpha` the predicted transition is at margin :math:`\\gamma^* = c^*\\alpha^L`, i.e. at the
    training loss of :func:`predicted_log_inv_loss`: :math:`\\log(1/\\varepsilon^*)` grows like :math:`\\alpha^L`.

    Raises
    ------
    ValueError
        If the angle difference does not change sign on ``bracket``.
    """
    gap = lambda logc: np.subtract(*potential_angles(X, y, [np.exp(logc)], L))[0]
    lo, hi = np.log(bracket[0]), np.log(bracket[1])
    if gap(lo) * gap(hi) > 0:
        raise ValueError(f"the angles to the l2 and l1 max-margin directions do not cross on c in {bracket}")
    return float(np.exp(brentq(gap, lo, hi, xtol=1e-10)))


def predicted_log_inv_loss(X: Any, y: Any, alpha: float, L: int, c: float) -> float:
    """:math:`\\log(1/\\varepsilon)` of the predictor :math:`\\alpha^Lb(c)`, with :math:`\\varepsilon = \\frac1n\\sum_i
    e^{-\\alpha^Ly_ix_i^\\top b(c)}` computed as a log-sum-exp (never formed as a float).

    This is the training loss at which the approximation :math:`\\theta\\approx\\alpha^Lb(\\gamma/\\alpha^L)` puts
    the flow at margin level :math:`c`; it is :math:`c\\alpha^L` up to :math:`\\log n` and the support vectors' count.
    """
    Z = _signed_inputs(X, y)
    alpha = check_positive("alpha", alpha)
    m = alpha ** _depth(L) * (Z @ potential_direction(X, y, c, L))
    return float(np.log(Z.shape[0]) - logsumexp(-m))


def orthogonal_log_time(scales: Any, lam: Any, alpha: float, L: int) -> np.ndarray:
    """:math:`\\log t` at which the flow on orthogonal data reaches the dual variables ``lam`` (exact, by quadrature).

    With :math:`n = d` samples :math:`z_i = c_ie_i` (``scales`` = :math:`c_i > 0`) and the mean exponential loss, the
    coordinates decouple: :math:`\\dot\\lambda_i = e^{-c_i\\varphi(c_i\\lambda_i)}/n` with :math:`\\varphi` = :func:`dual_map`,
    so :math:`t = n\\int_0^{\\lambda_i}e^{c_i\\varphi(c_ik)}dk` for every :math:`i`. Returned in the log domain,
    :math:`\\log t = \\log n + f(\\lambda_i) + \\log\\int_0^{\\lambda_i}e^{f(k)-f(\\lambda_i)}dk`, :math:`f = c_i\\varphi(c_i\\,\\cdot)`,
    so it holds for times far beyond the largest float (the integral is cut where :math:`f` is 100 below its
    top, an :math:`e^{-100}` relative error). Derived in this course.

    Parameters
    ----------
    scales : array_like, shape (n,)
    lam : array_like, shape (n,)
        Non-negative dual variables, one per sample.

    Returns
    -------
    ndarray, shape (n,)
        One :math:`\\log t` per sample: along an exact solution they are all equal.
    """
    scales = as_array("scales", scales, ndim=1)
    lam = as_array("lam", lam, ndim=1)
    if lam.shape != scales.shape or np.any(scales <= 0) or np.any(lam <= 0):
        raise ValueError("scales and lam must be positive arrays of the same shape")
    n = scales.size
    out = np.empty(n)
    for i, (c, k) in enumerate(zip(scales, lam)):
        f = lambda u: c * dual_map(c * u, alpha, L)[0]
        top = f(k)
        # f increases: the integrand is e^-w at the point u_w where f(u_w) = top - w; below u_100 it is < e^-100
        cuts = [brentq(lambda u: f(u) - (top - w), 0.0, k, xtol=1e-15 * k) if top - f(0.0) > w else 0.0
                for w in (100.0, 30.0, 10.0, 3.0, 1.0)] + [k]
        integral = sum(quad(lambda u: np.exp(f(u) - top), a, b, epsabs=0.0, epsrel=1e-10, limit=200)[0]
                       for a, b in zip(cuts[:-1], cuts[1:]) if b > a)
        out[i] = np.log(n) + top + np.log(integral)
    return out


def l1_approach_exponent(X: Any, y: Any) -> float:
    """:math:`\\rho = 1 - \\max_{j\\notin S}|(Z^\\top\\mu)_j|`, the slack of the dual certificate of the :math:`\\ell_1`
    max-margin problem off its support :math:`S` (derived in this course, as a heuristic).

    :math:`\\mu = \\arg\\max\\{\\mathbf 1^\\top\\mu : \\mu\\ge0,\\ \\|Z^\\top\\mu\\|_\\infty\\le1\\}` is the dual of
    :math:`\\min\\{\\|w\\|_1 : Zw\\ge\\mathbf 1\\}` (a linear program, HiGHS), and :math:`S` the support of
    :func:`lintheory.theory.l1_max_margin`. For ``L = 2``, :math:`b(c) = \\varphi_{1,2}(Z^\\top\\lambda)` with
    :math:`\\varphi_{1,2}(\\nu) = \\frac12\\sinh2\\nu\\approx\\frac14\\operatorname{sign}(\\nu)e^{2|\\nu|}`; on the support
    :math:`|b_j|\\sim c` forces :math:`\\lambda\\approx\\frac12\\log c\\,\\mu`, so off the support
    :math:`|b_j|/c\\sim\\frac14c^{-(1-|(Z^\\top\\mu)_j|)}`: the angle of :math:`b(c)` (:func:`potential_direction`)
    to the :math:`\\ell_1` max-margin direction decays like :math:`c^{-\\rho}`, slowly when :math:`\\rho` is small.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,), labels in {-1, +1}

    Returns
    -------
    float
        :math:`\\rho` in :math:`[0, 1]`; ``1.0`` if the :math:`\\ell_1` solution has full support.
    """
    Z = _signed_inputs(X, y)
    n, d = Z.shape
    w1 = _max_margins(X, y)[1]
    res = linprog(-np.ones(n), A_ub=np.vstack([Z.T, -Z.T]), b_ub=np.ones(2 * d), bounds=(0, None), method="highs")
    if not res.success:
        raise RuntimeError(f"l1_approach_exponent: linprog failed: {res.message}")
    off = np.abs(w1) <= 1e-9 * np.max(np.abs(w1))
    return float(1.0 - np.max(np.abs(Z.T @ res.x)[off])) if np.any(off) else 1.0


def lp_at_unit_margin(X: Any, y: Any, theta: Any, p: float) -> np.ndarray:
    r""":math:`\sum_j|\theta_j/\gamma|^p` with :math:`\gamma = \min_iy_ix_i^\top\theta`: the :math:`\ell_p` objective
    (:math:`p = 2/L`: chapter 3's :math:`\ell_{2/L}` max-margin problem) of the direction of ``theta`` scaled to
    unit minimum margin (batched over leading axes of ``theta``; ``inf`` where the margin is not positive).
    """
    Z = _signed_inputs(X, y)
    p = check_positive("p", p)
    theta = np.asarray(theta, dtype=float)
    gamma = np.min(theta @ Z.T, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        val = np.sum(np.abs(theta / gamma[..., None]) ** p, axis=-1)
    return np.where(gamma > 0, val, np.inf)
