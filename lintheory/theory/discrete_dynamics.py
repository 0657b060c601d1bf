"""Discrete gradient dynamics of two-layer linear networks (Gidel, Bach, Lacoste-Julien 2019).

Under the shared-singular-vector assumption :math:`\\Sigma_x = U\\mathrm{diag}(\\lambda)U^\\top`,
:math:`\\Sigma_{xy} = U\\mathrm{diag}(\\sigma)V^\\top`, gradient descent from a spectral, balanced
initialisation decouples into scalar recursions, one per mode. This module holds those recursions,
their jump-time predictions, the limiting staircase path, the plateau and reduced-rank solutions, and
the modified loss of implicit gradient regularisation (Barrett & Dherin 2021) with its flow.

Conventions: the course loss :math:`\\|X\\theta - Y\\|_F^2/(2n)`, which is Gidel et al.'s loss as far as it could be
reconstructed (their text was not read; a different normalisation would only rescale time); their two-layer product :math:`W_1W_2` (data-matrix convention) is the course's :math:`\\theta`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._validation import as_array, check_int, check_positive
from ..losses import Loss
from ..metrics.curvature import hvp
from ..networks import Network, Params

__all__ = ["mode_recursion", "linear_model_iterates", "jump_time", "half_times", "staircase_path",
           "staircase_distance_constant",
           "plateau_solution", "critical_point", "shared_bases", "spectral_init", "modified_loss",
           "modified_loss_gradient", "half_time_bounds", "mode_invariant_interval", "mode_peak",
           "mode_divergence_threshold", "effective_mode_sizes", "one_mode_map", "one_mode_orbit_diagram",
           "one_mode_two_cycle", "one_mode_escape_times", "one_mode_escape_time_law"]


def _positive(name: str, value: Any) -> np.ndarray:
    arr = as_array(name, value)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be positive, got {arr}")
    return arr


def _check_covariances(Sigma_x: Any, Sigma_xy: Any) -> tuple[np.ndarray, np.ndarray]:
    Sx, Sxy = as_array("Sigma_x", Sigma_x, ndim=2), as_array("Sigma_xy", Sigma_xy, ndim=2)
    if Sx.shape != (Sxy.shape[0],) * 2:
        raise ValueError(f"Sigma_x must be ({Sxy.shape[0]}, {Sxy.shape[0]}), got {Sx.shape}")
    return Sx, Sxy


def mode_recursion(sigma: Any, lam: Any, eta: Any, w0: Any, n_steps: int) -> np.ndarray:
    """Exact gradient-descent recursion of one mode of a two-layer linear network.

    .. math:: w_{k+1} = w_k\\,\\big(1 + \\eta(\\sigma - \\lambda w_k)\\big)^2 ,

    the product :math:`w = a^2` of the two balanced layer weights :math:`a` of the mode, whose GD update
    is :math:`a \\leftarrow a + \\eta a(\\sigma - \\lambda a^2)` (Gidel et al. 2019; derived here
    in the course's loss convention, which is theirs).

    Parameters
    ----------
    sigma, lam : array_like
        Singular value of :math:`\\Sigma_{xy}` (> 0) and eigenvalue of :math:`\\Sigma_x` (> 0) of the mode.
    eta : float or array_like
        Step size(s) (> 0).
    w0 : array_like
        Initial products (>= 0), e.g. :math:`e^{-\\delta}`. ``sigma``, ``lam``, ``eta`` and ``w0`` broadcast.
    n_steps : int

    Returns
    -------
    ndarray, shape ``(n_steps + 1, *broadcast_shape)``
        :math:`w_0, \\dots, w_{n}`; entries become ``inf``/``nan`` if the recursion diverges.
    """
    sigma, lam, eta = _positive("sigma", sigma), _positive("lam", lam), _positive("eta", eta)
    w0 = as_array("w0", w0)
    if np.any(w0 < 0):
        raise ValueError("w0 must be non-negative")
    n_steps = check_int("n_steps", n_steps, minimum=0)
    sigma, lam, eta, w = np.broadcast_arrays(sigma, lam, eta, w0)
    out = np.empty((n_steps + 1,) + w.shape)
    out[0] = w
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(n_steps):
            out[k + 1] = out[k] * (1 + eta * (sigma - lam * out[k])) ** 2
    return out


def linear_model_iterates(sigma: Any, lam: Any, eta: float, w0: Any, steps: Any) -> np.ndarray:
    """Closed-form gradient-descent iterates of one component of the linear model :math:`\\theta`.

    .. math:: w_k = \\frac{\\sigma}{\\lambda} - \\Big(\\frac{\\sigma}{\\lambda} - w_0\\Big)(1 - \\eta\\lambda)^k ,

    so every component moves on the time scale :math:`1/(\\eta\\lambda)`, whatever :math:`w_0`
    (Gidel et al. 2019; derived here).

    Parameters
    ----------
    sigma, lam, w0 : array_like
        As in :func:`mode_recursion` (broadcast together).
    eta : float
    steps : array_like of int, shape (T,)

    Returns
    -------
    ndarray, shape ``(T, *broadcast_shape)``
    """
    sigma, lam = _positive("sigma", sigma), _positive("lam", lam)
    eta = check_positive("eta", eta)
    w0 = as_array("w0", w0)
    steps = as_array("steps", steps, ndim=1)
    if np.any(steps < 0) or np.any(steps != np.round(steps)):
        raise ValueError(f"steps must be non-negative whole numbers of iterations, got {steps!r}")
    target = sigma / lam
    k = steps.reshape((-1,) + (1,) * np.broadcast(target, w0).ndim)
    return target - (target - w0) * (1 - eta * lam) ** k


def jump_time(sigma: Any, delta: float, eta: float | None = None) -> np.ndarray:
    """Leading-order time at which a mode started at :math:`w_0 = e^{-\\delta}` is learned.

    .. math:: t = \\frac{\\delta}{2\\sigma}\\ \\text{(gradient flow)},\\qquad
              k = \\frac{\\delta}{2\\ln(1 + \\eta\\sigma)}\\ \\text{(gradient descent, iterations)} .

    Both come from the linear growth phase (:math:`\\dot w \\approx 2\\sigma w`, respectively
    :math:`w_{k+1}\\approx(1+\\eta\\sigma)^2w_k`) and hold up to :math:`O(1)` as :math:`\\delta\\to\\infty`
    (Gidel et al. 2019 for the flow; the discrete form derived here).

    Parameters
    ----------
    sigma : array_like
        Singular values (> 0).
    delta : float
        Minus the log of the initial product (> 0).
    eta : float, optional
        Step size; ``None`` (default) gives the gradient-flow time.
    """
    sigma = _positive("sigma", sigma)
    delta = check_positive("delta", delta)
    if eta is None:
        return delta / (2 * sigma)
    return delta / (2 * np.log1p(check_positive("eta", eta) * sigma))


def half_times(sigma: Any, lam: Any, eta: float, delta: Any, max_steps: int) -> np.ndarray:
    """First iteration at which the exact recursion reaches half its limit, :math:`w_k \\ge \\sigma/(2\\lambda)`.

    Runs :func:`mode_recursion` from :math:`w_0 = e^{-\\delta}` (arguments broadcast); ``-1`` where the
    level is not reached within ``max_steps``.

    Returns
    -------
    ndarray of int
    """
    delta = as_array("delta", delta)
    w = mode_recursion(sigma, lam, eta, np.exp(-delta), max_steps)
    reached = w >= (as_array("sigma", sigma) / as_array("lam", lam)) / 2
    return np.where(reached.any(axis=0), reached.argmax(axis=0), -1)


def staircase_path(t: Any, sigmas: Any, lambdas: Any, *, eta: float | None = None,
                   U: Any = None, V: Any = None) -> np.ndarray:
    """The :math:`\\delta\\to\\infty` limit of the two-layer path in rescaled time.

    .. math:: \\lim_{\\delta\\to\\infty} W(\\delta t) = \\sum_{i:\\ t > \\tau_i}
              \\frac{\\sigma_i}{\\lambda_i}\\,u_iv_i^\\top,\\qquad
              \\tau_i = \\frac{1}{2\\sigma_i}\\ \\text{(flow)}\\ \\text{or}\\
              \\frac{\\eta}{2\\ln(1+\\eta\\sigma_i)}\\ \\text{(GD, } t = \\eta k/\\delta) .

    (Gidel et al. 2019; the discrete thresholds derived here.)

    Parameters
    ----------
    t : array_like, shape (T,)
        Rescaled times.
    sigmas, lambdas : array_like, shape (q,)
    eta : float, optional
        Step size for the discrete thresholds; ``None`` for gradient flow.
    U, V : array_like, shape (d, q) and (p, q), optional
        Singular vectors; when given the matrices are returned.

    Returns
    -------
    ndarray
        Shape ``(T, q)`` (mode values) or ``(T, d, p)`` (matrices).
    """
    t = as_array("t", t, ndim=1)
    sig, lam = _positive("sigmas", as_array("sigmas", sigmas, ndim=1)), _positive("lambdas", lambdas)
    if lam.shape != sig.shape:
        raise ValueError(f"lambdas must have the shape of sigmas {sig.shape}, got {lam.shape}")
    tau = jump_time(sig, 1.0) if eta is None else eta * jump_time(sig, 1.0, eta)
    modes = np.where(t[:, None] > tau, sig / lam, 0.0)
    if U is None and V is None:
        return modes
    U, V = as_array("U", U, ndim=2), as_array("V", V, ndim=2)
    if U.shape[1] != sig.size or V.shape[1] != sig.size:
        raise ValueError(f"U and V must have {sig.size} columns, got {U.shape} and {V.shape}")
    return np.einsum("tq,dq,pq->tdp", modes, U, V)


def staircase_distance_constant(sigma: Any, lam: Any) -> np.ndarray:
    """Constant of the :math:`1/\\delta` approach of one gradient-flow mode to its step in rescaled time.

    For the flow :math:`\\dot w = 2w(\\sigma - \\lambda w)` from :math:`w(0) = e^{-\\delta}`, read at
    :math:`t = \\delta\\tau`, and every horizon :math:`T > 1/(2\\sigma)`,

    .. math:: \\lim_{\\delta\\to\\infty}\\ \\delta\\int_0^T\\Big|w(\\delta\\tau)
              - \\frac{\\sigma}{\\lambda}\\mathbb 1\\{\\tau > \\tfrac{1}{2\\sigma}\\}\\Big|\\,d\\tau
              = \\frac1\\lambda\\ln\\Big(\\sqrt{\\frac\\sigma\\lambda} + \\sqrt{\\frac\\lambda\\sigma}\\Big)
              = \\frac{\\ln 2 + \\ln\\cosh(\\sigma\\Delta)}{\\lambda},\\qquad
              \\Delta = \\frac{\\ln(\\sigma/\\lambda)}{2\\sigma},

    :math:`\\ln 2/\\sigma` for an autoencoder mode (:math:`\\sigma = \\lambda`). Around :math:`t_0 = \\delta/(2\\sigma)`
    the mode is the logistic :math:`w^*/(1 + e^{-2\\sigma(u - \\Delta)})`, :math:`u = t - t_0`, :math:`w^* = \\sigma/\\lambda`,
    and the two tails integrate to :math:`\\frac{w^*}{2\\sigma}\\big[\\ln(1 + e^{-2\\sigma\\Delta}) + \\ln(1 + e^{2\\sigma\\Delta})\\big]`
    (derived in this course, Chapter 4, proposition ``prop-ch4-staircase-constant``). Gradient descent with step
    :math:`\\eta` is observed to approach it up to a relative :math:`O(\\eta\\sigma)` (not proved).

    Parameters
    ----------
    sigma, lam : array_like
        Singular value of :math:`\\Sigma_{xy}` and eigenvalue of :math:`\\Sigma_x` of the mode (> 0); broadcast.

    Returns
    -------
    ndarray
    """
    sigma, lam = _positive("sigma", sigma), _positive("lam", lam)
    return np.log(np.sqrt(sigma / lam) + np.sqrt(lam / sigma)) / lam


def plateau_solution(Sigma_x: Any, Sigma_xy: Any, rank: int) -> np.ndarray:
    """Rank-``r`` minimiser of :math:`\\|\\Sigma_xW - \\Sigma_{xy}\\|_F`: the ``r``-th plateau.

    .. math:: W^{(r)} = \\Sigma_x^{-1}\\,[\\Sigma_{xy}]_r ,

    where :math:`[\\cdot]_r` is the truncated SVD (Eckart-Young applied to :math:`Z = \\Sigma_xW`, which
    has the rank of :math:`W`). Under the shared-singular-vector assumption it is
    :math:`\\sum_{i\\le r}\\frac{\\sigma_i}{\\lambda_i}u_iv_i^\\top` with the ``r`` largest :math:`\\sigma_i`,
    the plateau of the dynamics (derived here; compare with reduced-rank regression, which keeps the
    largest :math:`\\sigma_i^2/\\lambda_i`).

    Parameters
    ----------
    Sigma_x : array_like, shape (d, d)
        Symmetric positive definite.
    Sigma_xy : array_like, shape (d, p)
    rank : int

    Returns
    -------
    ndarray, shape (d, p)
    """
    Sx, Sxy = _check_covariances(Sigma_x, Sigma_xy)
    rank = check_int("rank", rank, minimum=0)
    if rank > min(Sxy.shape):
        raise ValueError(f"rank must be at most {min(Sxy.shape)}, got {rank}")
    if np.linalg.eigvalsh((Sx + Sx.T) / 2)[0] <= 0:
        raise ValueError("Sigma_x must be positive definite (the plateau Sigma_x^-1 [Sigma_xy]_r needs its "
                         "inverse); got a singular or indefinite matrix")
    P, s, Qt = np.linalg.svd(Sxy, full_matrices=False)
    return np.linalg.solve(Sx, (P[:, :rank] * s[:rank]) @ Qt[:rank])


def critical_point(Sigma_x: Any, Sigma_xy: Any, index: Sequence[int]) -> np.ndarray:
    """Critical point :math:`W_{\\mathcal I}` of the two-layer loss selected by a set of eigen-directions.

    .. math:: W_{\\mathcal I} = \\Sigma_x^{-1}\\Sigma_{xy}\\,Q_{\\mathcal I}Q_{\\mathcal I}^\\top ,

    where the columns of :math:`Q` are the eigenvectors of :math:`\\Sigma_{yx}\\Sigma_x^{-1}\\Sigma_{xy}` in
    decreasing order of eigenvalue and :math:`\\mathcal I` picks some of them (Baldi & Hornik 1989: with
    distinct eigenvalues these are the end-to-end maps of the critical points of the two-layer loss).
    ``index = range(r)`` is reduced-rank regression; under the shared-singular-vector assumption
    :math:`W_{\\mathcal I} = \\sum_{i\\in\\mathcal I}\\frac{\\sigma_i}{\\lambda_i}u_iv_i^\\top` for the matching modes.

    Parameters
    ----------
    Sigma_x : array_like, shape (d, d)
        Symmetric positive definite.
    Sigma_xy : array_like, shape (d, p)
    index : sequence of int
        Distinct positions in ``range(p)`` (0 = largest eigenvalue).

    Returns
    -------
    ndarray, shape (d, p)
    """
    Sx, Sxy = _check_covariances(Sigma_x, Sigma_xy)
    idx = [check_int("index", i, minimum=0) for i in index]
    if len(set(idx)) != len(idx) or any(i >= Sxy.shape[1] for i in idx):
        raise ValueError(f"index must list distinct integers in range({Sxy.shape[1]}), got {list(index)}")
    ols = np.linalg.solve(Sx, Sxy)
    Q = np.linalg.eigh(Sxy.T @ ols)[1][:, ::-1][:, idx]
    return ols @ Q @ Q.T


def shared_bases(Sigma_x: Any, Sigma_xy: Any, *, tol: float = 1e-8) -> tuple[np.ndarray, ...]:
    """Shared singular vectors: :math:`\\Sigma_{xy} = U\\mathrm{diag}(\\sigma)V^\\top`, :math:`\\lambda_i = u_i^\\top\\Sigma_xu_i`.

    The pairs :math:`(u_i, v_i)` come from the SVD of :math:`\\Sigma_{xy}` (decreasing :math:`\\sigma`;
    they must be distinct and non-zero); raises ``ValueError`` if :math:`\\Sigma_xU \\ne U\\mathrm{diag}(\\lambda)`
    beyond ``tol`` (relative), i.e. if Gidel et al.'s assumption fails.

    Returns
    -------
    U : ndarray, shape (d, q)
    sigmas, lambdas : ndarray, shape (q,)
    V : ndarray, shape (p, q)
    """
    Sx, Sxy = _check_covariances(Sigma_x, Sigma_xy)
    U, s, Vt = np.linalg.svd(Sxy, full_matrices=False)
    lam = np.einsum("dq,de,eq->q", U, Sx, U)
    if np.linalg.norm(Sx @ U - U * lam) > tol * np.linalg.norm(Sx):
        raise ValueError("Sigma_x and Sigma_xy do not share left singular vectors (assumption fails)")
    return U, s, lam, Vt.T


def spectral_init(U: Any, V: Any, w0: Any) -> Params:
    """Spectral balanced initialisation of ``FullyConnected([d, q, p])``: :math:`\\theta(0) = U\\mathrm{diag}(w_0)V^\\top`.

    In Gidel et al.'s data-matrix convention :math:`W_1 = U\\mathrm{diag}(\\sqrt{w_0})`,
    :math:`W_2 = \\mathrm{diag}(\\sqrt{w_0})V^\\top`; in the course's layer convention
    :math:`W_1 = \\mathrm{diag}(\\sqrt{w_0})U^\\top` (shape ``(q, d)``) and
    :math:`W_2 = V\\mathrm{diag}(\\sqrt{w_0})` (shape ``(p, q)``).
    """
    U, V = as_array("U", U, ndim=2), as_array("V", V, ndim=2)
    w0 = np.broadcast_to(as_array("w0", w0), (U.shape[1],))
    if V.shape[1] != U.shape[1] or np.any(w0 < 0):
        raise ValueError("U and V must have the same number of columns and w0 must be non-negative")
    a = np.sqrt(w0)
    return [a[:, None] * U.T, V * a]


def _check_eta(eta: float) -> float:
    if not isinstance(eta, (int, float, np.floating)) or not np.isfinite(eta) or eta < 0:
        raise ValueError(f"eta must be a finite non-negative number (the step), got {eta!r}")
    return float(eta)


def modified_loss(net: Network, loss: Loss, params: Sequence[Any], eta: float) -> np.ndarray:
    """Implicit-gradient-regularisation loss :math:`\\tilde{\\mathcal L} = \\mathcal L + \\frac{\\eta}{4}\\|\\nabla_p\\mathcal L\\|^2`.

    Gradient descent with step :math:`\\eta` follows the gradient flow of :math:`\\tilde{\\mathcal L}`
    with local error :math:`O(\\eta^3)` per step (Barrett & Dherin 2021).
    """
    eta = _check_eta(eta)
    params = net.check_params(params)
    theta = net.end_to_end(params)
    grads = net.vjp(params, loss.grad(theta))
    batch = net.batch_shape(params)
    sq = sum(np.sum(g.reshape(batch + (-1,)) ** 2, axis=-1) for g in grads)
    return loss.value(theta) + eta / 4 * sq


def modified_loss_gradient(net: Network, loss: Loss, params: Sequence[Any], eta: float) -> Params:
    """Gradient of :func:`modified_loss`: :math:`\\nabla\\mathcal L + \\frac{\\eta}{2}\\nabla^2\\mathcal L\\,\\nabla\\mathcal L`.

    Uses :math:`\\nabla\\|\\nabla\\mathcal L\\|^2 = 2\\nabla^2\\mathcal L\\,\\nabla\\mathcal L` with the exact
    Hessian-vector product ``lintheory.metrics.hvp``.
    """
    eta = _check_eta(eta)
    params = net.check_params(params)
    grads = net.vjp(params, loss.grad(net.end_to_end(params)))
    Hg = hvp(net, loss, params, grads)
    return [g + eta / 2 * h for g, h in zip(grads, Hg)]


def half_time_bounds(sigma: Any, lam: Any, eta: Any, delta: Any) -> tuple[np.ndarray, np.ndarray]:
    """Rigorous bracket of the half-time of the mode recursion started at :math:`w_0 = e^{-\\delta}`.

    With :math:`g = 1 + \\eta\\sigma` and :math:`A = (\\delta + \\ln\\frac{\\sigma}{2\\lambda})/(2\\ln g)`,
    the first iteration :math:`K` with :math:`w_K \\ge \\sigma/(2\\lambda)` of :func:`mode_recursion` satisfies

    .. math:: A \\;\\le\\; K \\;<\\; A + 1 + \\frac{1}{g\\ln g}

    for every step :math:`\\eta > 0`, provided :math:`e^{-\\delta} < \\sigma/(2\\lambda)`. Lower bound:
    :math:`w_{k+1} \\le g^2w_k`. Upper bound: below the half level
    :math:`w_{k+1} \\ge (1 + \\eta\\sigma/2)^2w_k` (so the past iterates sum to less than
    :math:`\\frac{\\sigma}{2\\lambda}\\frac{1}{\\eta\\sigma}`) and
    :math:`\\ln w_{k+1} \\ge \\ln w_k + 2\\ln g - 4\\eta\\lambda w_k/g`. Hence
    :math:`K = \\delta/(2\\ln(1+\\eta\\sigma)) + O(1)` (derived in this course, Chapter 4).

    Parameters
    ----------
    sigma, lam, eta, delta : array_like
        Positive; broadcast together.

    Returns
    -------
    lower, upper : ndarray
        :math:`A` and :math:`A + 1 + 1/(g\\ln g)`.
    """
    sigma, lam, eta = _positive("sigma", sigma), _positive("lam", lam), _positive("eta", eta)
    delta = _positive("delta", delta)
    if np.any(np.exp(-delta) >= sigma / (2 * lam)):
        raise ValueError("delta is too small: need exp(-delta) < sigma / (2 lam)")
    g = 1 + eta * sigma
    lower = (delta + np.log(sigma / (2 * lam))) / (2 * np.log(g))
    return lower, lower + 1 + 1 / (g * np.log(g))


def mode_invariant_interval(sigma: Any, lam: Any, eta: Any) -> np.ndarray:
    """Right end of the candidate invariant interval of the mode map: its third fixed point.

    .. math:: f(w) = w\\big(1 + \\eta(\\sigma - \\lambda w)\\big)^2,\\qquad
              f(w) = w \\iff w \\in \\Big\\{0,\\ \\frac{\\sigma}{\\lambda},\\
              p = \\frac{\\sigma}{\\lambda}\\Big(1 + \\frac{2}{\\eta\\sigma}\\Big)\\Big\\} .

    :math:`p` is repelling and every orbit that exceeds it increases to :math:`+\\infty`;
    :math:`[0, p]` is forward-invariant iff :func:`mode_peak` :math:`\\le p`, i.e. iff
    :math:`\\eta\\sigma \\le 2` (derived in this course, Chapter 4).

    Returns
    -------
    ndarray
        :math:`p`, broadcast over the arguments.
    """
    sigma, lam, eta = _positive("sigma", sigma), _positive("lam", lam), _positive("eta", eta)
    return sigma / lam * (1 + 2 / (eta * sigma))


def mode_peak(sigma: Any, lam: Any, eta: Any) -> np.ndarray:
    """Value of the mode map at its critical point :math:`w_c = \\frac{\\sigma}{\\lambda}\\frac{1+r}{3r}`, :math:`r = \\eta\\sigma`.

    .. math:: f(w_c) = \\frac{\\sigma}{\\lambda}\\,\\frac{4(1 + r)^3}{27\\,r} ,

    the maximum of :math:`f` on :math:`[0, (1+r)\\sigma/(r\\lambda)]` (where :math:`f` falls back to 0). Since
    :math:`4(1+r)^3 - 27(r+2) = (r-2)(2r+5)^2`, it is at most :func:`mode_invariant_interval` iff
    :math:`r \\le 2` (derived in this course, Chapter 4).
    """
    sigma, lam, eta = _positive("sigma", sigma), _positive("lam", lam), _positive("eta", eta)
    r = eta * sigma
    return sigma / lam * 4 * (1 + r) ** 3 / (27 * r)


def mode_divergence_threshold(sigma: Any) -> np.ndarray:
    """Largest step for which every orbit of the mode map started in :math:`[0, \\sigma/\\lambda]` stays bounded.

    .. math:: \\eta_{\\max} = 2/\\sigma ,

    against :math:`1/\\sigma` for the linear stability of :math:`\\sigma/\\lambda` and :math:`1/(2\\sigma)` for
    monotone convergence. For :math:`\\eta\\sigma > 2` an open interval of starting points around
    :math:`w_c` (see :func:`mode_peak`) is sent beyond :math:`p` and diverges (derived in this course, Chapter 4).
    """
    return 2 / _positive("sigma", sigma)


def effective_mode_sizes(params: Sequence[Any], U: Any, V: Any) -> np.ndarray:
    """Effective initial strengths of the modes from a generic small initialisation (a heuristic).

    For ``FullyConnected([d, h, m])`` with layers :math:`W_1` (``(h, d)``) and :math:`W_2` (``(m, h)``), the
    hidden vectors of mode :math:`i` are :math:`\\alpha_i = W_1u_i` and :math:`\\beta_i = W_2^\\top v_i`. While
    :math:`\\theta` is small, gradient descent multiplies :math:`s_i = (\\alpha_i + \\beta_i)/2` by
    :math:`1 + \\eta\\sigma_i` per step and :math:`(\\alpha_i - \\beta_i)/2` by :math:`1 - \\eta\\sigma_i`, so
    :math:`u_i^\\top\\theta v_i \\approx \\|s_i\\|^2(1+\\eta\\sigma_i)^{2k}`. Modes learned earlier occupy the
    hidden directions of their :math:`s_j`; the size returned for mode :math:`i` is that of the part of
    :math:`s_i` orthogonal to :math:`s_1, \\dots, s_{i-1}` (Gram-Schmidt in the order of the columns):

    .. math:: w_{\\text{eff}, i} = \\big\\|P^\\perp_{s_1,\\dots,s_{i-1}}\\,s_i\\big\\|^2 .

    Using :math:`\\delta_i = -\\ln w_{\\text{eff}, i}` in :func:`half_times` predicts the half-times from a
    generic initialisation (observed numerically in Chapter 4, not proved).

    Parameters
    ----------
    params : sequence of two arrays
        Layers of ``FullyConnected([d, h, m])``, shapes ``(..., h, d)`` and ``(..., m, h)``.
    U, V : array_like, shapes (d, q) and (m, q)
        Shared singular vectors, columns in the order in which the modes are learned (decreasing sigma).

    Returns
    -------
    ndarray, shape ``(..., q)``
    """
    if len(params) != 2:
        raise ValueError(f"params must hold the two layers of a two-layer network, got {len(params)} arrays")
    W1, W2 = as_array("params[0]", params[0]), as_array("params[1]", params[1])
    U, V = as_array("U", U, ndim=2), as_array("V", V, ndim=2)
    if W1.ndim < 2 or W2.ndim < 2 or W1.shape[-1] != U.shape[0] or W2.shape[-2] != V.shape[0] \
            or W1.shape[-2] != W2.shape[-1] or U.shape[1] != V.shape[1]:
        raise ValueError(f"shapes do not match: W1 {W1.shape}, W2 {W2.shape}, U {U.shape}, V {V.shape}")
    s = (np.einsum("...hd,dq->...qh", W1, U) + np.einsum("...mh,mq->...qh", W2, V)) / 2
    out = np.empty(s.shape[:-1])
    for i in range(s.shape[-2]):
        v = s[..., i, :]
        if i:
            Q = np.linalg.qr(np.swapaxes(s[..., :i, :], -1, -2))[0]
            v = v - np.einsum("...hj,...j->...h", Q, np.einsum("...hj,...h->...j", Q, v))
        out[..., i] = np.sum(v ** 2, axis=-1)
    return out


def _rho(value: Any) -> np.ndarray:
    return _positive("rho", value)


def one_mode_map(z: Any, rho: Any) -> np.ndarray:
    """The one-mode map in units of its limit: :math:`F_\\rho(z) = z\\,(1 + \\rho(1 - z))^2`.

    With :math:`z = \\lambda w/\\sigma` and :math:`\\rho = \\eta\\sigma` this is :func:`mode_recursion`'s step
    :math:`w \\mapsto w(1 + \\eta(\\sigma - \\lambda w))^2`, whose fixed points become :math:`0`, :math:`1` and
    :math:`1 + 2/\\rho`. At :math:`\\rho = 2`, :math:`x = 1 - z` obeys :math:`x \\mapsto T_3(x) = 4x^3 - 3x`
    (derived in this course, Chapter 4). ``z`` and ``rho`` (> 0) broadcast.
    """
    z, rho = as_array("z", z, finite=False), _rho(rho)
    return z * (1 + rho * (1 - z)) ** 2


def one_mode_orbit_diagram(rho: Any, *, z0: float = 0.01, n_transient: int = 2000, n_keep: int = 200,
                           n_average: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """Orbit (bifurcation) diagram and Lyapunov exponent of :func:`one_mode_map` for each :math:`\\rho`.

    Iterates :math:`z_{k+1} = F_\\rho(z_k)` from ``z0`` for ``n_transient`` steps, keeps the next ``n_keep``
    iterates (the attractor as seen from ``z0``) and estimates the Lyapunov exponent

    .. math:: \\Lambda(\\rho) = \\frac1N\\sum_{k}\\ln|F_\\rho'(z_k)|,\\qquad
              F_\\rho'(z) = (1 + \\rho - \\rho z)(1 + \\rho - 3\\rho z),

    over the ``n_average`` steps after the transient. An orbit that exceeds the third fixed point
    :math:`1 + 2/\\rho` increases to infinity (the step-size theorem of Chapter 4); its points and exponent are NaN
    (with a relative margin of 1e-9 for round-off at :math:`\\rho = 2`, where the orbit touches it).
    Closed forms to compare with: :math:`\\ln|1 - 2\\rho|` for :math:`\\rho < 1`, half the log of
    :func:`one_mode_two_cycle`'s multiplier on the stable 2-cycle, :math:`\\ln 3` at :math:`\\rho = 2`.

    Parameters
    ----------
    rho : array_like, shape (R,)
        Values of :math:`\\eta\\sigma` (> 0).
    z0 : float
        Starting point :math:`\\lambda w_0/\\sigma` (>= 0).
    n_transient, n_keep, n_average : int
        Steps discarded, points kept (``n_keep <= n_average``), steps averaged for the exponent.

    Returns
    -------
    points : ndarray, shape (n_keep, R)
    lyapunov : ndarray, shape (R,)
        ``-inf`` where an iterate hits a critical point exactly (superattracting, e.g. :math:`\\rho = 1/2`).
    """
    rho = _rho(as_array("rho", rho, ndim=1))
    z0 = float(as_array("z0", z0, ndim=0))
    if z0 < 0:
        raise ValueError(f"z0 must be non-negative, got {z0}")
    n_transient = check_int("n_transient", n_transient, minimum=0)
    n_keep = check_int("n_keep", n_keep, minimum=1)
    n_average = check_int("n_average", n_average, minimum=n_keep)
    bound = (1 + 2 / rho) * (1 + 1e-9)
    z = np.full_like(rho, z0)
    escaped = z > bound
    points = np.empty((n_keep, rho.size))
    total = np.zeros_like(rho)
    with np.errstate(divide="ignore"):
        for k in range(n_transient + n_average):
            if k >= n_transient:
                total += np.log(np.abs((1 + rho - rho * z) * (1 + rho - 3 * rho * z)))
                if k - n_transient < n_keep:
                    points[k - n_transient] = z
            z = np.where(escaped, 0.0, z * (1 + rho * (1 - z)) ** 2)
            escaped |= z > bound
    points[:, escaped] = np.nan
    return points, np.where(escaped, np.nan, total / n_average)


def one_mode_two_cycle(rho: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The period-2 orbit of :func:`one_mode_map` born at :math:`\\rho = 1`, and its multiplier.

    .. math:: z_\\pm = \\frac{1 + \\rho \\pm \\sqrt{(\\rho - 1)(\\rho + 3)}}{2\\rho},\\qquad
              F_\\rho'(z_+)F_\\rho'(z_-) = 7 - 4\\rho - 2\\rho^2 ,

    the roots of :math:`\\rho^2z^2 - \\rho(1 + \\rho)z + 1`, the factor of :math:`F_\\rho(F_\\rho(z)) - z` that
    vanishes at :math:`z = 1` when :math:`\\rho = 1`. The cycle is stable iff :math:`|7 - 4\\rho - 2\\rho^2| < 1`, i.e.
    :math:`1 < \\rho < \\sqrt5 - 1`; at :math:`\\sqrt5 - 1` the multiplier crosses :math:`-1` and the period doubles
    again (derived in this course, Chapter 4).

    Parameters
    ----------
    rho : array_like
        Values :math:`\\ge 1`.

    Returns
    -------
    z_minus, z_plus, multiplier : ndarray
    """
    rho = as_array("rho", rho)
    if np.any(rho < 1):
        raise ValueError(f"rho must be at least 1 (the 2-cycle is born at rho = 1), got {rho}")
    root = np.sqrt((rho - 1) * (rho + 3))
    return (1 + rho - root) / (2 * rho), (1 + rho + root) / (2 * rho), 7 - 4 * rho - 2 * rho ** 2


def one_mode_escape_times(rho: Any, z0: Any, max_steps: int, *, level: float = 1e3) -> np.ndarray:
    """First iteration at which an orbit of :func:`one_mode_map` exceeds ``level`` (``-1``: not within ``max_steps``).

    Stores no trajectory, so many long orbits are cheap. ``rho`` (> 0) and ``z0`` (>= 0) broadcast.

    Returns
    -------
    ndarray of int, the broadcast shape of ``rho`` and ``z0``
    """
    rho, z0 = np.broadcast_arrays(_rho(rho), as_array("z0", z0))
    if np.any(z0 < 0):
        raise ValueError("z0 must be non-negative")
    max_steps = check_int("max_steps", max_steps, minimum=0)
    level = check_positive("level", level)
    out = np.where(z0 > level, 0, -1).ravel()
    idx = np.flatnonzero(out < 0)                      # only the orbits still inside are iterated
    z, r = z0.ravel()[idx], rho.ravel()[idx]
    for k in range(1, max_steps + 1):
        if not idx.size:
            break
        z = z * (1 + r * (1 - z)) ** 2
        gone = z > level
        out[idx[gone]] = k
        idx, z, r = idx[~gone], z[~gone], r[~gone]
    return out.reshape(z0.shape)


def one_mode_escape_time_law(excess: Any, quantile: float = 0.5) -> np.ndarray:
    """Leading-order escape time of the one-mode map just above :math:`\\rho = \\eta\\sigma = 2`.

    For :math:`\\rho = 2 + \\varepsilon` the orbit leaves :math:`[0, 1 + 2/\\rho]` through the hole
    :math:`\\{F_\\rho > 1 + 2/\\rho\\}` around the critical point :math:`z_c = 1/2 + O(\\varepsilon)`, where
    :math:`F_\\rho(z_c) - (1 + 2/\\rho) = (\\rho - 2)(2\\rho + 5)^2/(27\\rho) = \\tfrac32\\varepsilon + O(\\varepsilon^2)` and
    :math:`F_\\rho'' = -12 + O(\\varepsilon)`: a hole of width :math:`\\sqrt\\varepsilon`. Under the invariant arcsine density
    of :math:`\\rho = 2` (Chebyshev conjugacy, :math:`x = 1 - z`), whose value at :math:`x = 1/2` is :math:`2/(\\pi\\sqrt3)`, the
    hole has mass :math:`\\mu = 2\\sqrt\\varepsilon/(\\pi\\sqrt3)`; escaping at rate :math:`\\mu` per step gives the ``quantile``

    .. math:: k_q \\approx \\frac{-\\ln(1 - q)}{\\mu} = -\\ln(1 - q)\\,\\frac{\\pi\\sqrt3}{2\\sqrt\\varepsilon}
              \\qquad(\\text{median: } 1.886/\\sqrt\\varepsilon) .

    A heuristic of the open-system kind (hole size times invariant density), derived in this course
    (Chapter 4) and checked numerically there, not proved.

    Parameters
    ----------
    excess : array_like
        :math:`\\varepsilon = \\eta\\sigma - 2` (> 0, small).
    quantile : float
        In (0, 1).
    """
    excess = _positive("excess", excess)
    quantile = check_positive("quantile", quantile)
    if quantile >= 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    mass = 2 * np.sqrt(excess) / (np.pi * np.sqrt(3))
    return -np.log1p(-quantile) / mass
