"""Conserved quantities of gradient flow: layer imbalances."""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["imbalance", "norm_imbalance"]


def imbalance(params: Sequence[np.ndarray], *, vector_layers: bool = False) -> list[np.ndarray]:
    """Imbalance between consecutive layers, conserved by gradient flow.

    .. math:: D_k = W_{k+1}^\\top W_{k+1} - W_k W_k^\\top, \\qquad k = 1, \\dots, L-1,

    (Du, Hu, Lee 2018; Arora, Cohen, Hazan 2018). For a two-layer net ``x -> W_2 W_1 x`` this is
    :math:`W_2^\\top W_2 - W_1W_1^\\top`, the negative of Min et al.'s :math:`U^\\top U - V^\\top V` with
    :math:`U = W_1^\\top, V = W_2`.

    Parameters
    ----------
    params : list of ndarray
        Matrix layers of shape ``(..., d_k, d_{k-1})`` (leading batch axes allowed); or, with
        ``vector_layers=True``, vector layers of a diagonal network, for which the conserved quantity
        is coordinate-wise: :math:`v_{k+1}^2 - v_k^2`.

    Returns
    -------
    list of ndarray
        ``L - 1`` arrays of shape ``(..., d_k, d_k)`` (or ``(..., d)`` for vector layers).
    """
    params = [np.asarray(p, dtype=float) for p in params]
    if vector_layers:
        for k in range(len(params) - 1):
            if params[k + 1].shape != params[k].shape:
                raise ValueError(f"vector layers must all have one shape, got params[{k}] {params[k].shape} "
                                 f"and params[{k + 1}] {params[k + 1].shape}")
        return [params[k + 1] ** 2 - params[k] ** 2 for k in range(len(params) - 1)]
    for k, w in enumerate(params):
        if np.ndim(w) < 2:
            raise ValueError(f"params[{k}] must be a matrix (..., d_k, d_k-1); for diagonal networks "
                             "pass vector_layers=True")
    for k in range(len(params) - 1):
        if params[k + 1].shape[-1] != params[k].shape[-2]:
            raise ValueError(f"layers do not chain: params[{k + 1}] has shape {params[k + 1].shape}, so it "
                             f"takes inputs of size {params[k + 1].shape[-1]}, but params[{k}] has shape "
                             f"{params[k].shape} and outputs size {params[k].shape[-2]}")
    return [np.swapaxes(params[k + 1], -1, -2) @ params[k + 1] - params[k] @ np.swapaxes(params[k], -1, -2)
            for k in range(len(params) - 1)]


def norm_imbalance(params: Sequence[np.ndarray], core_ndim: int | Sequence[int]) -> np.ndarray:
    """Differences of squared layer norms :math:`\\|p_{k+1}\\|^2 - \\|p_k\\|^2`.

    Conserved by gradient flow for every network that is multilinear in its blocks (every linear tensor
    network, Yun, Krishnan, Mobahi 2021), because :math:`\\langle p_k, \\nabla_{p_k}f\\rangle = f` for each
    ``k``.

    Parameters
    ----------
    params : list of ndarray
    core_ndim : int or sequence of int
        Number of trailing (non-batch) axes of each block, e.g. ``[len(s) for s in net.shapes]``.

    Returns
    -------
    ndarray, shape (..., L - 1)
    """
    params = [np.asarray(p, dtype=float) for p in params]
    nd = [core_ndim] * len(params) if isinstance(core_ndim, (int, np.integer)) else list(core_ndim)
    if len(nd) != len(params) or any(isinstance(k, bool) or not isinstance(k, (int, np.integer))
                                     or not 0 <= k <= p.ndim for k, p in zip(nd, params)):
        raise ValueError(f"core_ndim must be an int or one int per block, each between 0 and the block's "
                         f"ndim, got {core_ndim!r} for blocks of shapes {[p.shape for p in params]}")
    batches = {p.shape[:p.ndim - k] for p, k in zip(params, nd)}
    if len(batches) > 1:
        raise ValueError(f"core_ndim={core_ndim!r} leaves different batch shapes {sorted(batches)} for "
                         "the blocks; pass the number of trailing axes of each block, e.g. "
                         "[len(s) for s in net.shapes]")
    sq = [np.sum(p ** 2, axis=tuple(range(-k, 0))) for p, k in zip(params, nd)]
    if len(sq) < 2:                               # one block: no differences, shape (..., 0)
        return np.zeros(next(iter(batches), ()) + (0,))
    return np.stack([sq[k + 1] - sq[k] for k in range(len(sq) - 1)], axis=-1)
