"""Closed-form solutions of linear least squares: min-norm and reduced-rank regression."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_array, check_int, check_rows

__all__ = ["min_norm_solution", "reduced_rank_regression"]


def _check_xy(X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    X = as_array("X", X, ndim=2)
    Y = check_rows("Y", as_array("Y", Y, ndim=(1, 2)), X.shape[0], "row per sample of X")
    return X, Y


def min_norm_solution(X: Any, Y: Any) -> np.ndarray:
    """The minimum-norm least-squares solution :math:`\\hat\\theta = X^+ Y`.

    For underdetermined full-row-rank ``X`` this is the interpolator of least Frobenius norm,
    :math:`X^\\top(XX^\\top)^{-1}Y` (Min et al. 2021, :math:`\\hat\\Theta`); for overdetermined
    full-column-rank ``X`` it is the ordinary least-squares solution :math:`(X^\\top X)^{-1}X^\\top Y`.

    Parameters
    ----------
    X : array_like, shape (n, d)
    Y : array_like, shape (n,) or (n, m)

    Returns
    -------
    ndarray, shape (d,) or (d, m)
    """
    X, Y = _check_xy(X, Y)
    return np.linalg.lstsq(X, Y, rcond=None)[0]


def reduced_rank_regression(X: Any, Y: Any, rank: int) -> np.ndarray:
    """Reduced-rank regression: :math:`\\arg\\min_{\\operatorname{rank}W\\le r}\\|Y - XW\\|_F^2`.

    .. math:: W_r = \\hat W\\, V_r V_r^\\top,

    where :math:`\\hat W = X^+Y` and the columns of :math:`V_r` are the top-``r`` right singular
    vectors of the fitted values :math:`X\\hat W` (equivalently, the top eigenvectors of
    :math:`\\Sigma_{yx}\\Sigma_x^{-1}\\Sigma_{xy}`; Izenman 1975). Among minimisers, the one of least norm.

    Parameters
    ----------
    X : array_like, shape (n, d)
    Y : array_like, shape (n, m)
    rank : int
        Target rank, ``0 <= rank <= min(d, m)``.

    Returns
    -------
    ndarray, shape (d, m)
    """
    X, Y = _check_xy(X, Y)
    if Y.ndim != 2:
        raise ValueError(f"Y must be 2-dimensional (n, m) for reduced-rank regression, got shape {Y.shape}")
    rank = check_int("rank", rank, minimum=0)
    if rank > min(X.shape[1], Y.shape[1]):
        raise ValueError(f"rank must be at most min(d, m) = {min(X.shape[1], Y.shape[1])}, got {rank}")
    W = min_norm_solution(X, Y)
    Vt = np.linalg.svd(X @ W, full_matrices=False)[2][:rank]
    return W @ Vt.T @ Vt
