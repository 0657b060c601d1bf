"""Implicit bias of gradient methods on underdetermined regression: which interpolator is reached.

In the course's notation a two-layer net has ``W_1`` of shape ``(h, d)`` and ``W_2`` of shape ``(m, h)``,
and :math:`\\theta = W_1^\\top W_2^\\top`; Min et al. (2021) write :math:`\\Theta = UV^\\top` with
:math:`U = W_1^\\top`, :math:`V = W_2`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._validation import as_array, as_generator, check_int, check_nonnegative
from .regression import min_norm_solution

__all__ = ["row_space_projector", "null_space_projector", "head_product", "bias_term",
           "predicted_limit", "invariant_init", "width_scaling_exponent"]


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

    (Min et al. 2021 state :math:`O(h^{-1/2})` at :math:`\\alpha = 1/2`; the general exponent is
    derived here from the bias formula: :math:`(I - X^+X)W_1(0)^\\top W_2(0)^\\top` is a sum of ``h``
    independent terms of size :math:`h^{-2\\alpha}`).

    Returns
    -------
    float
        :math:`-(4\\alpha - 1)/2`.
    """
    alpha = float(alpha)
    if not np.isfinite(alpha):
        raise ValueError(f"alpha must be a finite number, got {alpha!r}")
    return -(4.0 * alpha - 1.0) / 2.0
