"""Discrete steps on the depth-2 diagonal network: how much (S)GD shrinks the effective scale, per coordinate.

For :math:`\\theta = u\\odot v` from :math:`u(0) = \\alpha\\mathbf 1`, :math:`v(0) = 0`, one step with the (minibatch)
gradient :math:`g_k` multiplies :math:`u_j^2 - v_j^2` by :math:`1 - \\eta^2g_{k,j}^2` (chapter 2c, proposition
``prop-ch2c-drift``), so :math:`\\log(\\alpha/\\alpha_{\\infty,j}) = -\\tfrac12\\sum_k\\log(1 - \\eta^2g_{k,j}^2)
= \\tfrac{\\eta^2}2\\sum_kg_{k,j}^2 + O(\\eta^4\\sum_kg_{k,j}^4)`. The functions below give the expectation of the
leading term over the minibatches, its loss-integral form (derived in the course; consistent with the abstracts of
Pesme et al. 2021 and Even et al. 2023), and the
first-order distance of a run's end point to :math:`\\arg\\min Q_{\\alpha_\\infty}`. The loss is the course's
:math:`\\mathcal L(\\theta) = \\frac1{2n}\\|X\\theta - y\\|^2`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_array, check_int, check_rows
from .implicit_bias import null_space_projector
from .tensor_networks import Q_grad, Q_hess

__all__ = ["minibatch_variance_factor", "expected_gain_rate", "loss_integral_gain", "mirror_gap"]


def minibatch_variance_factor(n: int, batch_size: int, *, replace: bool = False) -> float:
    """Variance of a minibatch mean relative to that of one sample: :math:`c_b = \\frac{n-b}{b(n-1)}`.

    For a uniformly random :math:`b`-subset of :math:`n` numbers (``replace=False``; finite-population
    correction) the mean has variance :math:`c_b\\sigma^2`, with :math:`\\sigma^2` the population variance;
    for :math:`b` i.i.d. uniform indices (``replace=True``), :math:`c_b = 1/b`. :math:`c_n = 0`: gradient descent.

    Parameters
    ----------
    n : int
        Number of samples, at least 2.
    batch_size : int
        Between 1 and ``n`` (any positive size with ``replace=True``).
    replace : bool
    """
    n = check_int("n", n, minimum=2)
    b = check_int("batch_size", batch_size, minimum=1)
    if replace:
        return 1.0 / b
    if b > n:
        raise ValueError(f"batch_size must be at most n = {n} without replacement, got {b}")
    return (n - b) / (b * (n - 1))


def expected_gain_rate(X: Any, y: Any, theta: Any, batch_size: int, *, replace: bool = False) -> np.ndarray:
    """Expected half squared minibatch gradient, :math:`\\tfrac12\\mathbb E_B[g_j^2]`, per coordinate.

    :math:`\\mathbb E_B[g_j^2] = (\\nabla_j\\mathcal L)^2 + c_b\\bigl(\\tfrac1n\\sum_ix_{ij}^2r_i^2 -
    (\\nabla_j\\mathcal L)^2\\bigr)` with :math:`r = X\\theta - y`, :math:`\\nabla\\mathcal L = X^\\top r/n` and
    :math:`c_b` of :func:`minibatch_variance_factor` (the variance of the minibatch gradient; derived in this
    course). To leading order in :math:`\\eta`, :math:`\\log(\\alpha/\\alpha_{\\infty,j})` is :math:`\\eta^2` times
    the sum of this rate over the steps, or :math:`\\eta` times its time integral along a path
    :math:`\\theta(t = \\eta k)`.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    theta : array_like, shape (..., d)
    batch_size : int
    replace : bool

    Returns
    -------
    ndarray, shape (..., d)
    """
    X = as_array("X", X, ndim=2)
    y = check_rows("y", as_array("y", y, ndim=1), X.shape[0], "value per row of X")
    theta = np.asarray(theta, dtype=float)
    if theta.shape[-1:] != X.shape[1:]:
        raise ValueError(f"theta must end with the {X.shape[1]} columns of X, got shape {theta.shape}")
    n = X.shape[0]
    c = minibatch_variance_factor(n, batch_size, replace=replace)
    r = theta @ X.T - y
    grad2 = (r @ X / n) ** 2
    second = (r * r) @ (X * X) / n
    return 0.5 * (grad2 + c * (second - grad2))


def loss_integral_gain(X: Any, loss_integral: Any, step: float, batch_size: int, *, replace: bool = False
                       ) -> np.ndarray:
    """The noise part of the shrinkage as a loss integral: :math:`\\eta\\,c_b\\,(X^\\top X/n)_{jj}\\,S_L`.

    With :math:`S_L = \\eta\\sum_k\\mathcal L(\\theta_k)` (the time integral of the loss along the run) and the
    decoupled per-sample variance :math:`\\frac1n\\sum_ix_{ij}^2r_i^2 - (\\nabla_j\\mathcal L)^2 \\approx
    (X^\\top X/n)_{jj}\\cdot2\\mathcal L` (as if :math:`x_{ij}^2` and :math:`r_i^2` were uncorrelated), the variance term of
    :func:`expected_gain_rate` summed over the steps gives this (derived in the course, chapter 2c). It is
    consistent with the qualitative statement in the abstract of Pesme et al. (2021) for stochastic gradient flow
    (the slower the loss converges, the stronger the bias); their theorem was not read, so this exact form is not
    attributed to them.

    Parameters
    ----------
    X : array_like, shape (n, d)
    loss_integral : float or array_like, shape batch
        :math:`S_L` of each run.
    step : float
        :math:`\\eta > 0`.
    batch_size : int
    replace : bool

    Returns
    -------
    ndarray, shape (*batch, d)
        The predicted :math:`\\log(\\alpha/\\alpha_{\\infty,j})` without the gradient-descent part.
    """
    X = as_array("X", X, ndim=2)
    if not step > 0:
        raise ValueError(f"step must be positive, got {step}")
    n = X.shape[0]
    c = minibatch_variance_factor(n, batch_size, replace=replace)
    S = np.asarray(loss_integral, dtype=float)[..., None]
    return step * c * (X * X).sum(axis=0) / n * S


def mirror_gap(X: Any, y: Any, theta: Any, alpha: Any) -> tuple[np.ndarray, np.ndarray]:
    """How far a (near-)interpolator is from :math:`\\arg\\min\\{Q_\\alpha : X\\theta = y\\}`, from :math:`\\theta` alone.

    :math:`\\theta` with :math:`X\\theta = y` is that minimizer iff :math:`P\\nabla Q_\\alpha(\\theta) = 0`,
    :math:`P` the projector onto :math:`\\ker X`. For the end point of (S)GD on the diagonal network,
    :math:`\\nabla Q_{\\alpha_\\infty}(\\theta_\\infty) = -\\sum_k\\operatorname{artanh}(\\eta g_k)` exactly and
    :math:`\\sum_k g_k\\in\\operatorname{range}X^\\top` (``prop-ch2c-drift``), so the residual
    :math:`P\\nabla Q_{\\alpha_\\infty}(\\theta_\\infty)` is exactly :math:`-P\\sum_k[\\operatorname{artanh}(\\eta g_k) -
    \\eta g_k]`: the part of the nonlinear remainder outside the row space. One equality-constrained Newton
    step turns it into a displacement: :math:`\\delta` with :math:`X\\delta = y - X\\theta` and
    :math:`P(\\nabla Q_\\alpha(\\theta) + H\\delta) = 0`, :math:`H = \\nabla^2Q_\\alpha(\\theta)` (diagonal), so that
    :math:`\\theta + \\delta\\approx\\arg\\min Q_\\alpha` to first order (the step also removes the residual of
    a run that interpolates only to a tolerance). Derived in this course.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    theta : array_like, shape (..., d)
        Interpolators, or nearly.
    alpha : float or array_like, shape (..., d)
        Scale per coordinate (depth 2, the potential of :func:`lintheory.theory.Q`).

    Returns
    -------
    residual : ndarray, shape (...,)
        :math:`\\|P\\nabla Q_\\alpha(\\theta)\\|_2`.
    newton_gap : ndarray, shape (...,)
        :math:`\\|\\delta\\|_2`, the first-order distance to :math:`\\arg\\min Q_\\alpha`.
    """
    X = as_array("X", X, ndim=2)
    y = check_rows("y", as_array("y", y, ndim=1), X.shape[0], "value per row of X")
    theta = np.asarray(theta, dtype=float)
    if theta.shape[-1:] != X.shape[1:]:
        raise ValueError(f"theta must end with the {X.shape[1]} columns of X, got shape {theta.shape}")
    alpha = np.broadcast_to(np.asarray(alpha, dtype=float), theta.shape)
    if not np.all(alpha > 0):
        raise ValueError("alpha must be positive")
    n, d = X.shape
    P = null_space_projector(X)
    flat_t, flat_a = theta.reshape(-1, d), alpha.reshape(-1, d)
    res, gap = np.empty(len(flat_t)), np.empty(len(flat_t))
    kkt = np.zeros((d + n, d + n))
    kkt[:d, d:], kkt[d:, :d] = X.T, X
    for i, (t, a) in enumerate(zip(flat_t, flat_a)):
        gq = Q_grad(t, a, 2)
        res[i] = np.linalg.norm(P @ gq)
        kkt[:d, :d] = np.diag(Q_hess(t, a, 2))
        step = np.linalg.lstsq(kkt, np.concatenate([-gq, y - X @ t]), rcond=None)[0]
        gap[i] = np.linalg.norm(step[:d])
    return res.reshape(theta.shape[:-1]), gap.reshape(theta.shape[:-1])
