"""Rank and norms of the end-to-end matrix along a trajectory (issue 18: low-rank implicit bias)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .spectra import effective_rank, singular_values

__all__ = ["singular_value_trajectory", "schatten_norm", "effective_rank_trajectory"]


def _theta(traj: Any) -> np.ndarray:
    theta = getattr(traj, "theta", traj)
    theta = np.asarray(theta, dtype=float)
    if theta.ndim < 2:
        raise ValueError(f"the end-to-end predictor must be a matrix (..., d, m), got shape {theta.shape}")
    return theta


def singular_value_trajectory(traj: Any) -> np.ndarray:
    """Singular values of the end-to-end matrix at every recorded time, decreasing.

    Parameters
    ----------
    traj : Trajectory or array_like, shape (T, ..., d, m)
        A :class:`lintheory.Trajectory` (its ``theta``) or the stacked matrices themselves.

    Returns
    -------
    ndarray, shape (T, ..., min(d, m))
        :math:`\\sigma_1(\\theta(t))\\ge\\sigma_2(\\theta(t))\\ge\\cdots`; ``theta`` and
        :math:`W = W_L\\cdots W_1 = \\theta^\\top` have the same singular values.
    """
    return singular_values(_theta(traj))


def effective_rank_trajectory(traj: Any) -> np.ndarray:
    """Roy–Vetterli effective rank (:func:`lintheory.metrics.effective_rank`) at every recorded time."""
    return effective_rank(_theta(traj))


def schatten_norm(A: Any, p: float) -> np.ndarray:
    """Schatten ``p``-norm :math:`(\\sum_i\\sigma_i^p)^{1/p}` of the last two axes (``p = inf``: spectral).

    ``p = 1`` is the nuclear norm, ``p = 2`` the Frobenius norm.
    """
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not p > 0:
        raise ValueError(f"p must be a positive number or inf, got {p!r}")
    s = singular_values(np.asarray(A, dtype=float))
    if np.isinf(p):
        return s[..., 0]
    return np.sum(s ** p, axis=-1) ** (1.0 / p)
