"""Low-rank implicit bias of matrix factorization (issue 18): references and closed forms.

Matrix sensing with the course's loss :math:`\\L(\\theta) = \\frac1{2n}\\sum_i(\\langle A_i,\\theta\\rangle - y_i)^2`
(:class:`lintheory.SensingLoss`). Gunasekar et al. (2017) conjecture that gradient flow on
:math:`\\theta = UU^\\top` from :math:`U(0) = \\alpha I`, :math:`\\alpha\\to0`, finds the minimum-nuclear-norm
interpolator; Arora, Cohen, Hu, Luo (2019) give the dynamics of the singular values of a deep product.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linprog

from .._validation import as_array, check_int, check_rows

__all__ = ["min_nuclear_norm", "min_trace_diagonal", "single_measurement_limit",
           "commuting_error_exponent", "commuting_dual_exponent", "singular_value_velocity"]


def _check_sensing(A: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    A = as_array("A", A, ndim=3)
    y = check_rows("y", as_array("y", y, ndim=1), A.shape[0], "value per measurement matrix of A")
    return A, y


def min_nuclear_norm(A: Any, y: Any, *, psd: bool = False, eps: float = 1e-8, solver: str = "CLARABEL"
                     ) -> np.ndarray:
    """Minimum-nuclear-norm interpolator :math:`\\arg\\min\\{\\|\\theta\\|_*: \\langle A_i,\\theta\\rangle = y_i\\}`.

    Solved as a semidefinite program with cvxpy (the interior-point solver Clarabel by default;
    ``solver="SCS"``, a first-order solver, is an alternative whose run time varies more). With ``psd=True`` the problem of
    Gunasekar et al. (2017): :math:`\\theta\\succeq0` (``A_i`` then square), where :math:`\\|\\theta\\|_* =
    \\operatorname{tr}\\theta`.

    Parameters
    ----------
    A : array_like, shape (n, d, m)
    y : array_like, shape (n,)
    psd : bool
        Restrict to symmetric positive semidefinite ``theta``.
    eps : float
        Solver tolerance (absolute and relative, gap and feasibility).
    solver : {"SCS", "CLARABEL"}

    Returns
    -------
    ndarray, shape (d, m)

    Raises
    ------
    ImportError
        If cvxpy is not installed (``pip install cvxpy``, or ``pip install lintheory[convex]``).
    RuntimeError
        If the solver reports the problem infeasible or fails.

    Notes
    -----
    Without ``psd``, the solver's answer is then projected onto the affine set
    :math:`\\{\\langle A_i,\\theta\\rangle = y_i\\}` (least-norm correction), so that the measurements hold to
    round-off; the correction is of the size of the solver's feasibility error.
    """
    A, y = _check_sensing(A, y)
    try:
        import cvxpy as cp
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("min_nuclear_norm needs cvxpy: pip install cvxpy "
                          "(or pip install 'lintheory[convex]')") from err
    n, d, m = A.shape
    if psd and d != m:
        raise ValueError(f"psd=True needs square measurement matrices, got A of shape {A.shape}")
    T = cp.Variable((d, m), PSD=True) if psd else cp.Variable((d, m))
    constraints = [A.reshape(n, -1) @ cp.vec(T, order="C") == y]
    objective = cp.trace(T) if psd else cp.normNuc(T)
    prob = cp.Problem(cp.Minimize(objective), constraints)
    if solver == "SCS":
        prob.solve(solver=cp.SCS, eps_abs=eps, eps_rel=eps)
    elif solver == "CLARABEL":
        prob.solve(solver=cp.CLARABEL, tol_gap_abs=eps, tol_gap_rel=eps, tol_feas=eps)
    else:
        raise ValueError(f"solver must be 'SCS' or 'CLARABEL', got {solver!r}")
    if prob.status not in ("optimal", "optimal_inaccurate") or T.value is None:
        raise RuntimeError(f"the nuclear-norm problem was not solved: status {prob.status}")
    theta = np.asarray(T.value)
    if not psd:
        X = A.reshape(n, -1)
        theta = theta - np.linalg.lstsq(X, X @ theta.ravel() - y, rcond=None)[0].reshape(d, m)
    return theta


def min_trace_diagonal(a: Any, y: Any) -> np.ndarray:
    """Minimum-trace PSD interpolator for commuting (diagonal) measurements :math:`A_i = \\diag(a_i)`.

    For diagonal :math:`A_i` the measurements see only :math:`x = \\diag\\theta`, and a PSD matrix has
    :math:`\\|\\theta\\|_* = \\operatorname{tr}\\theta = \\mathbf 1^\\top x` with :math:`x\\ge0`. So the
    minimum-nuclear-norm PSD interpolator has diagonal :math:`x^\\star = \\arg\\min\\{\\mathbf 1^\\top x:
    Dx = y,\\ x\\ge0\\}` (a linear program, rows of ``D`` the :math:`a_i`), and :math:`\\diag(x^\\star)` is
    one minimizer (the only one when :math:`x^\\star` has a single non-zero entry: a PSD matrix with a
    zero diagonal entry has a zero row). Derived in the course; solved with ``scipy.optimize.linprog``.

    Parameters
    ----------
    a : array_like, shape (n, d)
        The diagonals of the measurement matrices.
    y : array_like, shape (n,)

    Returns
    -------
    ndarray, shape (d, d)
        :math:`\\diag(x^\\star)`.
    """
    a = as_array("a", a, ndim=2)
    y = check_rows("y", as_array("y", y, ndim=1), a.shape[0], "value per row of a")
    res = linprog(np.ones(a.shape[1]), A_eq=a, b_eq=y, bounds=(0, None), method="highs")
    if res.status != 0:
        raise RuntimeError(f"no PSD interpolator with these diagonal measurements: {res.message}")
    return np.diag(res.x)


def single_measurement_limit(a: Any, y: float) -> np.ndarray:
    """Closed form for one diagonal measurement :math:`\\langle\\diag(a),\\theta\\rangle = y > 0`.

    The linear program of :func:`min_trace_diagonal` puts all its mass on the largest weight:
    :math:`x^\\star = (y/a_{j^\\star})e_{j^\\star}`, :math:`j^\\star = \\arg\\max_j a_j` (needs
    :math:`a_{j^\\star} > 0`, and a unique maximum for uniqueness). Derived in the course.
    """
    a = as_array("a", a, ndim=1)
    y = float(y)
    j = int(np.argmax(a))
    if not a[j] > 0 or not y > 0:
        raise ValueError("single_measurement_limit needs max(a) > 0 and y > 0")
    if np.sum(a == a[j]) > 1:
        raise ValueError("a must have a unique largest entry for the limit to be unique")
    x = np.zeros_like(a)
    x[j] = y / a[j]
    return np.diag(x)


def commuting_error_exponent(a: Any) -> float:
    """Rate at which :math:`\\theta = UU^\\top`, :math:`U(0) = \\alpha I`, reaches the limit of one measurement.

    For one diagonal measurement :math:`\\diag(a)` (all :math:`a_j > 0`) gradient flow keeps ``U``
    diagonal and :math:`\\dot x_j = -4a_j r(t) x_j/n` for :math:`x = \\diag\\theta`, so
    :math:`x_j(\\infty) = \\alpha^2 e^{a_js}` with one scalar :math:`s` fixed by :math:`a^\\top x = y`. As
    :math:`\\alpha\\to0`, :math:`e^{s}\\approx(y/(a_1\\alpha^2))^{1/a_1}` and
    :math:`x_j(\\infty)\\propto\\alpha^{2(1-a_j/a_1)}`: the distance to the minimum-trace interpolator decays
    like :math:`\\alpha^{p}`, :math:`p = 2(1 - a_{(2)}/a_{(1)})` (largest and second largest weights).
    Derived in the course.
    """
    a = np.sort(as_array("a", a, ndim=1))[::-1]
    if a.size < 2 or not a[-1] > 0 or not a[0] > a[1]:
        raise ValueError("a needs at least two positive entries and a unique largest one")
    return float(2 * (1 - a[1] / a[0]))


def commuting_dual_exponent(a: Any, y: Any, *, tol: float = 1e-9) -> tuple[float, np.ndarray]:
    """Rate of the commuting limit for several diagonal measurements, from the dual of the linear program.

    For :math:`A_i = \\diag(a_i)` gradient flow on :math:`\\theta = UU^\\top` from :math:`U(0) = \\alpha I`
    keeps ``U`` diagonal, and :math:`x = \\diag\\theta` obeys :math:`\\dot x_j = -\\tfrac4n x_j\\,(D^\\top r)_j`,
    so :math:`x_j(\\infty) = \\alpha^2\\exp(a_j^\\top s)` with one vector :math:`s\\in\\mathbb{R}^n` (column
    :math:`a_j` of ``D``). If the linear program :math:`\\min\\{\\mathbf 1^\\top x: Dx = y,\\ x\\ge0\\}` has a
    unique, non-degenerate solution :math:`x^\\star` (support :math:`S` of size ``n``, :math:`D_S`
    invertible) and a dual optimum :math:`\\lambda^\\star` (:math:`a_j^\\top\\lambda^\\star = 1` on
    :math:`S`) with strict complementarity (:math:`a_j^\\top\\lambda^\\star < 1` off :math:`S`), then
    :math:`s = \\lambda^\\star\\log(1/\\alpha^2) + O(1)` and

    .. math:: \\|\\theta_\\infty(\\alpha) - \\diag(x^\\star)\\| = \\Theta(\\alpha^{p}),\\qquad
              p = 2\\min_{j\\notin S}\\bigl(1 - a_j^\\top\\lambda^\\star\\bigr).

    For one measurement, :math:`\\lambda^\\star = 1/a_{(1)}` and ``p`` is
    :func:`commuting_error_exponent`. Derived in this course; the dual variables are
    the limits of :math:`s/\\log(1/\\alpha^2)`, as in Gunasekar et al.'s (2017) proof of the commuting case.

    Parameters
    ----------
    a : array_like, shape (n, d)
        The diagonals of the measurement matrices (rows).
    y : array_like, shape (n,)
    tol : float
        Entries of :math:`x^\\star` above ``tol`` form the support.

    Returns
    -------
    p : float
        The predicted exponent.
    lam : ndarray, shape (n,)
        The dual optimum :math:`\\lambda^\\star`.

    Raises
    ------
    ValueError
        If the program is infeasible, or degenerate (support size not ``n``, or an off-support
        :math:`a_j^\\top\\lambda^\\star \\ge 1 - \\mathrm{tol}`): then the exponent is not given by this formula.
    """
    a = as_array("a", a, ndim=2)
    y = check_rows("y", as_array("y", y, ndim=1), a.shape[0], "value per row of a")
    res = linprog(np.ones(a.shape[1]), A_eq=a, b_eq=y, bounds=(0, None), method="highs")
    if res.status != 0:
        raise ValueError(f"no PSD interpolator with these diagonal measurements: {res.message}")
    lam = np.asarray(res.eqlin.marginals, dtype=float)     # HiGHS: y^T lam is the optimum
    support = res.x > tol
    slack = 1 - a.T @ lam
    if support.sum() != a.shape[0] or np.any(slack[~support] <= tol):
        raise ValueError("the linear program is degenerate (support size differs from the number of measurements, "
                         "or a zero reduced cost off the support): no single exponent")
    return float(2 * slack[~support].min()), lam


def singular_value_velocity(theta: Any, grad: Any, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Arora, Cohen, Hu, Luo (2019): :math:`\\dot\\sigma_r = -L(\\sigma_r^2)^{1-1/L}\\langle\\nabla\\ell(W), u_rv_r^\\top\\rangle`.

    For gradient flow on :math:`W = W_L\\cdots W_1` from a balanced initialization
    (:math:`W_{k+1}^\\top W_{k+1} = W_kW_k^\\top`), with :math:`W = \\sum_r\\sigma_ru_rv_r^\\top`. In the
    course's notation :math:`\\theta = W^\\top` and ``grad`` is :math:`\\nabla_\\theta\\L(\\theta)` (any loss
    normalization: the formula is linear in the gradient), so
    :math:`\\langle\\nabla\\ell(W), u_rv_r^\\top\\rangle = v_r^\\top\\nabla_\\theta\\L\\,u_r`.

    Parameters
    ----------
    theta : array_like, shape (..., d, m)
        The end-to-end predictor.
    grad : array_like, shape (..., d, m)
        The loss gradient at ``theta``.
    depth : int
        The number of layers ``L``.

    Returns
    -------
    sigma : ndarray, shape (..., min(d, m))
        The singular values, decreasing.
    velocity : ndarray, shape (..., min(d, m))
        The predicted :math:`\\dot\\sigma_r`.
    """
    theta = np.asarray(theta, dtype=float)
    grad = np.asarray(grad, dtype=float)
    if theta.ndim < 2 or theta.shape != grad.shape:
        raise ValueError(f"theta and grad must be matrices of the same shape, got {theta.shape} and {grad.shape}")
    L = check_int("depth", depth, minimum=1)
    P, s, Qt = np.linalg.svd(theta, full_matrices=False)    # theta = P diag(s) Q^T, so W = Q diag(s) P^T
    proj = np.einsum("...ir,...ij,...rj->...r", P, grad, Qt)
    return s, -L * (s ** 2) ** (1 - 1 / L) * proj
