"""Jacobian of the end-to-end map and the Gauss-Newton matrix (Hessian at a minimizer: derived in this course;
Marion & Chizat 2024 use the same fact, whose statement in the paper we could not read)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..losses import Loss
from ..networks import Network
from .._validation import check_finite_params
from .curvature import _check, _unflatten

__all__ = ["jacobian", "gauss_newton"]


def jacobian(net: Network, params: Sequence[Any]) -> np.ndarray:
    """Jacobian :math:`J = \\partial\\theta/\\partial p` in the flattened parameters.

    Built column by column from exact ``net.jvp`` calls (blocks flattened in order, C order, as in
    ``lintheory.metrics.hessian``). Unbatched.

    Returns
    -------
    ndarray, shape ``theta_shape + (P,)``

    Raises
    ------
    ValueError
        If ``params`` has batch axes or non-finite entries.
    """
    params = check_finite_params(net.check_params(params))
    if net.batch_shape(params):
        raise ValueError("params must be a single network (no batch axes)")
    basis = np.eye(net.n_params)
    return np.stack([net.jvp(params, _unflatten(e, net)) for e in basis], axis=-1)


def gauss_newton(net: Network, loss: Loss, params: Sequence[Any]) -> np.ndarray:
    """Gauss-Newton matrix :math:`J^\\top\\nabla^2_\\theta\\ell\\,J`, shape ``(P, P)``.

    Equals the Hessian of the loss at any parameter whose ``theta`` minimises a squared loss over
    all ``theta`` (derived in this course, as used by Marion & Chizat 2024; the residual term vanishes).
    Scalar output only.
    """
    J = jacobian(net, _check(net, loss, params))
    if J.ndim != 2:
        raise ValueError("gauss_newton supports networks with a vector end-to-end map (scalar output)")
    theta = net.end_to_end(params)
    HJ = np.stack([loss.hvp(theta, J[:, j]) for j in range(J.shape[1])], axis=-1)
    return J.T @ HJ
