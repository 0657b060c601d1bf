"""Max-margin classifiers: the limits of gradient methods on separable data."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linprog, minimize

from .._validation import as_array, check_rows

__all__ = ["l2_max_margin", "l1_max_margin", "soudry_residual", "soudry_limit"]


def _signed_inputs(X: Any, y: Any) -> np.ndarray:
    X = as_array("X", X, ndim=2)
    y = check_rows("y", as_array("y", y, ndim=1), X.shape[0], "label per sample of X")
    if not np.all(np.abs(y) == 1):
        raise ValueError("y must contain only labels -1 and +1")
    return y[:, None] * X


def l2_max_margin(X: Any, y: Any) -> np.ndarray:
    """Hard-margin SVM through the origin: :math:`\\arg\\min \\|w\\|_2` s.t. :math:`y_i x_i^\\top w \\ge 1`.

    Its direction is the limit direction of gradient descent on the logistic or exponential loss for
    linearly separable data (Soudry et al. 2018), and of fully-connected linear networks (Ji & Telgarsky
    2019). Solved by SLSQP, then polished to round-off on the active set: with :math:`Z_A` the active
    rows of :math:`Z = \\operatorname{diag}(y)X`, :math:`w = Z_A^\\top(Z_AZ_A^\\top)^{-1}\\mathbf 1`, which is
    kept only if its multipliers :math:`(Z_AZ_A^\\top)^{-1}\\mathbf 1` are non-negative and it is feasible.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,), labels in {-1, +1}

    Returns
    -------
    ndarray, shape (d,)
        The solution :math:`w` (margin :math:`1/\\|w\\|_2`).

    Raises
    ------
    ValueError
        If the data are not linearly separable through the origin.
    """
    Z = _signed_inputs(X, y)
    w0 = np.linalg.lstsq(Z, np.ones(Z.shape[0]), rcond=None)[0]
    res = minimize(lambda w: 0.5 * w @ w, w0, jac=lambda w: w, method="SLSQP",
                   constraints=[{"type": "ineq", "fun": lambda w: Z @ w - 1, "jac": lambda w: Z}],
                   options={"ftol": 1e-14, "maxiter": 1000})
    w = res.x
    if np.min(Z @ w) < 1 - 1e-6:
        raise ValueError("X, y are not linearly separable through the origin (no w with y_i x_i.w >= 1)")
    active = Z @ w < 1 + 1e-6
    ZA = Z[active]
    mult = np.linalg.lstsq(ZA @ ZA.T, np.ones(ZA.shape[0]), rcond=None)[0]
    polished = ZA.T @ mult
    if np.all(mult >= -1e-12) and np.min(Z @ polished) >= 1 - 1e-12:
        return polished
    return w


def l1_max_margin(X: Any, y: Any) -> np.ndarray:
    """:math:`\\arg\\min \\|w\\|_1` s.t. :math:`y_i x_i^\\top w \\ge 1`, a linear program (HiGHS).

    Its direction is the limit direction of depth-2 diagonal linear networks on separable data
    (Gunasekar et al. 2018b; Yun, Krishnan, Mobahi 2021). Written with :math:`w = w_+ - w_-`,
    :math:`w_\\pm \\ge 0`: minimise :math:`\\mathbf 1^\\top(w_+ + w_-)` s.t. :math:`Z(w_+ - w_-) \\ge 1`.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,), labels in {-1, +1}

    Returns
    -------
    ndarray, shape (d,)
        A minimiser :math:`w` (margin :math:`1/\\|w\\|_1` in the :math:`\\ell_\\infty` geometry).
    """
    Z = _signed_inputs(X, y)
    n, d = Z.shape
    res = linprog(np.ones(2 * d), A_ub=-np.hstack([Z, -Z]), b_ub=-np.ones(n), bounds=(0, None),
                  method="highs")
    if res.status == 2:
        raise ValueError("X, y are not linearly separable through the origin (the LP is infeasible)")
    if not res.success:
        raise RuntimeError(f"l1_max_margin: linprog failed: {res.message}")
    return res.x[:d] - res.x[d:]


def soudry_residual(theta: Any, w_hat: Any, t: Any) -> np.ndarray:
    """The remainder :math:`\\rho(t) = \\theta(t) - \\hat w\\log t` of Soudry et al. (2018).

    Their theorem: for gradient descent on separable data with the logistic or exponential loss,
    :math:`\\theta(t) = \\hat w\\log t + \\rho(t)` with :math:`\\hat w` the hard-margin SVM
    (:func:`l2_max_margin`) and :math:`\\rho` bounded (for almost every data set).

    Parameters
    ----------
    theta : array_like, shape (T, d)
        Iterates at the steps ``t``.
    w_hat : array_like, shape (d,)
    t : array_like, shape (T,)
        Step counts (or times), all positive.

    Returns
    -------
    ndarray, shape (T, d)
    """
    theta = as_array("theta", theta, ndim=2)
    w_hat = as_array("w_hat", w_hat, ndim=1)
    t = as_array("t", t, ndim=1)
    if theta.shape != (t.shape[0], w_hat.shape[0]):
        raise ValueError(f"theta must have shape (len(t), len(w_hat)) = ({t.shape[0]}, {w_hat.shape[0]}), "
                         f"got {theta.shape}")
    if np.any(t <= 0):
        raise ValueError("t must be positive (rho uses log t)")
    return theta - np.log(t)[:, None] * w_hat


def soudry_limit(X: Any, y: Any, step: float, *, tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """The part of the limit of :math:`\\rho(t) = \\theta(t) - \\hat w\\log t` fixed by the SVM dual.

    For gradient descent with step ``step`` :math:`= \\eta` on the averaged logistic or exponential loss
    :math:`\\frac1n\\sum_i\\ell(y_ix_i^\\top\\theta)` (tail :math:`e^{-u}`), :math:`\\rho(t) \\to \\tilde w` with

    .. math:: \\frac{\\eta}{n}\\,e^{-z_i^\\top\\tilde w} = a_i \\quad (i \\in S), \\qquad
              \\hat w = \\sum_{i\\in S} a_iz_i, \\quad z_i = y_ix_i,

    where :math:`S` is the set of support vectors (:math:`z_i^\\top\\hat w = 1`) and :math:`a_i > 0` the dual
    variables of the hard-margin SVM. Soudry et al. (2018) give this limit, as usually quoted (their text
    was not read here), for the summed loss, :math:`\\eta\\,e^{-x_n^\\top\\tilde w} = \\alpha_n`, when the support
    vectors span the data; a step :math:`\\eta` on the mean is a step :math:`\\eta/n` on the sum. The course
    recovers the equations by a heuristic, matching the :math:`1/t` terms of one step,
    :math:`\\hat w\\,(\\log(t+1) - \\log t) = \\frac{\\eta}{n}\\sum_{i\\in S}e^{-\\log t - z_i^\\top\\tilde w}z_i + o(1/t)`.
    These :math:`|S|` equations fix only the projection of :math:`\\tilde w` onto
    :math:`\\operatorname{span}\\{z_i : i \\in S\\}`; when the support vectors do not span the data the rest
    depends on the initialization and on the whole trajectory (and the convergence of the projection is
    then the heuristic alone), so this function returns the minimum-norm solution, whose projection is the
    prediction.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,), labels in {-1, +1}, linearly separable through the origin
    step : float
        The step :math:`\\eta > 0` on the averaged loss.
    tol : float
        A sample is a support vector when :math:`z_i^\\top\\hat w < 1 + {\\rm tol}`.

    Returns
    -------
    w_tilde : ndarray, shape (d,)
        The solution of the equations above in :math:`\\operatorname{span}\\{z_i : i \\in S\\}`.
    support : ndarray of int
        The indices :math:`S`.

    Raises
    ------
    ValueError
        If ``step`` is not positive, or the data are degenerate (support vectors linearly dependent or
        a dual variable not positive), where the limit need not exist.
    """
    step = float(step)
    if not (np.isfinite(step) and step > 0):
        raise ValueError(f"step must be positive and finite, got {step!r}")
    Z = _signed_inputs(X, y)
    w_hat = l2_max_margin(X, y)
    support = np.nonzero(Z @ w_hat < 1 + tol)[0]
    ZS = Z[support]
    if np.linalg.matrix_rank(ZS) < len(support):
        raise ValueError("degenerate data: the support vectors are linearly dependent (the dual is not unique)")
    a = np.linalg.lstsq(ZS.T, w_hat, rcond=None)[0]
    if np.any(a <= 0):
        raise ValueError(f"degenerate data: a dual variable is not positive ({a.min():.3g})")
    w_tilde = np.linalg.lstsq(ZS, -np.log(Z.shape[0] * a / step), rcond=None)[0]
    return w_tilde, support
