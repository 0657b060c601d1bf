"""Curvature of the training loss in parameter space: Hessian-vector products and sharpness."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._validation import as_generator, check_int, check_positive
from ..losses import Loss
from ..networks import Network, Params

__all__ = ["hvp", "hessian", "sharpness"]


def _check(net: Any, loss: Any, params: Sequence[Any]) -> Params:
    """The net/loss pair must agree and the point must be finite (a NaN point has no curvature)."""
    from ..dynamics.trajectory import _check_pair    # late import: dynamics imports the networks too
    return _check_pair(net, loss, params)


def hvp(net: Network, loss: Loss, params: Sequence[Any], v: Sequence[Any]) -> Params:
    """Exact Hessian-vector product of :math:`p \\mapsto \\mathcal L(\\theta(p))`.

    .. math:: \\nabla^2 \\mathcal L\\, v = J^\\top \\nabla^2_\\theta\\ell\\, J v
              + \\partial_v\\big(J^\\top\\big)\\, \\nabla_\\theta\\ell ,

    with :math:`J v` and the second term computed by complex steps (exact to round-off, since the
    network is polynomial in its parameters). Batched over leading axes of ``params`` and ``v``.
    """
    params = _check(net, loss, params)
    theta, pullback = net.linearize(params)
    g = loss.grad(theta)
    gauss_newton = pullback(loss.hvp(theta, net.jvp(params, v)))
    return [a + b for a, b in zip(gauss_newton, net.vjp_derivative(params, g, v))]


def _flatten(blocks: Sequence[np.ndarray], batch: tuple[int, ...]) -> np.ndarray:
    return np.concatenate([b.reshape(batch + (-1,)) for b in blocks], axis=-1)


def _unflatten(flat: np.ndarray, net: Network) -> Params:
    lead = flat.shape[:-1]
    sizes = np.cumsum([0] + [int(np.prod(s)) for s in net.shapes])
    return [flat[..., sizes[k]:sizes[k + 1]].reshape(lead + s) for k, s in enumerate(net.shapes)]


def hessian(net: Network, loss: Loss, params: Sequence[Any]) -> np.ndarray:
    """Dense Hessian in the flattened parameters, shape ``(..., P, P)``, from ``P`` exact HVPs.

    Meant for small networks and for checking :func:`sharpness`; blocks are flattened in order, each
    in C order.
    """
    params = _check(net, loss, params)
    batch = net.batch_shape(params)
    P = net.n_params
    basis = np.broadcast_to(np.eye(P).reshape((P,) + (1,) * len(batch) + (P,)), (P,) + batch + (P,))
    stacked = [np.broadcast_to(p, (P,) + p.shape) for p in params]
    cols = _flatten(hvp(net, loss, stacked, _unflatten(basis, net)), (P,) + batch)
    H = np.moveaxis(cols, 0, -1)
    return (H + np.swapaxes(H, -1, -2)) / 2


def sharpness(net: Network, loss: Loss, params: Sequence[Any], *, tol: float = 1e-10,
              max_iter: int = 300, seed: Any = 0) -> Any:
    """Sharpness: the largest eigenvalue of the Hessian of the loss in the parameters.

    Lanczos iteration with full re-orthogonalisation on exact Hessian-vector products (:func:`hvp`),
    run on every batch member at once, until the residual of the top Ritz pair is below
    ``tol * |lambda|`` (so the eigenvalue error is far smaller) or the Krylov space is exhausted.

    Parameters
    ----------
    net : Network
    loss : Loss
    params : list of ndarray
        A point in parameter space; leading batch axes give one sharpness per member.
    tol : float
        Relative residual at which a member has converged.
    max_iter : int
        Cap on Lanczos iterations (also capped by the number of parameters).
    seed : None, int or Generator
        Start vector of the iteration.

    Returns
    -------
    float or ndarray
        :math:`\\lambda_{\\max}(\\nabla^2\\mathcal L)`, one per batch member.

    Raises
    ------
    RuntimeError
        If some member has not converged after ``max_iter`` iterations.
    """
    params = _check(net, loss, params)
    tol = check_positive("tol", tol)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    batch = net.batch_shape(params)
    B, P = int(np.prod(batch)), net.n_params
    flat_params = [p.reshape((B,) + s) for p, s in zip(params, net.shapes)]
    m = min(P, max_iter)
    Q = np.zeros((m + 1, B, P))
    q = as_generator(seed).standard_normal((B, P))
    Q[0] = q / np.linalg.norm(q, axis=-1, keepdims=True)
    alpha, beta = np.zeros((B, m)), np.zeros((B, m))
    top = np.full(B, np.nan)
    done = np.zeros(B, dtype=bool)
    for j in range(m):
        w = _flatten(hvp(net, loss, flat_params, _unflatten(Q[j], net)), (B,))
        alpha[:, j] = np.sum(Q[j] * w, axis=-1)
        for _ in range(2):   # full re-orthogonalisation, twice is enough (Parlett)
            w -= np.einsum("jb,jbp->bp", np.einsum("jbp,bp->jb", Q[:j + 1], w), Q[:j + 1])
        beta[:, j] = np.linalg.norm(w, axis=-1)
        exhausted = beta[:, j] <= 1e-12 * np.maximum(np.abs(alpha[:, : j + 1]).max(axis=-1), 1e-300)
        Q[j + 1] = np.where(exhausted[:, None], 0.0, w / np.where(exhausted, 1.0, beta[:, j])[:, None])
        if j % 4 == 3 or j == m - 1 or np.any(exhausted & ~done):
            T = np.zeros((B, j + 1, j + 1))
            idx = np.arange(j + 1)
            T[:, idx, idx] = alpha[:, : j + 1]
            T[:, idx[:-1], idx[1:]] = T[:, idx[1:], idx[:-1]] = beta[:, :j]
            vals, vecs = np.linalg.eigh(T)
            residual = beta[:, j] * np.abs(vecs[:, -1, -1])
            now = ~done & (exhausted | (residual <= tol * np.maximum(np.abs(vals[:, -1]), 1e-300))
                           | (j == P - 1))
            top[now] = vals[now, -1]
            done |= now
            if np.all(done):
                break
    if not np.all(done):
        raise RuntimeError(f"sharpness: Lanczos did not converge in {m} iterations for "
                           f"{int(np.sum(~done))} of {B} members; raise max_iter or tol")
    return float(top[0]) if not batch else top.reshape(batch)
