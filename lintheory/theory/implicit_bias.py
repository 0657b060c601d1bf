"""Implicit bias of gradient methods on underdetermined regression: which interpolator is reached.

In the course's notation a two-layer net has ``W_1`` of shape ``(h, d)`` and ``W_2`` of shape ``(m, h)``,
and :math:`\\theta = W_1^\\top W_2^\\top`; Min et al. (2021) write :math:`\\Theta = UV^\\top` with
:math:`U = W_1^\\top`, :math:`V = W_2`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._validation import as_array, as_generator, check_int, check_nonnegative, check_rows
from .regression import min_norm_solution

__all__ = ["row_space_projector", "null_space_projector", "head_product", "bias_term",
           "predicted_limit", "invariant_init", "width_scaling_exponent", "null_space_blocks",
           "initial_bias_term", "null_space_bound", "decoupled_invariant_init", "bias_mean_square",
           "diagonal_mirror_map"]


def row_space_projector(X: Any) -> np.ndarray:
    """Orthogonal projector onto the row space of ``X``: :math:`X^+X`.

    Parameters
    ----------
    X : array_like, shape (n, d)

    Returns
    -------
    ndarray, shape (d, d)
    """
    X = as_array("X", X, ndim=2)
    return np.linalg.pinv(X) @ X


def null_space_projector(X: Any) -> np.ndarray:
    """Orthogonal projector onto the null space of ``X`` (the directions the data never see).

    .. math:: I - X^+X = \\Phi_2\\Phi_2^\\top \\quad\\text{(Min et al. 2021)},

    a ``(d, d)`` array for ``X`` of shape ``(n, d)``.
    """
    P = row_space_projector(X)
    return np.eye(P.shape[0]) - P


def head_product(layers: Sequence[Any]) -> np.ndarray:
    """The part of the network above the first layer: :math:`p = (W_L\\cdots W_2)^\\top`.

    Parameters
    ----------
    layers : sequence of ndarray
        ``[W_2, ..., W_L]`` with ``W_k`` of shape ``(..., d_k, d_{k-1})`` (leading batch axes allowed).

    Returns
    -------
    ndarray, shape (..., d_1, m)
        So that :math:`\\theta = W_1^\\top p` (for depth 2, :math:`p = W_2^\\top = V^\\top`).
    """
    if isinstance(layers, np.ndarray) or not isinstance(layers, (list, tuple)) or not layers:
        raise TypeError("layers must be a non-empty list [W_2, ..., W_L] of arrays")
    prod = as_array("layers[0]", layers[0])
    for k, w in enumerate(layers[1:], start=1):
        prod = as_array(f"layers[{k}]", w) @ prod
    return np.swapaxes(prod, -1, -2)


def bias_term(X: Any, W1_init: Any, head: Any) -> np.ndarray:
    """The implicit-bias error :math:`(I - X^+X)\\,W_1(0)^\\top p`.

    .. math:: \\theta(\\infty) - \\hat\\theta = (I - X^+X)\\,W_1(0)^\\top\\,p(\\infty),
              \\qquad p = (W_L\\cdots W_2)^\\top,

    exact for any limit of zero loss reached by gradient flow or gradient descent (the updates of
    ``W_1`` have rows in the row space of ``X``, so its null-space part never moves). For depth 2 this
    is Min, Tarmoun, Vidal, Mallada (2021)'s :math:`(I - X^+X)U(0)V(\\infty)^\\top`; for any depth it
    is the error term of Yun, Krishnan, Mobahi (2021)'s fully-connected case (derived here).

    Parameters
    ----------
    X : array_like, shape (n, d)
    W1_init : array_like, shape (..., h, d)
        The first layer at initialisation.
    head : array_like, shape (..., h, m)
        :math:`p` at the end of training (see :func:`head_product`).

    Returns
    -------
    ndarray, shape (..., d, m)
    """
    X = as_array("X", X, ndim=2)
    W1 = as_array("W1_init", W1_init)
    p = as_array("head", head)
    if W1.ndim < 2 or W1.shape[-1] != X.shape[1]:
        raise ValueError(f"W1_init must have shape (..., h, {X.shape[1]}), got {W1.shape}")
    if p.ndim < 2 or p.shape[-2] != W1.shape[-2]:
        raise ValueError(f"head must have shape (..., {W1.shape[-2]}, m), got {p.shape}")
    return null_space_projector(X) @ (np.swapaxes(W1, -1, -2) @ p)


def predicted_limit(X: Any, Y: Any, init_params: Sequence[Any], final_params: Sequence[Any]
                    ) -> np.ndarray:
    """The limit predicted by the bias formula, :math:`X^+Y + (I - X^+X)W_1(0)^\\top p(\\infty)`.

    Parameters
    ----------
    X : array_like, shape (n, d)
    Y : array_like, shape (n,) or (n, m)
    init_params, final_params : list of ndarray
        ``[W_1, ..., W_L]`` of a ``FullyConnected`` network (depth >= 2) at the start and the end.

    Returns
    -------
    ndarray, shape (..., d) if ``Y`` is 1-D else (..., d, m)
        Equal to the final ``theta`` whenever the final loss is zero.
    """
    if len(init_params) < 2 or len(final_params) != len(init_params):
        raise ValueError("init_params and final_params must be [W_1, ..., W_L] lists of equal length >= 2")
    theta_hat = min_norm_solution(X, Y)
    err = bias_term(X, init_params[0], head_product(list(final_params[1:])))
    return theta_hat + (err[..., 0] if np.ndim(theta_hat) == 1 else err)


def invariant_init(X: Any, h: int, m: int, scale: float, *, seed: Any = None,
                   batch: int | tuple[int, ...] = ()) -> list[np.ndarray]:
    """A two-layer initialisation in Min et al. (2021)'s invariant set: rows of ``W_1`` in row(X).

    :math:`W_1 = s\\,G_1\\Phi_1^\\top\\sqrt{d/n}`, :math:`W_2 = s\\,G_2` with i.i.d. standard Gaussian
    :math:`G_1 \\in \\mathbb R^{h\\times n}`, :math:`G_2\\in\\mathbb R^{m\\times h}` and :math:`\\Phi_1`
    an orthonormal basis of the row space (the factor keeps entries of size about ``s``). Then
    :math:`(I - X^+X)W_1^\\top = 0`, so by the bias formula a zero-loss limit is exactly :math:`X^+Y`.

    Parameters
    ----------
    X : array_like, shape (n, d)
    h, m : int
        Hidden width and output dimension.
    scale : float
        The entry size ``s``.
    seed : None, int or Generator
    batch : int or tuple of int
        Leading batch shape.

    Returns
    -------
    list of ndarray
        ``[W_1, W_2]`` of shapes ``batch + (h, d)`` and ``batch + (m, h)``.
    """
    X = as_array("X", X, ndim=2)
    h, m = check_int("h", h, minimum=1), check_int("m", m, minimum=1)
    scale = check_nonnegative("scale", scale)
    bshape = (batch,) if isinstance(batch, (int, np.integer)) else tuple(batch)
    n, d = X.shape
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    Phi1 = Vt[s > s[0] * max(n, d) * np.finfo(float).eps]
    rng = as_generator(seed)
    G1 = rng.standard_normal(bshape + (h, Phi1.shape[0]))
    W2 = scale * rng.standard_normal(bshape + (m, h))
    return [scale * np.sqrt(d / Phi1.shape[0]) * G1 @ Phi1, W2]


def width_scaling_exponent(alpha: float) -> float:
    """Predicted exponent of :math:`\\|\\theta(\\infty) - \\hat\\theta\\|_2` in the width ``h``.

    With i.i.d. :math:`\\mathcal N(0, h^{-2\\alpha})` initial weights, :math:`1/4 < \\alpha \\le 1/2`,

    .. math:: \\|\\theta(\\infty) - \\hat\\theta\\|_2 = O\\big(h^{-(4\\alpha - 1)/2}\\big)

    Min, Tarmoun, Vidal, Mallada (ICML 2021, Theorem 2 = arXiv 2105.06351 v2, Theorem 12; read in their
    text) prove :math:`\\|U(\\infty)V(\\infty)^\\top - \\hat\\Theta\\|_2 = O(h^{1/2-2\\alpha})` under gradient flow
    for :math:`1/4 < \\alpha \\le 1/2` and :math:`h` above a polynomial threshold, with probability
    :math:`1 - \\delta`: the same exponent. The course derives it from the bias formula and a Grönwall bound
    (:func:`null_space_bound`); :math:`(I - X^+X)W_1(0)^\\top W_2(0)^\\top` is a sum of ``h`` independent terms
    of size :math:`h^{-2\\alpha}`. The book writes this exponent :math:`\\alpha`, as the paper and Chapter 1 do
    (the standard deviation of the entries is :math:`\\sigma = h^{-\\alpha}`); :math:`\\alpha = 1/4` is the NTK
    parameterization (exponent 0: the error does not vanish) and :math:`\\alpha = 1/2` the balanced mean-field
    one.

    Returns
    -------
    float
        :math:`-(4\\alpha - 1)/2`.
    """
    alpha = float(alpha)
    if not (np.isfinite(alpha) and 0.25 <= alpha <= 0.5):
        raise ValueError(f"alpha must be in [1/4, 1/2] (outside it the bias argument does not apply; at "
                         f"1/4 the exponent is 0), got {alpha!r}")
    return -(4.0 * alpha - 1.0) / 2.0


def _bases(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal bases ``(Phi_1, Phi_2)`` of the row space and the null space of ``X``, as columns."""
    n, d = X.shape
    _, s, Vt = np.linalg.svd(X, full_matrices=True)
    r = int(np.sum(s > s[0] * max(n, d) * np.finfo(float).eps))
    return Vt[:r].T, Vt[r:].T


def null_space_blocks(X: Any, W1: Any, W2: Any) -> tuple[np.ndarray, np.ndarray]:
    """Min et al. (2021)'s blocks :math:`P = U_2U_1^\\top` and :math:`Q = U_2V^\\top` of a two-layer net.

    With :math:`U = W_1^\\top`, :math:`V = W_2`, :math:`U_1 = \\Phi_1^\\top U`, :math:`U_2 = \\Phi_2^\\top U`
    (:math:`\\Phi_1`, :math:`\\Phi_2` orthonormal bases of the row and null space of ``X``):

    .. math:: P = \\Phi_2^\\top W_1^\\top W_1\\Phi_1, \\qquad
              Q = \\Phi_2^\\top W_1^\\top W_2^\\top = \\Phi_2^\\top\\theta .

    Under gradient flow on :math:`\\|X\\theta - Y\\|_F^2/(2n)`, with :math:`E = Y - X\\theta`, they obey the
    linear system :math:`\\dot P = \\tfrac1n QE^\\top X\\Phi_1`, :math:`\\dot Q = \\tfrac1n P\\Phi_1^\\top X^\\top E`
    (and gradient descent its explicit Euler step, exactly). Derived in the course; the set
    :math:`\\{P = 0, Q = 0\\}` is the invariant set described by Min et al. (2021).

    Parameters
    ----------
    X : array_like, shape (n, d)
    W1 : array_like, shape (..., h, d)
    W2 : array_like, shape (..., m, h)

    Returns
    -------
    P : ndarray, shape (..., d - n, n)
    Q : ndarray, shape (..., d - n, m)
    """
    X = as_array("X", X, ndim=2)
    W1, W2 = as_array("W1", W1), as_array("W2", W2)
    if W1.ndim < 2 or W1.shape[-1] != X.shape[1]:
        raise ValueError(f"W1 must have shape (..., h, {X.shape[1]}), got {W1.shape}")
    if W2.ndim < 2 or W2.shape[-1] != W1.shape[-2]:
        raise ValueError(f"W2 must have shape (..., m, {W1.shape[-2]}), got {W2.shape}")
    Phi1, Phi2 = _bases(X)
    U = np.swapaxes(W1, -1, -2)
    U2 = Phi2.T @ U
    return U2 @ np.swapaxes(Phi1.T @ U, -1, -2), U2 @ np.swapaxes(W2, -1, -2)


def initial_bias_term(X: Any, init_params: Sequence[Any]) -> np.ndarray:
    """The leading term of the bias, computable before training: :math:`(I - X^+X)\\,\\theta(0)`.

    .. math:: (I - X^+X)\\,W_1(0)^\\top p(0) = (I - X^+X)\\,\\theta(0),

    i.e. the bias formula :math:`(I - X^+X)W_1(0)^\\top p(\\infty)` with the head frozen at its initial
    value. The limit it predicts, :math:`X^+Y + (I - X^+X)\\theta(0)`, is the limit of the *linear* model
    started at :math:`\\theta(0)`. Derived in the course.

    Parameters
    ----------
    X : array_like, shape (n, d)
    init_params : list of ndarray
        ``[W_1, ..., W_L]`` (depth >= 2, leading batch axes allowed) at initialization.

    Returns
    -------
    ndarray, shape (..., d, m)
    """
    if not isinstance(init_params, (list, tuple)) or len(init_params) < 2:
        raise TypeError("init_params must be a list [W_1, ..., W_L] of length >= 2")
    return bias_term(X, init_params[0], head_product(list(init_params[1:])))


def null_space_bound(X: Any, Y: Any, W1: Any, W2: Any) -> np.ndarray:
    """Grönwall bound on the implicit-bias error of gradient flow, from the initialization only.

    .. math:: \\|\\theta(\\infty) - X^+Y\\|_2 = \\|Q(\\infty)\\|_2 \\le \\|[P(0),\\ Q(0)]\\|_2
              \\exp\\Big(\\frac{\\|X\\|_2\\,\\|E(0)\\|_F}{n\\,c}\\Big),

    with :math:`E(0) = Y - X\\theta(0)` and :math:`c` the imbalance rate of
    :func:`lintheory.theory.imbalance_rate_bound` (course convention :math:`\\|X\\theta - Y\\|_F^2/(2n)`).
    Proof: :math:`Z = [P, Q]` obeys :math:`\\dot Z = ZA(t)` with :math:`\\|A\\|_2 \\le \\|X\\|_2\\|E\\|_F/n`
    (see :func:`null_space_blocks`), and :math:`\\|E(t)\\|_F \\le e^{-ct}\\|E(0)\\|_F`. Derived in the
    course; it is Min et al. (ICML 2021)'s Grönwall step (their eq. (38), proof of Theorem 2) combined
    with their Theorem 1, in the course's convention. ``inf`` where ``c = 0``.

    Parameters
    ----------
    X : array_like, shape (n, d)
    Y : array_like, shape (n,) or (n, m)
    W1 : array_like, shape (..., h, d)
    W2 : array_like, shape (..., m, h)

    Returns
    -------
    ndarray, shape (...)
    """
    X = as_array("X", X, ndim=2)
    Y = check_rows("Y", as_array("Y", Y, ndim=(1, 2)), X.shape[0], "row per sample of X")
    n = X.shape[0]
    Y2 = Y[:, None] if Y.ndim == 1 else Y
    P, Q = null_space_blocks(X, W1, W2)
    W1, W2 = np.asarray(W1, dtype=float), np.asarray(W2, dtype=float)
    m, h = W2.shape[-2], W2.shape[-1]
    if h < n + m:
        raise ValueError(f"the bound needs a width h >= n + m = {n + m}, got h = {h}")
    z0 = np.linalg.norm(np.concatenate([P, Q], axis=-1), 2, axis=(-2, -1))
    theta0 = np.swapaxes(W1, -1, -2) @ np.swapaxes(W2, -1, -2)
    e0 = np.linalg.norm(Y2 - X @ theta0, axis=(-2, -1))
    # c of the imbalance bound from the (n+m) x (n+m) Gram matrix of B = [U_1; V] (D_1 = B^T J B has
    # the nonzero eigenvalues of G^{1/2} J G^{1/2}, G = B B^T, J = diag(I_n, -I_m); the others are 0)
    Phi1 = _bases(X)[0]
    B = np.concatenate([Phi1.T @ np.swapaxes(W1, -1, -2), W2], axis=-2)
    lam, V = np.linalg.eigh(B @ np.swapaxes(B, -1, -2))
    R = V * np.sqrt(np.maximum(lam, 0.0))[..., None, :]
    J = np.diag(np.r_[np.ones(n), -np.ones(m)])
    ev = np.linalg.eigvalsh(np.swapaxes(R, -1, -2) @ J @ R)[..., ::-1]        # decreasing, n + m values
    pos, neg = ev[..., n - 1], -ev[..., n]                                    # lambda_n(D_1), lambda_m(-D_1)
    c = np.linalg.eigvalsh(X @ X.T)[0] / n * (np.maximum(pos, 0) + np.maximum(neg, 0))
    with np.errstate(divide="ignore", over="ignore"):
        expo = np.where(c > 0, np.linalg.norm(X, 2) * e0 / (n * np.where(c > 0, c, 1.0)), np.inf)
        return z0 * np.exp(expo)


def decoupled_invariant_init(X: Any, h: int, m: int, scale: float, n_null: int, *, seed: Any = None
                             ) -> list[np.ndarray]:
    """A point of Min et al.'s invariant set :math:`\\{P = 0, Q = 0\\}` with :math:`W_1(I - X^+X) \\ne 0`.

    ``h - n_null`` hidden units get input weights in the row space of ``X`` (as in
    :func:`invariant_init`), ``n_null`` units get input weights in its null space and zero output
    weights; then every hidden unit is mixed by a random rotation :math:`O` of the hidden space
    (:math:`W_1 \\to OW_1`, :math:`W_2 \\to W_2O^\\top`, which leaves :math:`\\theta` unchanged). So
    :math:`P = Q = 0` although every row of :math:`W_1` has a null-space part.

    Parameters
    ----------
    X : array_like, shape (n, d)
    h, m : int
        Width and output dimension.
    scale : float
        Entry size.
    n_null : int
        Number of decoupled null-space units, ``0 <= n_null < h``.
    seed : None, int or Generator

    Returns
    -------
    list of ndarray
        ``[W_1, W_2]`` of shapes ``(h, d)`` and ``(m, h)``.
    """
    X = as_array("X", X, ndim=2)
    h, m = check_int("h", h, minimum=1), check_int("m", m, minimum=1)
    n_null = check_int("n_null", n_null, minimum=0)
    if n_null >= h:
        raise ValueError(f"n_null must be smaller than h = {h}, got {n_null}")
    scale = check_nonnegative("scale", scale)
    rng = as_generator(seed)
    Phi1, Phi2 = _bases(X)
    W1_row, W2_row = invariant_init(X, h - n_null, m, scale, seed=rng)
    W1_null = scale * rng.standard_normal((n_null, Phi2.shape[1])) @ Phi2.T
    W1 = np.concatenate([W1_row, W1_null], axis=0)
    W2 = np.concatenate([W2_row, np.zeros((m, n_null))], axis=1)
    G, R = np.linalg.qr(rng.standard_normal((h, h)))
    O = G * np.sign(np.diag(R))
    return [O @ W1, W2 @ O.T]


def bias_mean_square(X: Any, sigma: Any, head: Any) -> np.ndarray:
    """Exact mean square of the bias error over a Gaussian null-space part of the first layer.

    If :math:`W_1(0)` has i.i.d. :math:`\\mathcal N(0, \\sigma^2)` entries, its null-space part
    :math:`U_2(0) = \\Phi_2^\\top W_1(0)^\\top` is independent of everything else at initialization, and
    the dynamics of the other parameters never involve it (gradient flow or descent, any depth), so the
    trained head :math:`p(\\infty)` is independent of :math:`U_2(0)`. Given :math:`p(\\infty)` the rows of
    :math:`\\Phi_2^\\top(\\theta(\\infty) - \\hat\\theta) = U_2(0)p(\\infty)` are i.i.d.
    :math:`\\mathcal N(0, \\sigma^2p(\\infty)^\\top p(\\infty))`, hence

    .. math:: \\mathbb E\\big[\\|\\theta(\\infty) - \\hat\\theta\\|_F^2 \\,\\big|\\, p(\\infty)\\big]
              = \\sigma^2(d - n)\\,\\|p(\\infty)\\|_F^2 .

    Derived in the course (zero final loss assumed, as in the bias formula).

    Parameters
    ----------
    X : array_like, shape (n, d), full row rank
    sigma : float
        Standard deviation of the entries of :math:`W_1(0)`, non-negative.
    head : array_like, shape (..., h, m)
        :math:`p(\\infty)` (:func:`head_product` of the trained layers above the first).

    Returns
    -------
    ndarray, shape (...)
    """
    X = as_array("X", X, ndim=2)
    sigma = float(sigma)
    if not (np.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma must be non-negative and finite, got {sigma!r}")
    head = np.asarray(head, dtype=float)
    if head.ndim < 2:
        raise ValueError(f"head must have shape (..., h, m), got {head.shape}")
    rank = np.linalg.matrix_rank(X)
    return sigma ** 2 * (X.shape[1] - rank) * np.sum(head ** 2, axis=(-2, -1))


def diagonal_mirror_map(theta: Any, alpha: Any) -> np.ndarray:
    """The gradient of the diagonal network's potential: :math:`\\nabla\\psi_\\alpha(\\theta) = \\operatorname{arcsinh}(2\\theta/\\alpha^2)`.

    For :math:`\\psi_\\alpha(\\theta) = \\frac{\\alpha^2}{4}\\sum_j q(4\\theta_j/\\alpha^2)` with Woodworth et al.
    (2020)'s :math:`q`, :math:`q'(z) = \\operatorname{arcsinh}(z/2)`. Along gradient flow of
    :math:`\\theta = u\\odot v` from :math:`u = \\alpha\\mathbf 1`, :math:`v = 0`,
    :math:`\\theta(t) = -\\frac{\\alpha^2}{2}\\sinh(2s(t))` with :math:`s(t) = \\int_0^t\\nabla\\L \\in
    \\operatorname{range}(X^\\top)`, so this map equals :math:`-2s(t)` and stays in the row space of
    :math:`X` (the mirror-flow argument; derived in the course).

    Parameters
    ----------
    theta : array_like, shape (..., d)
    alpha : float
        The initialization scale :math:`u(0) = \\alpha\\mathbf 1`, positive.

    Returns
    -------
    ndarray, shape (..., d)
    """
    alpha = float(alpha)
    if not (np.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha must be positive and finite, got {alpha!r}")
    return np.arcsinh(2.0 * np.asarray(theta, dtype=float) / alpha ** 2)
