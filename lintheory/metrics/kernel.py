"""Tangent kernel of a two-layer linear network: the exact local rate of gradient flow.

For predictions :math:`F = XUV^\\top` (``U = W_1^T``, ``V = W_2``) and the loss
:math:`\\mathcal L = \\tfrac{\\kappa}{2}\\|Y - F\\|_F^2`, gradient flow moves the residual
:math:`E = Y - F` by the linear map

.. math:: \\dot E = -\\mathcal K(E), \\qquad
          \\mathcal K(E) = \\kappa\\big(XX^\\top E\\,VV^\\top + XUU^\\top X^\\top E\\big),

the (loss-scaled) neural tangent kernel of the network. On row-major ``vec(E)`` it is the
``nm x nm`` matrix :math:`K = \\kappa(XX^\\top \\otimes VV^\\top + XUU^\\top X^\\top \\otimes I_m)`.
Derived in this course (chain rule); the kernel view is that of Jacot, Gabriel, Hongler (2018).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_array
from ..losses import squared_loss_factor

__all__ = ["tangent_kernel", "kernel_rate", "loss_decay_rate"]



def _setup(X: Any, W1: Any, W2: Any, normalization: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    X = as_array("X", X, ndim=2)
    kappa = squared_loss_factor(normalization, X.shape[0])
    W1, W2 = as_array("W1", W1), as_array("W2", W2)           # real and finite, or a clear error
    if W1.ndim < 2 or W1.shape[-1] != X.shape[1]:
        raise ValueError(f"W1 must have shape (..., h, {X.shape[1]}), got {W1.shape}")
    if W2.ndim < 2 or W2.shape[-1] != W1.shape[-2] or W2.shape[:-2] != W1.shape[:-2]:
        raise ValueError(f"W2 must have shape {W1.shape[:-2] + (-1, W1.shape[-2])} (..., m, h), got {W2.shape}")
    return X, W1, W2, kappa


def tangent_kernel(X: Any, W1: Any, W2: Any, *, normalization: str = "half_mean") -> np.ndarray:
    """Tangent kernel ``K`` of the residual dynamics :math:`\\dot E = -K E` of a two-layer linear net.

    .. math:: K = \\kappa\\big(XX^\\top \\otimes VV^\\top + XUU^\\top X^\\top \\otimes I_m\\big)
              \\quad(\\text{row-major } \\mathrm{vec}(E)),

    with :math:`U = W_1^\\top`, :math:`V = W_2` and :math:`\\kappa` the loss factor (``1/n`` for the
    course's loss). Derived here; symmetric positive semi-definite.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    W1 : ndarray, shape (..., h, d)
    W2 : ndarray, shape (..., m, h)
    normalization : {"half_mean", "half_sum", "mean", "sum"}
        The loss convention of ``lt.SquaredLoss``.

    Returns
    -------
    ndarray, shape (..., n m, n m)
    """
    X, W1, W2, kappa = _setup(X, W1, W2, normalization)
    n, m = X.shape[0], W2.shape[-2]
    XU = X @ np.swapaxes(W1, -1, -2)                               # (..., n, h)
    A = XU @ np.swapaxes(XU, -1, -2)                               # X U U^T X^T
    B = W2 @ np.swapaxes(W2, -1, -2)                               # V V^T
    G = X @ X.T
    K = np.einsum("ik,...jl->...ijkl", G, B) + np.einsum("...ik,jl->...ijkl", A, np.eye(m))
    return kappa * K.reshape(K.shape[:-4] + (n * m, n * m))


def kernel_rate(X: Any, W1: Any, W2: Any, *, normalization: str = "half_mean") -> np.ndarray:
    """Smallest eigenvalue of the tangent kernel, the worst-case local rate of gradient flow.

    Along gradient flow :math:`-\\tfrac12\\,\\tfrac{d}{dt}\\log\\mathcal L
    = \\langle E, KE\\rangle/\\|E\\|_F^2 \\ge \\lambda_{\\min}(K)`, and
    :math:`\\lambda_{\\min}(K) \\ge r(t) \\ge c` (``lt.theory.instantaneous_rate``,
    ``lt.theory.imbalance_rate_bound``). Derived here.

    Parameters
    ----------
    X, W1, W2, normalization
        As in ``tangent_kernel`` (``W1``, ``W2`` may carry a leading time axis).

    Returns
    -------
    ndarray, shape (...)
    """
    return np.linalg.eigvalsh(tangent_kernel(X, W1, W2, normalization=normalization))[..., 0]


def loss_decay_rate(X: Any, Y: Any, W1: Any, W2: Any, *, normalization: str = "half_mean") -> np.ndarray:
    """Exact instantaneous rate :math:`-\\tfrac12\\,\\tfrac{d}{dt}\\log\\mathcal L = \\langle E, KE\\rangle/\\|E\\|_F^2`.

    An identity along gradient flow (the Rayleigh quotient of the tangent kernel at the residual
    :math:`E = Y - XW_1^\\top W_2^\\top`); derived here.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    Y : ndarray, shape (n, m)
    W1, W2, normalization
        As in ``tangent_kernel``.

    Returns
    -------
    ndarray, shape (...)
    """
    X, W1, W2, _ = _setup(X, W1, W2, normalization)
    Y = as_array("Y", Y, ndim=(1, 2))
    Y = Y[:, None] if Y.ndim == 1 else Y
    if Y.shape != (X.shape[0], W2.shape[-2]):
        raise ValueError(f"Y must have shape ({X.shape[0]}, {W2.shape[-2]}), got {Y.shape}")
    K = tangent_kernel(X, W1, W2, normalization=normalization)
    E = Y - X @ np.swapaxes(W1, -1, -2) @ np.swapaxes(W2, -1, -2)
    e = E.reshape(E.shape[:-2] + (-1,))
    return np.einsum("...i,...ij,...j->...", e, K, e) / np.einsum("...i,...i->...", e, e)
