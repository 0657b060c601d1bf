"""Spectral summaries of weights and end-to-end maps: singular values, rank, alignment."""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["singular_values", "effective_rank", "rank_one_ratio", "alignment"]


def singular_values(A: np.ndarray) -> np.ndarray:
    """Singular values of the last two axes of ``A``, in decreasing order (batched)."""
    A = np.asarray(A, dtype=float)
    if A.ndim < 2:
        raise ValueError(f"A must be a matrix (..., p, q), got shape {A.shape}")
    return np.linalg.svd(A, compute_uv=False)


def effective_rank(A: np.ndarray) -> np.ndarray:
    """Effective rank :math:`\\exp(-\\sum_i p_i\\log p_i)`, :math:`p_i = \\sigma_i / \\sum_j\\sigma_j`.

    Roy & Vetterli (2007): equals ``r`` for ``r`` equal non-zero singular values, 1 for rank one.
    Undefined for the zero matrix (no singular-value distribution): raises ValueError.
    """
    s = singular_values(A)
    if np.any(np.sum(s, axis=-1) == 0):
        raise ValueError("A must be non-zero: the effective rank of the zero matrix is undefined")
    p = s / np.sum(s, axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=-1)
    return np.exp(ent)


def rank_one_ratio(params: Sequence[np.ndarray]) -> np.ndarray:
    """:math:`\\sigma_2(W_k)/\\sigma_1(W_k)` for each layer, shape ``(..., L)``.

    Zero for exactly rank-one layers (Marion & Chizat 2024: small-scale initialisation gives
    approximately rank-one weights). Layers with a single row or column count as rank one.
    """
    out = []
    for w in params:
        s = singular_values(w)
        out.append(s[..., 1] / s[..., 0] if s.shape[-1] > 1 else np.zeros(s.shape[:-1]))
    return np.stack(out, axis=-1)


def alignment(params: Sequence[np.ndarray]) -> np.ndarray:
    """:math:`|\\langle v_{k+1}, u_k\\rangle|` between consecutive layers, shape ``(..., L-1)``.

    :math:`u_k` is the top left singular vector of :math:`W_k` and :math:`v_{k+1}` the top right
    singular vector of :math:`W_{k+1}`; 1 means the layers are aligned (Ji & Telgarsky 2019).
    """
    for k, w in enumerate(params):
        if np.ndim(w) < 2:
            raise ValueError(f"params[{k}] must be a matrix (..., d_k, d_k-1), got shape {np.shape(w)}; "
                             "alignment is defined for fully-connected layers")
    svds = [np.linalg.svd(np.asarray(w, dtype=float)) for w in params]
    for k in range(len(params) - 1):
        if np.shape(params[k + 1])[-1] != np.shape(params[k])[-2]:
            raise ValueError(f"layers do not chain: params[{k + 1}] has shape {np.shape(params[k + 1])} and "
                             f"params[{k}] has shape {np.shape(params[k])}")
    return np.stack([np.abs(np.sum(svds[k + 1][2][..., 0, :] * svds[k][0][..., :, 0], axis=-1))
                     for k in range(len(params) - 1)], axis=-1)
