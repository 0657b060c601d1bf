"""Distances between predictors, batched over leading axes."""

from __future__ import annotations

import numpy as np


def _core(a: np.ndarray, b: np.ndarray, core_ndim: int | None) -> tuple[int, tuple[int, ...]]:
    k = b.ndim if core_ndim is None else core_ndim
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= min(a.ndim, b.ndim):
        raise ValueError(f"core_ndim must be an int between 0 and min(a.ndim, b.ndim) = "
                         f"{min(a.ndim, b.ndim)}, got {core_ndim!r}")
    if a.shape[a.ndim - k:] != b.shape[b.ndim - k:]:
        raise ValueError(f"a and b must have the same last {k} axes, got shapes {a.shape} and {b.shape}")
    return k, tuple(range(-k, 0))

__all__ = ["distance", "relative_distance", "angle", "normalized_margin"]


def distance(a: np.ndarray, b: np.ndarray, *, core_ndim: int | None = None) -> np.ndarray:
    """Euclidean (Frobenius) distance :math:`\\|a - b\\|` over the last ``core_ndim`` axes.

    ``core_ndim`` defaults to ``b.ndim``: ``b`` is the reference (e.g. the min-norm solution) and ``a``
    may carry leading time or batch axes.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    k, axes = _core(a, b, core_ndim)
    return np.sqrt(np.sum((a - b) ** 2, axis=axes)) if k else np.abs(a - b)


def relative_distance(a: np.ndarray, b: np.ndarray, *, core_ndim: int | None = None) -> np.ndarray:
    """:math:`\\|a - b\\| / \\|b\\|` over the last ``core_ndim`` axes (default ``b.ndim``).

    Raises ValueError if the reference ``b`` (or a batch member of it) is zero.
    """
    b = np.asarray(b, dtype=float)
    ref = distance(np.zeros_like(b), b, core_ndim=core_ndim)
    if np.any(ref == 0):
        raise ValueError("b (the reference) must be non-zero: a distance relative to the zero vector is "
                         "undefined; use distance() instead")
    return distance(a, b, core_ndim=core_ndim) / ref


def angle(a: np.ndarray, b: np.ndarray, *, core_ndim: int | None = None) -> np.ndarray:
    """Angle in radians between ``a`` and the reference ``b`` over the last ``core_ndim`` axes.

    :math:`\\arccos\\big(\\langle a, b\\rangle / (\\|a\\|\\|b\\|)\\big)`, computed as
    :math:`2\\arcsin(\\|\\hat a - \\hat b\\|/2)` with unit vectors, which stays accurate for tiny angles.

    The angle with a zero vector is undefined: a zero reference ``b`` raises ValueError, while a zero
    member of ``a`` (e.g. a trajectory started at 0) gets NaN, by convention, with no warning.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    k, axes = _core(a, b, core_ndim)
    if k == 0:
        raise ValueError("core_ndim must be at least 1 for an angle")
    norm = lambda v: np.sqrt(np.sum(v * v, axis=axes, keepdims=True))
    if np.any(norm(b) == 0):
        raise ValueError("b (the reference) must be non-zero: the angle with the zero vector is undefined")
    na = norm(a)
    with np.errstate(invalid="ignore", divide="ignore"):
        chord = np.sqrt(np.sum((a / na - b / norm(b)) ** 2, axis=axes))
    return np.where(na[(...,) + (0,) * k] == 0, np.nan, 2 * np.arcsin(np.clip(chord / 2, 0.0, 1.0)))


def normalized_margin(X: np.ndarray, y: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """:math:`\\min_i y_i x_i^\\top\\theta / \\|\\theta\\|_2`, batched over leading axes of ``theta``."""
    theta, X, y = np.asarray(theta, dtype=float), np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    if X.ndim != 2 or y.shape != X.shape[:1] or theta.shape[-1:] != X.shape[1:]:
        raise ValueError(f"need X of shape (n, d), y of shape (n,) and theta of shape (..., d), got "
                         f"{X.shape}, {y.shape} and {theta.shape}")
    norm = np.linalg.norm(theta, axis=-1)
    if np.any(norm == 0):
        raise ValueError("theta must be non-zero: the normalized margin of the zero predictor is undefined")
    return np.min((theta @ X.T) * y, axis=-1) / norm
