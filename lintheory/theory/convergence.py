"""Convergence rates of gradient flow on two-layer linear networks (Min, Tarmoun, Vidal, Mallada 2021).

The network is ``x -> W_2 W_1 x`` with ``W_1`` of shape ``(h, d)`` and ``W_2`` of shape ``(m, h)``; in the
paper's notation :math:`U = W_1^\\top` (``d x h``) and :math:`V = W_2` (``m x h``), so that the predictions are
:math:`XUV^\\top`. The paper's loss is :math:`\\tfrac12\\|Y - XUV^\\top\\|_F^2`; the course's default is
:math:`\\tfrac1{2n}\\|\\cdot\\|_F^2`. A loss :math:`\\kappa\\cdot\\tfrac12\\|E\\|_F^2` runs gradient flow
``kappa`` times faster, so every rate below is multiplied by ``kappa`` (``1/n`` for ``"half_mean"``, 1 for
``"half_sum"``, ``2/n`` for ``"mean"``, 2 for ``"sum"``), selected with the ``normalization`` keyword.
Functions accept leading batch (or time) axes on ``W1`` and ``W2``.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np

from .._validation import as_array, check_positive, check_rows
from ..losses import squared_loss_factor

__all__ = ["row_space_split", "reduced_imbalance", "imbalance_rate_bound", "instantaneous_rate",
           "gronwall_bound", "deficiency_margin", "margin_rate_bound", "random_init_rate",
           "gd_imbalance_increment"]


def _check_X(X: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``X`` (n, d) with full row rank ``n <= d``; returns ``X``, its singular values and right basis.

    ``n = d`` (an empty null space) is allowed: it is the data of a problem reduced by ``reduce_width``.
    """
    X = as_array("X", X, ndim=2)
    n, d = X.shape
    if n > d:
        raise ValueError(f"X must be underdetermined or square (n <= d), got shape {X.shape}")
    _, s, Vt = np.linalg.svd(X)
    if s[-1] <= 1e-12 * s[0]:
        raise ValueError("X must have full row rank (its smallest singular value is zero)")
    return X, s, Vt


def _check_layers(X: np.ndarray, W1: Any, W2: Any) -> tuple[np.ndarray, np.ndarray]:
    W1, W2 = np.asarray(W1, dtype=float), np.asarray(W2, dtype=float)
    if W1.ndim < 2 or W1.shape[-1] != X.shape[1]:
        raise ValueError(f"W1 must have shape (..., h, {X.shape[1]}), got {W1.shape}")
    if W2.ndim < 2 or W2.shape[-1] != W1.shape[-2] or W2.shape[:-2] != W1.shape[:-2]:
        raise ValueError(f"W2 must have shape {W1.shape[:-2] + (-1, W1.shape[-2])} (..., m, h), got {W2.shape}")
    return W1, W2


def row_space_split(X: Any, W1: Any) -> tuple[np.ndarray, np.ndarray]:
    """Split the first layer into its row-space and null-space parts.

    With :math:`X = W_x S_x \\Phi_1^\\top` (thin SVD, :math:`\\Phi_1` of shape ``(d, n)``) and
    :math:`\\Phi_2` an orthonormal basis of :math:`\\ker X`,

    .. math:: U_1 = \\Phi_1^\\top U, \\qquad U_2 = \\Phi_2^\\top U, \\qquad U = W_1^\\top .

    Under gradient flow :math:`\\dot U_2 = 0` (derived in this course; the reduction follows Min et al. 2021).

    Parameters
    ----------
    X : ndarray, shape (n, d)
        Data with full row rank, ``n < d``.
    W1 : ndarray, shape (..., h, d)

    Returns
    -------
    U1 : ndarray, shape (..., n, h)
    U2 : ndarray, shape (..., d - n, h)
    """
    X, _, Vt = _check_X(X)
    W1 = np.asarray(W1, dtype=float)
    if W1.ndim < 2 or W1.shape[-1] != X.shape[1]:
        raise ValueError(f"W1 must have shape (..., h, {X.shape[1]}), got {W1.shape}")
    n = X.shape[0]
    U = np.swapaxes(W1, -1, -2)
    return Vt[:n] @ U, Vt[n:] @ U


def reduced_imbalance(X: Any, W1: Any, W2: Any) -> np.ndarray:
    """Reduced imbalance :math:`D_1 = U_1^\\top U_1 - V^\\top V` (``h x h``), conserved by gradient flow.

    The full imbalance is :math:`U^\\top U - V^\\top V = D_1 + U_2^\\top U_2` with :math:`U_2` constant
    (Min et al. 2021). Note the sign: ``lt.metrics.imbalance`` returns :math:`W_2^\\top W_2 - W_1W_1^\\top
    = -(U^\\top U - V^\\top V)`.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    W1 : ndarray, shape (..., h, d)
    W2 : ndarray, shape (..., m, h)

    Returns
    -------
    ndarray, shape (..., h, h)
    """
    X = _check_X(X)[0]
    W1, W2 = _check_layers(X, W1, W2)
    U1 = row_space_split(X, W1)[0]
    return np.swapaxes(U1, -1, -2) @ U1 - np.swapaxes(W2, -1, -2) @ W2


def imbalance_rate_bound(X: Any, W1: Any, W2: Any, *, normalization: str = "half_mean") -> np.ndarray:
    """Rate ``c`` of the imbalance bound :math:`\\mathcal L(t) \\le e^{-2ct}\\mathcal L(0)`.

    .. math:: c = \\kappa\\,\\lambda_{\\min}(XX^\\top)\\big([\\lambda_n(D_1)]_+ + [\\lambda_m(-D_1)]_+\\big),

    with :math:`D_1` the reduced imbalance (see ``reduced_imbalance``), :math:`\\lambda_k` the ``k``-th
    largest eigenvalue and :math:`\\kappa` the loss factor (``1/n`` in the course's convention, 1 in the
    paper's). Computed at the initialization, ``c`` holds for all times since :math:`D_1` is conserved.
    Source: Min et al. (ICML 2021), Theorem 1 (= Corollary 4 of the extended version), whose loss is
    :math:`\\tfrac12\\|E\\|_F^2` and whose :math:`\\lambda_r(\\Sigma_x)` is :math:`\\lambda_{\\min}(XX^\\top)`
    (``normalization="half_sum"`` gives their :math:`\\lambda_r(\\Sigma_x)c`); the proof used in the course
    (Weyl) is derived independently and agrees with theirs (their App. C).

    Parameters
    ----------
    X : ndarray, shape (n, d)
    W1 : ndarray, shape (..., h, d)
    W2 : ndarray, shape (..., m, h)
    normalization : {"half_mean", "half_sum", "mean", "sum"}
        The loss convention of ``lt.SquaredLoss``.

    Returns
    -------
    ndarray, shape (...)
    """
    X = _check_X(X)[0]
    n, m = X.shape[0], np.shape(W2)[-2]
    D1 = reduced_imbalance(X, W1, W2)
    h = D1.shape[-1]
    if h < max(n, m):
        raise ValueError(f"the bound needs a width h >= max(n, m) = {max(n, m)}, got h = {h}")
    ev = np.linalg.eigvalsh(D1)[..., ::-1]                 # decreasing
    lam_n, lam_m_neg = ev[..., n - 1], -ev[..., h - m]      # lambda_n(D1), lambda_m(-D1)
    lmin = np.linalg.eigvalsh(X @ X.T)[0]
    return squared_loss_factor(normalization, n) * lmin * (np.maximum(lam_n, 0) + np.maximum(lam_m_neg, 0))


def instantaneous_rate(X: Any, W1: Any, W2: Any, *, normalization: str = "half_mean") -> np.ndarray:
    """Instantaneous rate :math:`r` with :math:`\\dot{\\mathcal L} \\le -2r\\,\\mathcal L`.

    .. math:: r = \\kappa\\,\\lambda_{\\min}(XX^\\top)\\big[\\lambda_{\\min}(U_1U_1^\\top) + \\lambda_{\\min}(VV^\\top)\\big]

    (Min et al. 2021; derived here). Always :math:`r(t) \\ge c` (``imbalance_rate_bound``).

    Parameters
    ----------
    X, W1, W2, normalization
        As in ``imbalance_rate_bound`` (``W1``, ``W2`` may carry a leading time axis).

    Returns
    -------
    ndarray, shape (...)
    """
    X = _check_X(X)[0]
    W1, W2 = _check_layers(X, W1, W2)
    U1 = row_space_split(X, W1)[0]
    a = np.linalg.eigvalsh(U1 @ np.swapaxes(U1, -1, -2))[..., 0]
    b = np.linalg.eigvalsh(W2 @ np.swapaxes(W2, -1, -2))[..., 0]
    lmin = np.linalg.eigvalsh(X @ X.T)[0]
    return squared_loss_factor(normalization, X.shape[0]) * lmin * (np.maximum(a, 0) + np.maximum(b, 0))


def gronwall_bound(t: Any, rate: Any, loss0: float) -> np.ndarray:
    """Grönwall bound :math:`\\mathcal L(0)\\exp(-2\\int_0^t r(s)\\,ds)` from sampled rates.

    The integral is the trapezoidal rule on the grid ``t`` (accurate to :math:`O(\\Delta t^2)`).

    Parameters
    ----------
    t : array_like, shape (T,)
        Increasing times starting at the initial time.
    rate : array_like, shape (T, ...)
        :math:`r(t)` at those times (e.g. ``instantaneous_rate`` of a trajectory).
    loss0 : float
        :math:`\\mathcal L(0)`.

    Returns
    -------
    ndarray, shape (T, ...)
    """
    t = as_array("t", t, ndim=1)
    if not (np.all(np.isfinite(loss0)) and np.all(np.asarray(loss0) >= 0)):
        raise ValueError(f"loss0 must be a finite non-negative loss, got {loss0!r}")
    rate = np.asarray(rate, dtype=float)
    if rate.shape[:1] != t.shape or np.any(np.diff(t) <= 0):
        raise ValueError(f"t must be increasing and rate must have shape ({t.size}, ...), got {rate.shape}")
    dt = np.diff(t).reshape((-1,) + (1,) * (rate.ndim - 1))
    integral = np.concatenate([np.zeros((1,) + rate.shape[1:]),
                               np.cumsum(0.5 * dt * (rate[1:] + rate[:-1]), axis=0)])
    return np.asarray(loss0) * np.exp(-2 * integral)


def _residual(X: Any, Y: Any, W1: Any, W2: Any) -> tuple[np.ndarray, ...]:
    """Checked ``X``, its singular values, ``Y`` as (n, m), ``W1``, ``W2`` and the residual ``Y - X W1^T W2^T``."""
    X, s, _ = _check_X(X)
    Y = check_rows("Y", as_array("Y", Y, ndim=(1, 2)), X.shape[0], "row per sample of X")
    Y = Y[:, None] if Y.ndim == 1 else Y
    W1, W2 = _check_layers(X, W1, W2)
    if W2.shape[-2] != Y.shape[1]:
        raise ValueError(f"W2 must have {Y.shape[1]} rows (the outputs of Y), got shape {W2.shape}")
    return X, s, Y, W1, W2, Y - X @ np.swapaxes(W1, -1, -2) @ np.swapaxes(W2, -1, -2)


def deficiency_margin(X: Any, Y: Any, W1: Any, W2: Any) -> np.ndarray:
    """Deficiency margin of a two-layer initialization (the analogue of Arora et al. 2019).

    .. math:: \\mu = \\sigma_k(\\hat\\Theta) - \\frac{\\|Y - XW_1^\\top W_2^\\top\\|_F}{\\sigma_{\\min}(X)},
              \\qquad \\hat\\Theta = X^+Y,\\ k = \\min(n, m).

    Along gradient flow the loss decreases, so :math:`\\sigma_k(U_1V^\\top(t)) \\ge \\mu` for all ``t``
    (derived here; scale-free, so it does not depend on the loss normalization).

    Parameters
    ----------
    X : ndarray, shape (n, d)
    Y : ndarray, shape (n,) or (n, m)
    W1 : ndarray, shape (..., h, d)
    W2 : ndarray, shape (..., m, h)

    Returns
    -------
    ndarray, shape (...)
    """
    X, s, Y, _, _, E = _residual(X, Y, W1, W2)
    theta_hat = np.linalg.pinv(X) @ Y
    k = min(X.shape[0], Y.shape[1])
    sk = np.linalg.svd(theta_hat, compute_uv=False)[k - 1]
    return sk - np.linalg.norm(E, axis=(-2, -1)) / s[-1]


def margin_rate_bound(X: Any, Y: Any, W1: Any, W2: Any, *, normalization: str = "half_mean",
                      balance_tol: float = 1e-8) -> np.ndarray:
    """Rate of :math:`\\mathcal L(t) \\le e^{-2c_\\mu t}\\mathcal L(0)` for a *balanced* initialization.

    If :math:`D_1 = 0` then :math:`\\lambda_{\\min}(U_1U_1^\\top)` and :math:`\\lambda_{\\min}(VV^\\top)` are
    :math:`\\sigma_k(U_1V^\\top)` (when ``k = min(n, m)`` equals their size, else 0), and
    :math:`\\sigma_k(U_1V^\\top(t)) \\ge \\mu` (``deficiency_margin``), hence

    .. math:: c_\\mu = \\kappa\\,\\lambda_{\\min}(XX^\\top)\\,\\max(\\mu, 0) \\times (2 \\text{ if } n = m \\text{ else } 1) .

    Derived here in the spirit of Arora, Cohen, Golowich, Hu (2019); Min et al. (arXiv v2, 2022), Corollary 5,
    state the margin condition with their margin measured on :math:`W^\\top Y` (see ``min_theorem3_rate``).

    Parameters
    ----------
    X, Y, W1, W2
        As in ``deficiency_margin``.
    normalization : {"half_mean", "half_sum", "mean", "sum"}
    balance_tol : float
        Largest allowed :math:`\\|D_1\\|_2 / \\|U_1\\|_2^2`; a ValueError is raised above it.

    Returns
    -------
    ndarray, shape (...)
    """
    X = _check_X(X)[0]
    mu = deficiency_margin(X, Y, W1, W2)
    D1 = reduced_imbalance(X, W1, W2)
    U1 = row_space_split(X, W1)[0]
    rel = np.linalg.norm(D1, 2, axis=(-2, -1)) / np.maximum(np.linalg.norm(U1, 2, axis=(-2, -1)) ** 2, 1e-300)
    if np.any(rel > check_positive("balance_tol", balance_tol)):
        raise ValueError(f"the initialization is not balanced: ||D1|| / ||U1||^2 = {np.max(rel):.3g} > "
                         f"balance_tol = {balance_tol:g}; use imbalance_rate_bound instead")
    n, m = X.shape[0], np.shape(W2)[-2]
    lmin = np.linalg.eigvalsh(X @ X.T)[0]
    return squared_loss_factor(normalization, n) * lmin * (2.0 if n == m else 1.0) * np.maximum(mu, 0)


def random_init_rate(X: Any, h: Any, alpha: Any, *, normalization: str = "half_mean") -> np.ndarray:
    """Leading-order rate ``c`` for i.i.d. :math:`\\mathcal N(0, h^{-2\\alpha})` initialization.

    :math:`U_1^\\top U_1` and :math:`V^\\top V` have their nonzero eigenvalues near :math:`h^{1-2\\alpha}`
    and nearly orthogonal ranges when :math:`h \\gg n + m`, so

    .. math:: c \\approx 2\\kappa\\,\\lambda_{\\min}(XX^\\top)\\,h^{1-2\\alpha}\\,\\big(1 - O(\\sqrt{(n+m)/h})\\big)

    (derived in this course from the spectra of Gaussian matrices; Min et al. 2021, ICML Lemma 1, show
    :math:`\\lambda_r(\\Lambda(0)) + \\lambda_m(-\\Lambda(0)) > h^{1-2\\alpha}` with probability :math:`1 - \\delta` for
    :math:`h > h_0`; returns the leading term).

    Parameters
    ----------
    X : ndarray, shape (n, d)
    h : array_like
        Widths.
    alpha : array_like
        Variance exponents; ``h`` and ``alpha`` broadcast together.
    normalization : {"half_mean", "half_sum", "mean", "sum"}

    Returns
    -------
    ndarray
    """
    X = _check_X(X)[0]
    h, alpha = as_array("h", h), as_array("alpha", alpha)
    if np.any(h <= 0):
        raise ValueError("h must be positive")
    lmin = np.linalg.eigvalsh(X @ X.T)[0]
    return 2 * squared_loss_factor(normalization, X.shape[0]) * lmin * h ** (1 - 2 * alpha)


def gd_imbalance_increment(grads: Sequence[Any], step: float) -> np.ndarray:
    """Exact change of :math:`U^\\top U - V^\\top V` in one gradient-descent step.

    With :math:`G_1, G_2` the gradients of the loss in :math:`W_1, W_2` (any normalization),

    .. math:: \\Delta(W_1W_1^\\top - W_2^\\top W_2) = \\eta^2\\,(G_1G_1^\\top - G_2^\\top G_2)
              = \\eta^2\\,(G_U^\\top G_U - G_V^\\top G_V),

    because the first-order terms cancel (:math:`G_1W_1^\\top = W_2^\\top G_2`). Derived here.

    Parameters
    ----------
    grads : sequence of two ndarrays
        ``[G1, G2]`` with shapes ``(..., h, d)`` and ``(..., m, h)`` (e.g. ``net.vjp(params, loss.grad(theta))``).
    step : float
        The step :math:`\\eta`.

    Returns
    -------
    ndarray, shape (..., h, h)
    """
    if len(grads) != 2:
        raise ValueError(f"grads must hold the two layer gradients [G1, G2], got {len(grads)} arrays")
    G1, G2 = (np.asarray(g, dtype=float) for g in grads)
    eta = check_positive("step", step)
    return eta ** 2 * (G1 @ np.swapaxes(G1, -1, -2) - np.swapaxes(G2, -1, -2) @ G2)


def _root(delta: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Positive root of :math:`a^2 - \\delta a - \\sigma^2 = 0`, i.e. :math:`(\\delta + \\sqrt{\\delta^2 + 4\\sigma^2})/2`."""
    return 0.5 * (delta + np.sqrt(delta ** 2 + 4 * sigma ** 2))


def combined_rate_bound(X: Any, Y: Any, W1: Any, W2: Any, *, normalization: str = "half_mean") -> np.ndarray:
    """Rate bound from imbalance *and* margin together: :math:`r(t) \\ge c_{\\rm comb}` for all ``t``.

    With :math:`D_1` the reduced imbalance, :math:`\\mu` the deficiency margin (``deficiency_margin``),
    :math:`f(\\delta, \\sigma) = (\\delta + \\sqrt{\\delta^2 + 4\\sigma^2})/2` and
    :math:`\\sigma_A = [\\mu]_+` if ``n <= m`` (else 0), :math:`\\sigma_B = [\\mu]_+` if ``m <= n`` (else 0),

    .. math:: c_{\\rm comb} = \\kappa\\,\\lambda_{\\min}(XX^\\top)\\Big(
              \\max\\big([\\lambda_n(D_1)]_+,\\ f(\\lambda_{\\min}(D_1), \\sigma_A)\\big)
              + \\max\\big([\\lambda_m(-D_1)]_+,\\ f(\\lambda_{\\min}(-D_1), \\sigma_B)\\big)\\Big).

    It is never below ``imbalance_rate_bound`` and equals ``margin_rate_bound`` when :math:`D_1 = 0`.
    For ``n = m = h = 1`` and :math:`\\sigma = |u_1v|` it is exact: :math:`u_1^2 + v^2 =
    \\sqrt{(u_1^2 - v^2)^2 + 4u_1^2v^2}`. Derived in this course (from
    :math:`(U_1U_1^\\top)^2 = PP^\\top + U_1D_1U_1^\\top` with :math:`P = U_1V^\\top`); a corollary of Min et al.
    (arXiv v2, 2022), Proposition 1 (their Lemma 8 term is never below the max above) with the course's margin,
    and on whitened data never above their Theorem 3 rate (``min_theorem3_rate``).

    Parameters
    ----------
    X, Y, W1, W2
        As in ``deficiency_margin``.
    normalization : {"half_mean", "half_sum", "mean", "sum"}

    Returns
    -------
    ndarray, shape (...)
    """
    X = _check_X(X)[0]
    n, m = X.shape[0], np.shape(W2)[-2]
    mu = np.maximum(deficiency_margin(X, Y, W1, W2), 0)
    D1 = reduced_imbalance(X, W1, W2)
    h = D1.shape[-1]
    if h < max(n, m):
        raise ValueError(f"the bound needs a width h >= max(n, m) = {max(n, m)}, got h = {h}")
    ev = np.linalg.eigvalsh(D1)[..., ::-1]                 # decreasing
    sig_a = mu if n <= m else np.zeros_like(mu)
    sig_b = mu if m <= n else np.zeros_like(mu)
    a = np.maximum(np.maximum(ev[..., n - 1], 0), _root(ev[..., -1], sig_a))
    b = np.maximum(np.maximum(-ev[..., h - m], 0), _root(-ev[..., 0], sig_b))
    lmin = np.linalg.eigvalsh(X @ X.T)[0]
    return squared_loss_factor(normalization, n) * lmin * (a + b)


def end_to_end_velocity(X: Any, Y: Any, W1: Any, W2: Any, *, normalization: str = "half_mean") -> np.ndarray:
    """Velocity of the end-to-end predictor :math:`\\theta = UV^\\top` under gradient flow.

    .. math:: \\dot\\theta = -\\big(UU^\\top\\,\\nabla\\mathcal L(\\theta) + \\nabla\\mathcal L(\\theta)\\,VV^\\top\\big),
              \\qquad \\nabla\\mathcal L(\\theta) = -\\kappa X^\\top(Y - X\\theta),

    gradient flow on :math:`\\theta` preconditioned by the two positive semi-definite factors
    (Arora, Cohen, Hazan 2018 for the balanced case; the identity is the chain rule, derived here).

    Parameters
    ----------
    X, Y, W1, W2
        As in ``deficiency_margin``.
    normalization : {"half_mean", "half_sum", "mean", "sum"}

    Returns
    -------
    ndarray, shape (..., d, m)
    """
    X = _check_X(X)[0]
    Y = as_array("Y", Y, ndim=(1, 2))
    Y = Y[:, None] if Y.ndim == 1 else Y
    W1, W2 = _check_layers(X, W1, W2)
    if Y.shape != (X.shape[0], W2.shape[-2]):
        raise ValueError(f"Y must have shape ({X.shape[0]}, {W2.shape[-2]}), got {Y.shape}")
    U = np.swapaxes(W1, -1, -2)
    theta = U @ np.swapaxes(W2, -1, -2)
    grad = -squared_loss_factor(normalization, X.shape[0]) * X.T @ (Y - X @ theta)
    return -(U @ np.swapaxes(U, -1, -2) @ grad + grad @ W2 @ np.swapaxes(W2, -1, -2))


def _psd_sqrt(A: np.ndarray) -> np.ndarray:
    w, Q = np.linalg.eigh(A)
    return (Q * np.sqrt(np.maximum(w, 0))[..., None, :]) @ np.swapaxes(Q, -1, -2)


def balanced_end_to_end_velocity(X: Any, Y: Any, theta: Any, *, normalization: str = "half_mean") -> np.ndarray:
    """End-to-end velocity of a *balanced* two-layer net (:math:`U^\\top U = V^\\top V`), from ``theta`` alone.

    Balancedness gives :math:`UU^\\top = (\\theta\\theta^\\top)^{1/2}` and :math:`VV^\\top = (\\theta^\\top\\theta)^{1/2}`,
    so gradient flow closes on :math:`\\theta`:

    .. math:: \\dot\\theta = -\\big((\\theta\\theta^\\top)^{1/2}\\nabla\\mathcal L(\\theta)
              + \\nabla\\mathcal L(\\theta)(\\theta^\\top\\theta)^{1/2}\\big)

    (Arora, Cohen, Hazan 2018, two-layer case; the balanced identities are derived here from the SVD of
    :math:`U` and :math:`V`).

    Parameters
    ----------
    X : ndarray, shape (n, d)
    Y : ndarray, shape (n, m)
    theta : ndarray, shape (..., d, m)
    normalization : {"half_mean", "half_sum", "mean", "sum"}

    Returns
    -------
    ndarray, shape (..., d, m)
    """
    X = as_array("X", X, ndim=2)
    Y = as_array("Y", Y, ndim=(1, 2))
    Y = Y[:, None] if Y.ndim == 1 else Y
    theta = as_array("theta", theta)
    if theta.ndim < 2 or theta.shape[-2:] != (X.shape[1], Y.shape[1]):
        raise ValueError(f"theta must have shape (..., {X.shape[1]}, {Y.shape[1]}), got {theta.shape}")
    grad = -squared_loss_factor(normalization, X.shape[0]) * X.T @ (Y - X @ theta)
    tT = np.swapaxes(theta, -1, -2)
    return -(_psd_sqrt(theta @ tT) @ grad + grad @ _psd_sqrt(tT @ theta))


__all__ += ["combined_rate_bound", "end_to_end_velocity", "balanced_end_to_end_velocity"]


def min_theorem3_rate(X: Any, Y: Any, W1: Any, W2: Any, *, normalization: str = "half_mean") -> np.ndarray:
    """Rate of Min, Tarmoun, Vidal, Mallada (arXiv v2, 2022), Theorem 3: :math:`\\mathcal L(t) \\le e^{-2ct}\\mathcal L(0)`.

    With :math:`X = W\\Sigma_x^{1/2}\\Phi_1^\\top` (full row rank, so :math:`\\mathcal L^* = 0`), :math:`\\tilde Y = W^\\top Y`,
    :math:`D = U_1^\\top U_1 - V^\\top V` (``reduced_imbalance``), :math:`x_+ = \\max(x, 0)` and, as in their
    eqs. (18)-(20),

    .. math:: \\Delta_+ = \\lambda_1(D)_+ - \\lambda_n(D)_+, \\quad \\Delta_- = \\lambda_1(-D)_+ - \\lambda_m(-D)_+,
              \\quad \\Delta = \\lambda_n(D)_+ + \\lambda_m(-D)_+,

    :math:`k = \\min(n, m)`, :math:`\\tilde\\mu = [\\sigma_k(\\tilde Y) - \\|\\tilde Y - \\Sigma_x^{1/2}U_1V^\\top\\|_F]_+
    /\\lambda_1^{1/2}(\\Sigma_x)`, :math:`\\tilde\\mu_m = \\tilde\\mu` if :math:`m \\le n` (else 0) and
    :math:`\\tilde\\mu_n = \\tilde\\mu` if :math:`n \\le m` (else 0), their eq. (21) at :math:`t = 0` reads

    .. math:: c(0) = -\\Delta_+ + \\sqrt{(\\Delta_+ + \\Delta)^2 + 4\\tilde\\mu_m^2}
              - \\Delta_- + \\sqrt{(\\Delta_- + \\Delta)^2 + 4\\tilde\\mu_n^2},

    and their Theorem 3 gives :math:`\\mathcal L(t) \\le e^{-\\lambda_r(\\Sigma_x)c(0)t}\\mathcal L(0)` for their loss
    :math:`\\tfrac12\\|Y - XUV^\\top\\|_F^2`. In the course's convention this returns
    :math:`\\kappa\\,\\lambda_{\\min}(XX^\\top)\\,c(0)/2`. Read in the paper's text (arXiv v2, Theorem 3, eq. (21),
    Proposition 1, eq. (17)); :math:`\\sigma_k(\\tilde Y) = \\sigma_k(Y)` and the residual norm is
    :math:`\\|Y - XW_1^\\top W_2^\\top\\|_F` since :math:`W` is orthogonal.

    Parameters
    ----------
    X, Y, W1, W2
        As in ``deficiency_margin``; the width ``h`` must be at least ``max(n, m)``.
    normalization : {"half_mean", "half_sum", "mean", "sum"}

    Returns
    -------
    ndarray, shape (...)
    """
    X, s, Y, W1, W2, E = _residual(X, Y, W1, W2)
    n, m, h = X.shape[0], W2.shape[-2], W1.shape[-2]
    if h < max(n, m):
        raise ValueError(f"the bound needs a width h >= max(n, m) = {max(n, m)}, got h = {h}")
    ev = np.linalg.eigvalsh(reduced_imbalance(X, W1, W2))[..., ::-1]          # decreasing
    pos = np.maximum(ev[..., n - 1], 0)                                        # lambda_n(D)_+
    neg = np.maximum(-ev[..., h - m], 0)                                       # lambda_m(-D)_+
    d_plus, d_minus, level = np.maximum(ev[..., 0], 0) - pos, np.maximum(-ev[..., -1], 0) - neg, pos + neg
    k = min(n, m)
    mu = np.maximum(np.linalg.svd(Y, compute_uv=False)[k - 1] - np.linalg.norm(E, axis=(-2, -1)), 0) / s[0]
    mu_m = mu if m <= n else np.zeros_like(mu)
    mu_n = mu if n <= m else np.zeros_like(mu)
    c0 = (-d_plus + np.sqrt((d_plus + level) ** 2 + 4 * mu_m ** 2)
          - d_minus + np.sqrt((d_minus + level) ** 2 + 4 * mu_n ** 2))
    return squared_loss_factor(normalization, n) * s[-1] ** 2 * c0 / 2


__all__ += ["min_theorem3_rate"]


def gd_drift_limit(t: Any, grads: Sequence[Any]) -> float:
    """Predicted :math:`\\eta \\to 0` limit of (total imbalance drift of gradient descent)/:math:`\\eta`.

    Summing the exact one-step identity of :func:`gd_imbalance_increment` over the steps of a run to time
    :math:`T = K\\eta`, the drift divided by :math:`\\eta` is a Riemann sum that tends, as :math:`\\eta \\to 0`
    along the gradient-flow trajectory, to

    .. math:: \\Big\\|\\int_0^T \\big(G_1G_1^\\top - G_2^\\top G_2\\big)\\,dt\\Big\\|_2
              = \\Big\\|\\int_0^T \\big(G_U^\\top G_U - G_V^\\top G_V\\big)\\,dt\\Big\\|_2 ,

    evaluated here by the trapezoidal rule on the flow's gradients. Derived in this course.

    Parameters
    ----------
    t : array_like, shape (T,)
        Increasing times of the gradient-flow trajectory, from 0 to the final time.
    grads : sequence of two ndarrays
        ``[G1, G2]`` along the flow, with shapes ``(T, h, d)`` and ``(T, m, h)``.

    Returns
    -------
    float
        The spectral norm of the integral.
    """
    t = as_array("t", t, ndim=1)
    if t.size < 2 or np.any(np.diff(t) <= 0):
        raise ValueError("t must be increasing with at least 2 points")
    if len(grads) != 2:
        raise ValueError(f"grads must hold the two layer gradients [G1, G2], got {len(grads)} arrays")
    G1, G2 = (np.asarray(g, dtype=float) for g in grads)
    if G1.ndim != 3 or G2.ndim != 3 or G1.shape[0] != t.size or G2.shape[0] != t.size:
        raise ValueError(f"grads must have shapes ({t.size}, h, d) and ({t.size}, m, h), got {G1.shape}, {G2.shape}")
    rate = G1 @ np.swapaxes(G1, -1, -2) - np.swapaxes(G2, -1, -2) @ G2
    w = np.diff(t)
    integral = np.tensordot(w, 0.5 * (rate[1:] + rate[:-1]), axes=1)
    return float(np.linalg.norm(integral, 2))


class WidthReduction(NamedTuple):
    """An exact reduction of a wide two-layer network to width ``n + m`` (see :func:`reduce_width`).

    Fields: ``X`` the reduced data :math:`X\\Phi_1` ``(n, n)``; ``params`` the reduced layers ``[B^T W_1 Phi_1, W_2 B]``,
    shapes ``(..., k, n)`` and ``(..., m, k)``; ``row_basis`` :math:`\\Phi_1` ``(d, n)``; ``null_part``
    :math:`\\Phi_2\\Phi_2^\\top W_1(0)^\\top B` ``(..., d, k)``, the frozen null-space part of the first layer.
    """

    X: np.ndarray
    params: list
    row_basis: np.ndarray
    null_part: np.ndarray

    def end_to_end(self, W1: Any, W2: Any) -> np.ndarray:
        """End-to-end predictor ``(..., d, m)`` of the full network from reduced layers ``W1 (..., k, n)``, ``W2 (..., m, k)``."""
        W2t = np.swapaxes(np.asarray(W2, dtype=float), -1, -2)
        return self.row_basis @ np.swapaxes(np.asarray(W1, dtype=float), -1, -2) @ W2t + self.null_part @ W2t


def reduce_width(X: Any, W1: Any, W2: Any) -> WidthReduction:
    """Exact reduction of gradient flow or descent on a two-layer net of any width ``h`` to width ``n + m``.

    Every gradient of the loss keeps the hidden-layer vectors of :math:`U_1 = \\Phi_1^\\top W_1^\\top` and
    :math:`V = W_2` in the span :math:`S \\subset \\R^h` of their initial rows (:math:`\\dot U_1 \\propto EV`,
    :math:`\\dot V \\propto E^\\top X U`), and :math:`U_2` never moves. With :math:`B` an orthonormal basis of
    :math:`S` (``h x k``, :math:`k \\le n + m`), the network ``[B^T W_1 Phi_1, W_2 B]`` on the data :math:`X\\Phi_1`
    has the same losses at every time or step, for gradient flow and for gradient descent with any step, and

    .. math:: \\theta(t) = \\Phi_1\\tilde\\theta(t) + \\Phi_2\\Phi_2^\\top W_1(0)^\\top B\\,\\tilde W_2(t)^\\top .

    Derived in this course (the invariance of :math:`S` is the structure behind Min et al. 2021, eq. (7)).

    Parameters
    ----------
    X : ndarray, shape (n, d)
        Data with full row rank, ``n < d``.
    W1 : ndarray, shape (..., h, d)
    W2 : ndarray, shape (..., m, h)

    Returns
    -------
    WidthReduction
        Reduced data, reduced initial layers (width ``k = n + m``, padded with zero columns of ``B`` if the rows are
        dependent), the basis :math:`\\Phi_1` and the null-space map; ``.end_to_end(W1r, W2r)`` rebuilds :math:`\\theta`.
    """
    X, _, Vt = _check_X(X)
    W1, W2 = _check_layers(X, W1, W2)
    n, m, h = X.shape[0], W2.shape[-2], W1.shape[-2]
    if h < n + m:
        raise ValueError(f"the width h = {h} must be at least n + m = {n + m} for a reduction")
    Phi1, Phi2 = Vt[:n].T, Vt[n:].T
    A = np.concatenate([W1 @ Phi1, np.swapaxes(W2, -1, -2)], axis=-1)      # (..., h, n + m): spans S
    B = np.linalg.qr(A)[0]                                                   # (..., h, n + m)
    Bt = np.swapaxes(B, -1, -2)
    params = [Bt @ W1 @ Phi1, W2 @ B]
    null_part = Phi2 @ (Phi2.T @ np.swapaxes(W1, -1, -2)) @ B
    return WidthReduction(X @ Phi1, params, Phi1, null_part)


__all__ += ["gd_drift_limit", "WidthReduction", "reduce_width"]


def random_width_reduction(X: Any, h: int, m: int, std: float, *, seed: Any = None,
                           batch: int | tuple[int, ...] = ()) -> WidthReduction:
    """The width reduction of :func:`reduce_width` for i.i.d. :math:`\\mathcal N(0, \\text{std}^2)` layers, sampled at cost independent of ``h``.

    For :math:`W_1` (``h x d``) and :math:`W_2` (``m x h``) with i.i.d. Gaussian entries, the columns of
    :math:`G = [W_1\\Phi_1,\\ W_2^\\top]` (``h x k``, :math:`k = n + m`) and :math:`W_1\\Phi_2` are independent Gaussian
    matrices. With :math:`G = BR` (QR), the reduced layers are :math:`[U_1; V]B = R^\\top` and, by the Bartlett
    decomposition, :math:`R` is upper triangular with :math:`R_{ii} = \\text{std}\\cdot\\chi_{h-i+1}`,
    :math:`R_{ij} \\sim \\mathcal N(0, \\text{std}^2)` (:math:`i < j`), all independent; and
    :math:`\\Phi_2^\\top W_1^\\top B` is a ``(d - n) x k`` Gaussian matrix independent of :math:`R` (``B`` is
    independent of :math:`W_1\\Phi_2`). So this returns a sample with **the same law** as
    ``reduce_width(X, W1, W2)`` for Gaussian ``W1``, ``W2`` of width ``h`` (not the same sample as any
    particular full draw). Derived in this course.

    Parameters
    ----------
    X : ndarray, shape (n, d)
        Data with full row rank, ``n < d``.
    h : int
        The width of the network being sampled, ``h >= n + m``.
    m : int
        Output dimension.
    std : float
        Standard deviation of every entry of the full layers (``h ** -alpha`` for Min et al.'s initialization).
    seed : int or Generator, optional
    batch : int or tuple of int
        Leading batch shape (independent draws).

    Returns
    -------
    WidthReduction
    """
    X, _, Vt = _check_X(X)
    n, d = X.shape
    h, m = int(h), int(m)
    if m < 1:
        raise ValueError(f"m must be a positive integer, got {m}")
    if h < n + m:
        raise ValueError(f"the width h = {h} must be at least n + m = {n + m}")
    std = check_positive("std", std)
    batch = (batch,) if isinstance(batch, (int, np.integer)) else tuple(batch)
    rng = np.random.default_rng(seed)
    k = n + m
    R = np.triu(rng.standard_normal(batch + (k, k)), 1)
    R[..., np.arange(k), np.arange(k)] = np.sqrt(rng.chisquare(h - np.arange(k), size=batch + (k,)))
    R *= std
    Rt = np.swapaxes(R, -1, -2)                                  # rows: [U_1; V] B
    params = [np.swapaxes(Rt[..., :n, :], -1, -2), Rt[..., n:, :]]
    null_part = Vt[n:].T @ (std * rng.standard_normal(batch + (d - n, k)))
    return WidthReduction(X @ Vt[:n].T, params, Vt[:n].T, null_part)


def balanced_init_like(X: Any, theta: Any, Q: Any) -> list[np.ndarray]:
    """Min et al.'s balanced initialization with a given end-to-end map (ICML 2021, Sec. 4 and App. A.1).

    .. math:: U = \\theta\\,\\big(\\theta^\\top\\Phi_1\\Phi_1^\\top\\theta\\big)^{-1/4}Q^\\top, \\qquad
              V = \\big(\\theta^\\top\\Phi_1\\Phi_1^\\top\\theta\\big)^{1/4}Q ,

    so that :math:`UV^\\top = \\theta` and the reduced imbalance :math:`U_1^\\top U_1 - V^\\top V` is zero.

    Parameters
    ----------
    X : ndarray, shape (n, d)
        Data with full row rank, ``n < d``.
    theta : ndarray, shape (d, m)
        End-to-end map; :math:`\\Phi_1^\\top\\theta` must have full column rank ``m``.
    Q : ndarray, shape (h, m)
        Orthonormal columns (:math:`Q^\\top Q = I_m`).

    Returns
    -------
    list of ndarray
        ``[W1, W2]`` with shapes ``(h, d)`` and ``(m, h)`` (``W1 = U^T``, ``W2 = V``).
    """
    X, _, Vt = _check_X(X)
    theta = as_array("theta", theta, ndim=2)
    Q = as_array("Q", Q, ndim=2)
    if theta.shape[0] != X.shape[1] or Q.shape[1] != theta.shape[1]:
        raise ValueError(f"theta must have shape ({X.shape[1]}, m) and Q shape (h, m), got {theta.shape}, {Q.shape}")
    if not np.allclose(Q.T @ Q, np.eye(Q.shape[1]), atol=1e-10):
        raise ValueError("Q must have orthonormal columns")
    P = theta.T @ Vt[:X.shape[0]].T
    w, E = np.linalg.eigh(P @ P.T)
    if w[0] <= 1e-14 * max(w[-1], 1e-300):
        raise ValueError("Phi_1^T theta must have full column rank")
    U = theta @ (E * w ** -0.25) @ E.T @ Q.T
    V = (E * w ** 0.25) @ E.T @ Q.T
    return [U.T, V]


__all__ += ["random_width_reduction", "balanced_init_like"]


def end_to_end_margin(theta: Any, target: Any) -> np.ndarray:
    """Deficiency margin of an end-to-end map: :math:`c = \\sigma_{\\min}(\\theta_*) - \\|\\theta - \\theta_*\\|_F`.

    Arora, Cohen, Golowich, Hu (ICLR 2019) call :math:`c > 0` a *deficiency margin*: :math:`\\theta` is closer
    to the target than any rank-deficient matrix is. With whitened data (:math:`X^\\top X = nI`) the course's
    loss is :math:`\\tfrac12\\|\\theta - \\theta_*\\|_F^2` plus a constant, their setting.

    Parameters
    ----------
    theta : ndarray, shape (..., d, m)
    target : ndarray, shape (d, m)
        :math:`\\theta_* = X^+Y`.

    Returns
    -------
    ndarray, shape (...)
    """
    target = as_array("target", target, ndim=2)
    theta = np.asarray(theta, dtype=float)
    if theta.shape[-2:] != target.shape:
        raise ValueError(f"theta must have shape (..., {target.shape[0]}, {target.shape[1]}), got {theta.shape}")
    smin = np.linalg.svd(target, compute_uv=False)[-1]
    return smin - np.linalg.norm(theta - target, axis=(-2, -1))


def deep_gd_constants(margin: float, target_norm: float, depth: int) -> tuple[float, float, float]:
    """Balance tolerance, step bound and guaranteed rate of gradient descent on a deep linear network.

    For depth :math:`N`, deficiency margin :math:`c` and target Frobenius norm :math:`\\|\\Phi\\|_F`, the
    theorem of Arora, Cohen, Golowich, Hu (ICLR 2019) as it is usually quoted (their Theorem 1; the course
    could not read the paper's text, so these constants are not checked against it) reads: if the layers
    are :math:`\\delta`-balanced with :math:`\\delta \\le c^2/(256N^3\\|\\Phi\\|_F^{2(N-1)/N})` and the step is
    :math:`\\eta \\le c^{(4N-2)/N}/(6144N^3\\|\\Phi\\|_F^{(6N-4)/N})`, then
    :math:`\\ell(k) \\le \\ell(0)\\exp(-\\eta\\,c^{2(N-1)/N}k)` for :math:`\\ell(W) = \\tfrac12\\|W - \\Phi\\|_F^2`.

    Parameters
    ----------
    margin : float
        :math:`c > 0`.
    target_norm : float
        :math:`\\|\\Phi\\|_F > 0`.
    depth : int
        :math:`N \\ge 2`.

    Returns
    -------
    delta_max, step_max, rate : float
        The balance tolerance, the largest step, and the rate per unit step :math:`c^{2(N-1)/N}`.
    """
    c = check_positive("margin", margin)
    phi = check_positive("target_norm", target_norm)
    if int(depth) != depth or depth < 2:
        raise ValueError(f"depth must be an integer >= 2, got {depth}")
    N = int(depth)
    delta_max = c ** 2 / (256 * N ** 3 * phi ** (2 * (N - 1) / N))
    step_max = c ** ((4 * N - 2) / N) / (6144 * N ** 3 * phi ** ((6 * N - 4) / N))
    return float(delta_max), float(step_max), float(c ** (2 * (N - 1) / N))


__all__ += ["end_to_end_margin", "deep_gd_constants"]


def balanced_factors(theta: Any, hidden: Sequence[int], *, seed: Any = None) -> list[np.ndarray]:
    """Exactly balanced layers of a deep linear network with a given end-to-end map.

    With the thin SVD :math:`\\theta^\\top = PSQ^\\top` (rank :math:`r`) and random orthonormal
    :math:`R_j \\in \\R^{h_j\\times r}`, the layers :math:`W_1 = R_1S^{1/N}Q^\\top`,
    :math:`W_j = R_jS^{1/N}R_{j-1}^\\top` and :math:`W_N = PS^{1/N}R_{N-1}^\\top` satisfy
    :math:`W_N\\cdots W_1 = \\theta^\\top` and :math:`W_{j+1}^\\top W_{j+1} = W_jW_j^\\top` (0-balanced). Derived here.

    Parameters
    ----------
    theta : ndarray, shape (d, m)
    hidden : sequence of int
        Hidden widths :math:`h_1, \\dots, h_{N-1}`, each at least :math:`\\operatorname{rank}\\theta`.
    seed : int or Generator, optional

    Returns
    -------
    list of ndarray
        ``[W1, ..., WN]`` with shapes ``(h_1, d)``, ..., ``(m, h_{N-1})``.
    """
    theta = as_array("theta", theta, ndim=2)
    hidden = [int(h) for h in hidden]
    P, S, Qt = np.linalg.svd(theta.T, full_matrices=False)
    r = int(np.sum(S > 1e-14 * max(S[0], 1e-300)))
    if not hidden or min(hidden) < r:
        raise ValueError(f"hidden must be a non-empty list of widths >= rank(theta) = {r}, got {hidden}")
    P, S, Qt = P[:, :r], S[:r], Qt[:r]
    N = len(hidden) + 1
    root = S ** (1.0 / N)
    rng = np.random.default_rng(seed)
    R = [np.linalg.qr(rng.standard_normal((h, r)))[0] for h in hidden]
    layers = [(R[0] * root) @ Qt]
    layers += [(R[j] * root) @ R[j - 1].T for j in range(1, N - 1)]
    layers.append((P * root) @ R[-1].T)
    return layers


__all__ += ["balanced_factors"]
