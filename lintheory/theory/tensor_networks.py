"""Implicit bias of linear tensor networks (Yun, Krishnan, Mobahi 2021): the norm-like function Q.

For an orthogonally decomposable network started at :math:`c_{l,j}(0) = \\bar\\alpha_j` (``l < L``),
:math:`c_{L,j}(0) = 0`, gradient flow on the squared loss converges to
:math:`\\arg\\min Q_{L,\\bar\\alpha}(\\rho)` subject to :math:`XS^\\top\\rho = y`. The closed forms below were
derived for this course (the paper's integral form, made explicit) and checked against gradient flow.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linprog, nnls

from .._validation import as_array, as_generator, check_int

__all__ = ["tau_L", "tau_star", "s_of_t", "h_L", "H_L", "Q", "argmin_Q", "woodworth_q",
           "l1_interpolator", "lp_kkt_residual", "Q_grad", "Q_hess", "l1_margin_gap",
           "lp_stationary_points", "unfolding_commutator", "Q_bregman", "transformed_l1_max_margin",
           "tensor_singular_values"]


def _depth(L: Any) -> int:
    return check_int("L", L, minimum=2)


def tau_L(s: Any, L: int) -> np.ndarray:
    """:math:`\\tau_L(s) = \\int_0^s (1+u^2)^{-(L-1)/2}du` (derived here).

    Computed exactly with :math:`u = \\tan\\phi`: :math:`\\tau_L = I_{L-3}(\\arctan s)`,
    :math:`I_m(\\theta) = \\int_0^\\theta\\cos^m\\phi\\,d\\phi`, by the recursion
    :math:`I_m = \\cos^{m-1}\\theta\\sin\\theta/m + \\tfrac{m-1}{m}I_{m-2}`, :math:`I_{-1} = \\operatorname{arcsinh}s`,
    :math:`I_0 = \\arctan s`. So :math:`\\tau_2 = \\operatorname{arcsinh}`, :math:`\\tau_3 = \\arctan`,
    :math:`\\tau_4(s) = s/\\sqrt{1+s^2}`.
    """
    L = _depth(L)
    s = np.asarray(s, dtype=float)
    r = np.hypot(1.0, s)
    c, sn = 1.0 / r, np.where(np.isinf(s), np.sign(s), s / np.where(np.isinf(r), 1.0, r))
    m = L - 3
    I_prev = np.arcsinh(s) if m % 2 else np.arctan(s)     # I_{-1} or I_0
    for k in range(1 if m % 2 else 2, m + 1, 2):
        I_prev = c ** (k - 1) * sn / k + ((k - 1) / k * I_prev if k > 1 else 0.0)
    return I_prev


def tau_star(L: int) -> float:
    """:math:`\\tau_L^* = \\lim_{s\\to\\infty}\\tau_L(s) = \\tfrac{\\sqrt\\pi}{2}\\Gamma(\\tfrac{L-2}{2})/\\Gamma(\\tfrac{L-1}{2})`; infinite for ``L = 2``."""
    L = _depth(L)
    return float(np.inf if L == 2 else tau_L(np.inf, L))


def s_of_t(t: Any, L: int) -> np.ndarray:
    """The solution :math:`s` of :math:`s(1+s^2)^{(L-1)/2} = t` (derived here).

    Newton's method from :math:`\\min(|t|, |t|^{1/L})`, an upper bound of the root of this convex
    increasing function on :math:`s \\ge 0`, so the iterates decrease monotonically to the root.
    """
    L = _depth(L)
    t = np.asarray(t, dtype=float)
    if not np.all(np.isfinite(t)):
        raise ValueError(f"t must be finite, got {t!r}")
    a = np.abs(t)
    s = np.minimum(a, a ** (1.0 / L))
    for _ in range(200):
        q = 1.0 + s * s
        step = (s * q ** ((L - 1) / 2) - a) / (q ** ((L - 3) / 2) * (1.0 + L * s * s))
        s = np.maximum(s - step, 0.0)
        if np.all(np.abs(step) <= 1e-15 * np.maximum(s, 1e-300)):
            break
    return np.sign(t) * s


def h_L(tau: Any, L: int) -> np.ndarray:
    """:math:`h_L(\\tau) = s(1+s^2)^{(L-1)/2}` with :math:`s = \\tau_L^{-1}(\\tau)`, for :math:`|\\tau| < \\tau_L^*`.

    The solution of the scalar dynamics (derived here): :math:`h_2(\\tau) = \\tfrac12\\sinh 2\\tau`,
    :math:`h_3(\\tau) = \\tan\\tau\\sec^2\\tau`, :math:`h_4(\\tau) = \\tau/(1-\\tau^2)^2`. General ``L``:
    :math:`\\tau_L` inverted by bisection.
    """
    L = _depth(L)
    tau = np.asarray(tau, dtype=float)
    if np.any(np.abs(tau) >= tau_star(L)):
        raise ValueError(f"tau must satisfy |tau| < tau_star(L) = {tau_star(L):.6g}")
    a = np.abs(tau)
    lo, hi = np.zeros_like(a), np.maximum(np.sinh(a), 1.0)
    while np.any(tau_L(hi, L) < a):
        hi = np.where(tau_L(hi, L) < a, 2 * hi, hi)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        below = tau_L(mid, L) < a
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    s = np.sign(tau) * 0.5 * (lo + hi)
    return s * (1.0 + s * s) ** ((L - 1) / 2)


def H_L(t: Any, L: int) -> np.ndarray:
    """:math:`H_L(t) = \\int_0^t h_L^{-1}(u)du = t\\,\\tau_L(s_t) - s_t^2/2` with :math:`s_t` = ``s_of_t(t, L)``.

    Derived here by integration by parts; :math:`H_2(t) = q(4t)/8` with Woodworth et al.'s ``q``.
    """
    s = s_of_t(t, L)
    return np.asarray(t, dtype=float) * tau_L(s, L) - 0.5 * s * s


def woodworth_q(z: Any) -> np.ndarray:
    """Woodworth et al. (2020)'s potential :math:`q(z) = 2 - \\sqrt{4+z^2} + z\\operatorname{arcsinh}(z/2)`."""
    z = np.asarray(z, dtype=float)
    return 2.0 - np.sqrt(4.0 + z * z) + z * np.arcsinh(z / 2.0)


def _alpha(alpha: Any, m: int) -> np.ndarray:
    a = np.broadcast_to(np.asarray(alpha, dtype=float), (m,)).copy()
    if np.any(~np.isfinite(a)) or np.any(a <= 0):
        raise ValueError("alpha must be positive and finite")
    return a


def Q(rho: Any, alpha: Any, L: int) -> np.ndarray:
    """The norm-like function :math:`Q_{L,\\bar\\alpha}(\\rho) = \\sum_j\\bar\\alpha_j^2H_L(\\rho_j/\\bar\\alpha_j^L)`.

    Yun, Krishnan, Mobahi (2021), Theorem on odeco regression (form); closed form derived here.

    Parameters
    ----------
    rho : array_like, shape (..., m)
    alpha : float or array_like, shape (m,)
        The initialisation :math:`\\bar\\alpha_j > 0`.
    L : int
        Depth, at least 2.
    """
    rho = np.asarray(rho, dtype=float)
    a = _alpha(alpha, rho.shape[-1])
    return np.sum(a ** 2 * H_L(rho / a ** L, L), axis=-1)


def _q_derivatives(rho: np.ndarray, a: np.ndarray, L: int) -> tuple[np.ndarray, np.ndarray]:
    s = s_of_t(rho / a ** L, L)
    grad = a ** (2 - L) * tau_L(s, L)
    hess = a ** (2 - 2 * L) / ((1 + s * s) ** (L - 2) * (1 + L * s * s))
    return grad, hess


def argmin_Q(A: Any, y: Any, alpha: Any, L: int, *, tol: float = 1e-10, max_iter: int = 500) -> np.ndarray:
    """:math:`\\arg\\min_\\rho Q_{L,\\bar\\alpha}(\\rho)` s.t. :math:`A\\rho = y`, by equality-constrained Newton.

    From the min-norm feasible point, each step solves
    :math:`(AD A^\\top)\\lambda = -ADg`, :math:`\\Delta = -D(g + A^\\top\\lambda)` with
    :math:`D = (\\nabla^2Q)^{-1}` (diagonal), which stays well conditioned when :math:`\\nabla^2 Q` spans
    many orders of magnitude, followed by a backtracking line search on :math:`Q` (convex).
    The derivatives are :math:`\\partial_jQ = \\bar\\alpha_j^{2-L}\\tau_L(s_j)`,
    :math:`\\partial_j^2Q = \\bar\\alpha_j^{2-2L}/[(1+s_j^2)^{L-2}(1+Ls_j^2)]` (derived here).

    Parameters
    ----------
    A : array_like, shape (n, m)
        The constraint matrix (``X @ S.T``; ``X`` for diagonal networks).
    y : array_like, shape (n,)
    alpha : float or array_like, shape (m,)
    L : int
        Depth, at least 2.

    tol : float
        Stop after a full Newton step smaller than ``tol * (1 + max|rho|)`` (the next one would be of
        order its square: the result is accurate to round-off).
    max_iter : int

    Returns
    -------
    ndarray, shape (m,)
    """
    A, y = as_array("A", A, ndim=2), as_array("y", y, ndim=1)
    if y.shape[0] != A.shape[0]:
        raise ValueError(f"y must have {A.shape[0]} entries (rows of A), got {y.shape[0]}")
    L = _depth(L)
    a = _alpha(alpha, A.shape[1])
    rho = np.linalg.lstsq(A, y, rcond=None)[0]
    if np.linalg.norm(A @ rho - y) > 1e-8 * (1.0 + np.linalg.norm(y)):
        raise ValueError("A rho = y has no solution: y is not in the range of A (the constraint must be "
                         "consistent, e.g. A of full row rank)")
    f, stalled = float(Q(rho, a, L)), 0
    for _ in range(max_iter):
        g, h = _q_derivatives(rho, a, L)
        D = 1.0 / h
        M = (A * D) @ A.T
        delta = -D * (g + A.T @ np.linalg.lstsq(M, -(A * D) @ g, rcond=None)[0])
        decrement = float(-g @ delta)
        step, f_new = 1.0, f
        if decrement > 1e-9 * max(abs(f), 1e-300):          # damped phase: backtracking on Q
            while step > 1e-12:
                f_new = float(Q(rho + step * delta, a, L))
                if f_new <= f - 0.25 * step * decrement:
                    break
                step *= 0.5
        new = rho + step * delta
        new += D * (A.T @ np.linalg.lstsq(M, y - A @ new, rcond=None)[0])   # feasible, in Q's metric
        if step == 1.0 and np.max(np.abs(delta)) <= tol * (1.0 + np.max(np.abs(rho))):
            return new
        f_new = float(Q(new, a, L))
        stalled = stalled + 1 if f_new >= f - 1e-14 * abs(f) else 0        # round-off floor of Q
        if f_new <= f:
            rho, f = new, f_new
        if stalled >= 10:
            break
    return rho


def l1_interpolator(A: Any, y: Any, weights: Any = None) -> np.ndarray:
    """:math:`\\arg\\min \\sum_j w_j|\\rho_j|` s.t. :math:`A\\rho = y`, a linear program (HiGHS).

    The limit of :math:`\\arg\\min Q_{L,\\alpha}` as :math:`\\alpha \\to 0` (weights
    :math:`\\bar\\alpha_j^{2-L}`; for ``L = 2`` up to a logarithm).
    """
    A, y = as_array("A", A, ndim=2), as_array("y", y, ndim=1)
    m = A.shape[1]
    w = np.ones(m) if weights is None else np.broadcast_to(np.asarray(weights, dtype=float), (m,))
    res = linprog(np.concatenate([w, w]), A_eq=np.hstack([A, -A]), b_eq=y, bounds=(0, None), method="highs")
    if not res.success:
        raise ValueError(f"l1_interpolator: no solution of A rho = y ({res.message})")
    return res.x[:m] - res.x[m:]


def lp_kkt_residual(X: Any, y: Any, beta: Any, L: int, *, transform: Any = None,
                    support_tol: float = 1e-3, active_tol: float = 1.0) -> float:
    """KKT residual of :math:`\\min\\sum_j|[T\\beta]_j|^{2/L}` s.t. :math:`y_ix_i^\\top\\beta \\ge 1` (Gunasekar et al. 2018b).

    With :math:`\\hat\\beta = \\beta/\\min_i y_ix_i^\\top\\beta`, :math:`z = T\\hat\\beta` and support
    :math:`J = \\{j: |z_j| > \\text{support\\_tol}\\,\\max|z|\\}`, stationarity asks for :math:`\\mu \\ge 0`
    with :math:`P\\nabla\\Phi(\\hat\\beta) \\propto P\\sum_i\\mu_iy_ix_i` and complementary slackness
    :math:`\\mu_i(y_ix_i^\\top\\hat\\beta - 1) = 0`, where
    :math:`\\nabla\\Phi = \\tfrac2L\\operatorname{Re}\\,T_J^{H}(|z_J|^{2/L-2}z_J)` and :math:`P` projects on the
    directions keeping :math:`z_{J^c} = 0`. Returns the NNLS residual
    :math:`\\min_{\\mu\\ge0}\\big(\\|P\\nabla\\Phi/\\|P\\nabla\\Phi\\| - PZ^\\top\\mu\\|^2 + \\sum_i\\mu_i^2s_i^2/c^2\\big)^{1/2}`
    with slacks :math:`s_i = y_ix_i^\\top\\hat\\beta - 1` and :math:`c` = ``active_tol``; it is 0 at a KKT point.
    Zero coordinates of :math:`z` are held at zero (the stationarity notion of the non-convex case
    :math:`2/L < 1`; for ``L <= 2`` only stationarity on the support is checked).
    ``L = 1`` gives the :math:`\\ell_2` (SVM) problem, ``L = 2`` with ``T = I`` the :math:`\\ell_1` one.
    For the convex :math:`\\ell_1` case, :func:`l1_margin_gap` is the exact test (it also checks the
    off-support condition :math:`|(Z^\\top\\mu)_j| \\le 1` and needs no support threshold).

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,), labels in {-1, +1}
    beta : array_like, shape (d,)
        A predictor with positive margin.
    L : int
        Depth (exponent :math:`2/L`).
    transform : array_like, shape (m, d), optional
        ``T`` (real or complex), the map :math:`\\rho = T\\beta` to the penalized coordinates; default the identity.
        Chapter 3 writes :math:`\\theta = G^\\top\\rho` instead, so pass :math:`T = G^{-\\top}`, which equals ``G``
        up to scale and conjugation only when ``G`` is orthogonal up to scale, as the identity and the DFT are
        (the DFT gives convolutional networks).
    """
    X, y, beta = as_array("X", X, ndim=2), as_array("y", y, ndim=1), as_array("beta", beta, ndim=1)
    L = check_int("L", L, minimum=1)
    Z = y[:, None] * X
    margin = float(np.min(Z @ beta))
    if margin <= 0:
        raise ValueError("beta must classify every sample correctly (positive margin)")
    b = beta / margin
    T = np.eye(b.size) if transform is None else np.asarray(transform)
    z = T @ b
    J = np.abs(z) > support_tol * np.max(np.abs(z))
    grad = (2.0 / L) * np.real(T[J].conj().T @ (np.abs(z[J]) ** (2.0 / L - 2) * z[J]))
    off = T[~J]
    C = np.vstack([off.real, off.imag]) if off.size else np.zeros((0, b.size))
    if C.shape[0]:
        _, sv, Vt = np.linalg.svd(C)
        N = Vt[int(np.sum(sv > 1e-10 * max(sv.max(), 1e-300))):].T
    else:
        N = np.eye(b.size)
    Pg, slack = N.T @ grad, Z @ b - 1.0
    lhs = np.vstack([N.T @ Z.T, np.diag(slack / active_tol)])
    return float(nnls(lhs, np.concatenate([Pg / np.linalg.norm(Pg), np.zeros(slack.size)]))[1])


# ---------------------------------------------------------------- additions (issue 14)
def Q_grad(rho: Any, alpha: Any, L: int) -> np.ndarray:
    """:math:`\\nabla Q_{L,\\bar\\alpha}(\\rho)_j = \\bar\\alpha_j^{2-L}\\tau_L(s_j)`, :math:`s_j(1+s_j^2)^{(L-1)/2} = \\rho_j/\\bar\\alpha_j^L`.

    The mirror map of the regression dynamics: along gradient flow from the initialization of the
    regression theorem, :math:`\\nabla Q(\\rho(t)) = -\\int_0^t\\nabla_\\rho\\mathcal L`, so
    :math:`\\rho` follows the mirror flow :math:`\\tfrac{d}{dt}\\nabla Q(\\rho) = -\\nabla_\\rho\\mathcal L`
    (derived in this course from Yun, Krishnan, Mobahi 2021).

    Parameters
    ----------
    rho : array_like, shape (..., m)
    alpha : float or array_like, shape (m,)
    L : int
        Depth, at least 2.
    """
    rho = np.asarray(rho, dtype=float)
    L = _depth(L)
    return _q_derivatives(rho, _alpha(alpha, rho.shape[-1]), L)[0]


def Q_hess(rho: Any, alpha: Any, L: int) -> np.ndarray:
    """The diagonal of :math:`\\nabla^2Q_{L,\\bar\\alpha}(\\rho)`: :math:`\\bar\\alpha_j^{2-2L}/[(1+s_j^2)^{L-2}(1+Ls_j^2)]`.

    Its inverse is the metric of the mirror flow, :math:`\\dot\\rho = -(\\nabla^2Q)^{-1}\\nabla_\\rho\\mathcal L`
    (derived in this course). Shapes as in :func:`Q_grad`.
    """
    rho = np.asarray(rho, dtype=float)
    L = _depth(L)
    return _q_derivatives(rho, _alpha(alpha, rho.shape[-1]), L)[1]


def l1_margin_gap(X: Any, y: Any, beta: Any, *, transform: Any = None) -> float:
    """Relative duality gap of the :math:`\\ell_1` max-margin problem at ``beta``: the exact
    :math:`\\varepsilon`-subdifferential KKT residual of the convex case.

    With :math:`Z = \\operatorname{diag}(y)X`, :math:`A = ZG^{-1}` (``G`` = ``transform``, default the
    identity; real and invertible) and :math:`\\hat\\rho = G\\beta/\\min_iy_ix_i^\\top\\beta`, the primal is
    :math:`\\min\\|\\rho\\|_1` s.t. :math:`A\\rho \\ge 1` and the dual
    :math:`D^* = \\max\\{\\mathbf 1^\\top\\mu : \\mu \\ge 0, \\|A^\\top\\mu\\|_\\infty \\le 1\\}` (an LP, HiGHS).
    For any dual-feasible :math:`\\mu`, :math:`g = A^\\top\\mu` lies in the
    :math:`\\varepsilon`-subdifferential of :math:`\\|\\cdot\\|_1` at :math:`\\hat\\rho` with
    :math:`\\varepsilon = \\|\\hat\\rho\\|_1 - \\langle g, \\hat\\rho\\rangle`, and the stationarity and
    complementary-slackness defects add up to :math:`\\|\\hat\\rho\\|_1 - \\mathbf 1^\\top\\mu`; the smallest
    total is the gap. Returned relative to :math:`D^*`:
    :math:`\\|\\hat\\rho\\|_1/D^* - 1 = \\gamma^*/\\gamma(\\beta) - 1 \\ge 0`, with
    :math:`\\gamma(\\beta) = \\min_iy_ix_i^\\top\\beta/\\|G\\beta\\|_1`; it is 0 exactly at the solutions and
    needs no support threshold (derived in this course; convex duality).

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,), labels in {-1, +1}
    beta : array_like, shape (d,)
        A predictor with positive margin.
    transform : array_like, shape (d, d), optional
        Real invertible ``G``, the map :math:`\\rho = G\\beta` to the penalized coordinates. Chapter 3 writes
        :math:`\\theta = G_{\\rm ch}^\\top\\rho` instead, so pass :math:`G_{\\rm ch}^{-\\top}`; the two agree up to
        scale only when :math:`G_{\\rm ch}` is orthogonal up to scale (the identity, all the chapter uses).

    Returns
    -------
    float
    """
    X, y, beta = as_array("X", X, ndim=2), as_array("y", y, ndim=1), as_array("beta", beta, ndim=1)
    if y.shape[0] != X.shape[0] or beta.shape[0] != X.shape[1]:
        raise ValueError(f"shapes do not match: X {X.shape}, y {y.shape}, beta {beta.shape}")
    G = np.eye(beta.size) if transform is None else as_array("transform", transform, ndim=2)
    if G.shape != (beta.size, beta.size) or np.iscomplexobj(G):
        raise ValueError(f"transform must be a real ({beta.size}, {beta.size}) matrix, got {G.shape}")
    Z = y[:, None] * X
    margin = float(np.min(Z @ beta))
    if margin <= 0:
        raise ValueError("beta must classify every sample correctly (positive margin)")
    A = np.linalg.solve(G.T, Z.T).T                        # A = Z G^{-1}
    n = A.shape[0]
    res = linprog(-np.ones(n), A_ub=np.vstack([A.T, -A.T]), b_ub=np.ones(2 * A.shape[1]),
                  bounds=(0, None), method="highs")
    if not res.success:
        raise ValueError(f"l1_margin_gap: the dual LP failed ({res.message}); are the data separable?")
    return float(np.abs(G @ beta).sum() / margin / -res.fun - 1.0)


def lp_stationary_points(X: Any, y: Any, L: int, *, transform: Any = None,
                         tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """The vertex KKT points of :math:`\\min\\|\\rho\\|_{2/L}` s.t. :math:`y_ix_i^\\top G^{-1}\\rho \\ge 1`, by enumeration.

    On each orthant :math:`\\sum_j|\\rho_j|^{2/L}` is concave for :math:`L \\ge 2`, so every local
    minimum is a vertex of the feasible polyhedron intersected with a coordinate face: a support
    :math:`J` and as many active constraints :math:`I` with :math:`A_{IJ}\\rho_J = \\mathbf 1` (derived in
    this course). Each feasible vertex is kept if it is first-order stationary: some :math:`\\mu \\ge 0`
    on its active constraints has :math:`A_{\\cdot J}^\\top\\mu = |\\rho_J|^{2/L-1}\\operatorname{sign}\\rho_J`
    (the convention of :func:`lp_kkt_residual`: zero coordinates stay zero). For ``L = 2`` (convex)
    the full subdifferential condition is imposed, :math:`|(A^\\top\\mu)_j| \\le 1` off the support too, so
    only the :math:`\\ell_1` max-margin vertices remain. Cost: all pairs of supports and active sets, so
    only for small ``n`` and ``d``.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,), labels in {-1, +1}
    L : int
        Depth, at least 2.
    transform : array_like, shape (d, d), optional
        Real invertible ``G`` (default the identity, diagonal networks), the map :math:`\\rho = G\\theta` to the
        penalized coordinates. Chapter 3 writes :math:`\\theta = G_{\\rm ch}^\\top\\rho` instead, so pass
        :math:`G_{\\rm ch}^{-\\top}`; the two agree up to scale only when :math:`G_{\\rm ch}` is orthogonal up to
        scale (the identity, all the chapter uses).
    tol : float
        Feasibility and stationarity tolerance.

    Returns
    -------
    points : ndarray, shape (k, d)
        The KKT points in :math:`\\beta = G^{-1}\\rho` coordinates (margin 1), sorted by objective.
    values : ndarray, shape (k,)
        :math:`\\|\\rho\\|_{2/L}` at each.
    """
    from itertools import combinations

    X, y = as_array("X", X, ndim=2), as_array("y", y, ndim=1)
    L = _depth(L)
    n, d = X.shape
    if y.shape[0] != n:
        raise ValueError(f"y must have {n} labels, got {y.shape[0]}")
    if n * d > 200:
        raise ValueError(f"lp_stationary_points enumerates vertices: n * d = {n * d} is too large (max 200)")
    G = np.eye(d) if transform is None else as_array("transform", transform, ndim=2)
    if G.shape != (d, d) or np.iscomplexobj(G):
        raise ValueError(f"transform must be a real ({d}, {d}) matrix, got {G.shape}")
    A = np.linalg.solve(G.T, (y[:, None] * X).T).T
    p = 2.0 / L
    found: list[np.ndarray] = []
    for k in range(1, d + 1):
        for J in combinations(range(d), k):
            for Ia in combinations(range(n), k):
                B = A[np.ix_(Ia, J)]
                if abs(np.linalg.det(B)) < 1e-12:
                    continue
                rho = np.zeros(d)
                rho[list(J)] = np.linalg.solve(B, np.ones(k))
                m = A @ rho
                if np.min(m) < 1 - tol:
                    continue
                active = np.flatnonzero(m < 1 + 1e-7)
                r = rho[list(J)]
                g = np.abs(r) ** (p - 1) * np.sign(r)
                if L == 2:                  # convex: also |(A^T mu)_j| <= 1 off the support (an LP)
                    off = [j for j in range(d) if j not in J]
                    Aa = A[active]
                    lp = linprog(np.zeros(active.size), A_eq=Aa[:, list(J)].T, b_eq=g,
                                 A_ub=np.vstack([Aa[:, off].T, -Aa[:, off].T]) if off else None,
                                 b_ub=np.ones(2 * len(off)) + tol if off else None,
                                 bounds=(0, None), method="highs")
                    ok = lp.status == 0
                else:
                    ok = nnls(A[np.ix_(active, J)].T, g)[1] <= tol * np.linalg.norm(g)
                if ok and not any(np.allclose(rho, f, atol=1e-9) for f in found):
                    found.append(rho)
    rhos = np.array(found).reshape(-1, d)
    values = np.sum(np.abs(rhos) ** p, axis=1) ** (1 / p)
    order = np.argsort(values)
    return np.linalg.solve(G, rhos[order].T).T, values[order]


def unfolding_commutator(network: Any, x: Any) -> float:
    """Relative commutator of two products of mode-1 unfoldings: 0 for orthogonally decomposable tensors.

    With :math:`M(x)` the ``k_1 x (k_2 \\cdots k_L)`` unfolding of the network's data tensor contracted with
    ``x``, and :math:`A = M(x_1)M(x_2)^\\top`, :math:`B = M(x_3)M(x_4)^\\top`, returns
    :math:`\\max|AB - BA| / (\\max|A|\\,\\max|B|)`. For an odeco tensor (real, or complex as for
    convolutions) every :math:`M(x)M(x')^\\top` is diagonal in one basis, so the products commute and the
    value is round-off; a clearly positive value certifies the tensor is not odeco (derived in this course).

    Parameters
    ----------
    network : TensorNetwork
        Any network with a ``tensor`` attribute of shape ``(d, k_1, ..., k_L)``.
    x : array_like, shape (4, d)
        The four inputs :math:`x_1, \\dots, x_4` (e.g. the first four samples).
    """
    tensor = getattr(network, "tensor", None)
    if tensor is None:
        raise TypeError(f"network must be a TensorNetwork (with a .tensor), got {type(network).__name__}")
    x = as_array("x", x, ndim=2)
    if x.shape != (4, tensor.shape[0]):
        raise ValueError(f"x must have shape (4, {tensor.shape[0]}): four inputs, got {x.shape}")
    unfold = [np.tensordot(xi, tensor, axes=1).reshape(tensor.shape[1], -1) for xi in x]
    A, B = unfold[0] @ unfold[1].T, unfold[2] @ unfold[3].T
    return float(np.abs(A @ B - B @ A).max() / (np.abs(A).max() * np.abs(B).max()))


# ---------------------------------------------------------------- Bregman divergence, convolutional max-margin, HOPM
def Q_bregman(rho_star: Any, rho: Any, alpha: Any, L: int) -> np.ndarray:
    """Bregman divergence of :math:`Q_{L,\\bar\\alpha}`: :math:`Q(\\rho^*) - Q(\\rho) - \\langle\\nabla Q(\\rho), \\rho^* - \\rho\\rangle`.

    Along the regression mirror flow it is non-increasing for every interpolator :math:`\\rho^*`, with
    :math:`\\tfrac{d}{dt}D_Q(\\rho^*, \\rho(t)) \\le -\\mathcal L(\\rho(t))`; this removes the convergence
    assumption of the regression theorem (derived in this course).
    Since :math:`H_L(t) - tH_L'(t) = -s_t^2/2`, it equals
    :math:`\\sum_j\\bar\\alpha_j^2[H_L(t_j^*) + s_j^2/2 - \\tau_L(s_j)t_j^*]` with :math:`t = \\rho/\\bar\\alpha^L`.

    Parameters
    ----------
    rho_star : array_like, shape (m,)
        The reference point (e.g. an interpolator).
    rho : array_like, shape (..., m)
        Points along a trajectory.
    alpha : float or array_like, shape (m,)
    L : int
        Depth, at least 2.

    Returns
    -------
    ndarray, shape (...)
        Non-negative (``Q`` is strictly convex); zero only at ``rho = rho_star``.
    """
    rho = np.asarray(rho, dtype=float)
    rho_star = as_array("rho_star", rho_star, ndim=1)
    if rho.shape[-1] != rho_star.shape[0]:
        raise ValueError(f"rho must end with {rho_star.shape[0]} coordinates like rho_star, got shape {rho.shape}")
    return Q(rho_star, alpha, L) - Q(rho, alpha, L) - np.sum(Q_grad(rho, alpha, L) * (rho_star - rho), axis=-1)


def transformed_l1_max_margin(X: Any, y: Any, transform: Any) -> np.ndarray:
    """Solution of :math:`\\min\\|G\\beta\\|_1` s.t. :math:`y_ix_i^\\top\\beta \\ge 1`, for a real or complex ``G``.

    With ``G`` the DFT matrix :math:`F` this is the depth-2 prediction of the classification theorem for
    circular convolutional networks (Gunasekar et al. 2018; Yun, Krishnan, Mobahi 2021): a convex
    second-order cone program (:math:`|z| = \\|(\\operatorname{Re}z, \\operatorname{Im}z)\\|_2`), solved with
    cvxpy and Clarabel at tolerances 1e-12.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,), labels in {-1, +1}
    transform : array_like, shape (r, d)
        ``G``, real or complex.

    Returns
    -------
    ndarray, shape (d,)
        The minimizer, at margin 1 (not normalized).

    Raises
    ------
    ImportError
        If cvxpy is not installed.
    RuntimeError
        If the solver does not report an optimal solution (e.g. non-separable data).
    """
    X, y = as_array("X", X, ndim=2), as_array("y", y, ndim=1)
    n, d = X.shape
    if y.shape[0] != n:
        raise ValueError(f"y must have {n} labels, got {y.shape[0]}")
    G = np.asarray(transform)
    if G.ndim != 2 or G.shape[1] != d:
        raise ValueError(f"transform must have shape (r, {d}), got {G.shape}")
    try:
        import cvxpy as cp
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("transformed_l1_max_margin needs cvxpy: pip install cvxpy "
                          "(or pip install 'lintheory[convex]')") from err
    beta = cp.Variable(d)
    parts = cp.vstack([np.real(G) @ beta, np.imag(G) @ beta])
    problem = cp.Problem(cp.Minimize(cp.sum(cp.norm(parts, 2, axis=0))), [cp.multiply(y, X @ beta) >= 1])
    problem.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    if problem.status != cp.OPTIMAL:
        raise RuntimeError(f"transformed_l1_max_margin: solver status {problem.status}; are the data separable?")
    return np.asarray(beta.value, dtype=float)


def tensor_singular_values(tensor: Any, *, starts: int = 50, seed: Any = None, tol: float = 1e-13,
                           max_iter: int = 5000) -> np.ndarray:
    """Singular values of a real order-``L`` tensor found by the higher-order power method (HOPM).

    A singular tuple :math:`(\\bar v_1, \\dots, \\bar v_L)` of unit vectors has, for every ``l``, the
    contraction of the tensor with all :math:`\\bar v_k`, :math:`k \\ne l`, equal to
    :math:`\\sigma\\bar v_l`; HOPM (Lathauwer, De Moor, Vandewalle 2000) updates each factor in turn to
    that normalized contraction, and its fixed points with :math:`\\sigma > 0` are singular tuples. From
    ``starts`` random starts it returns the distinct values reached (relative gap above 1e-8). It finds the
    tuples HOPM is attracted to, not necessarily all of them; distinct tuples may share a value (symmetric
    tensors), which is why the values, not the vectors, are returned.

    Parameters
    ----------
    tensor : array_like, shape (k_1, ..., k_L)
    starts : int
        Number of random starting points.
    seed : int or Generator, optional
    tol : float
        Stop a start when no factor moves by more than ``tol``.
    max_iter : int
        Sweeps per start.

    Returns
    -------
    ndarray
        The distinct singular values found, in decreasing order.
    """
    A = as_array("tensor", tensor)
    if A.ndim < 2:
        raise ValueError(f"tensor must have at least 2 modes, got shape {A.shape}")
    starts, max_iter = check_int("starts", starts, minimum=1), check_int("max_iter", max_iter, minimum=1)
    rng = as_generator(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"[:A.ndim]
    found: list[float] = []
    for _ in range(starts):
        v = [rng.standard_normal(k) for k in A.shape]
        v = [u / np.linalg.norm(u) for u in v]
        for _ in range(max_iter):
            moved = 0.0
            for l in range(A.ndim):
                others = [k for k in range(A.ndim) if k != l]
                c = np.einsum(f"{letters},{','.join(letters[k] for k in others)}->{letters[l]}", A,
                              *[v[k] for k in others])
                new = c / np.linalg.norm(c)
                moved, v[l] = max(moved, float(np.abs(new - v[l]).max())), new
            if moved < tol:
                break
        sigma = float(np.einsum(f"{letters},{','.join(letters)}->", A, *v))
        if sigma > 0 and not any(abs(sigma - f) <= 1e-8 * f for f in found):
            found.append(sigma)
    return np.array(sorted(found, reverse=True))
