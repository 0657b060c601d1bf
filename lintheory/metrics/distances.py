"""Distances between predictors, batched over leading axes."""

from __future__ import annotations

import numpy as np

__all__ = ["distance", "relative_distance", "angle", "normalized_margin"]


def distance(a: np.ndarray, b: np.ndarray, *, core_ndim: int | None = None) -> np.ndarray:
    """Euclidean (Frobenius) distance :math:`\\|a - b\\|` over the last ``core_ndim`` axes.

    ``core_ndim`` defaults to ``b.ndim``: ``b`` is the reference (e.g. the min-norm solution) and ``a``
    may carry leading time or batch axes.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    k = b.ndim if core_ndim is None else core_ndim
    return np.sqrt(np.sum((a - b) ** 2, axis=tuple(range(-k, 0)))) if k else np.abs(a - b)


def relative_distance(a: np.ndarray, b: np.ndarray, *, core_ndim: int | None = None) -> np.ndarray:
    """:math:`\\|a - b\\| / \\|b\\|` over the last ``core_ndim`` axes (default ``b.ndim``)."""
    return distance(a, b, core_ndim=core_ndim) / distance(np.zeros_like(b), b, core_ndim=core_ndim)


def angle(a: np.ndarray, b: np.ndarray, *, core_ndim: int | None = None) -> np.ndarray:
    """Angle in radians between ``a`` and the reference ``b`` over the last ``core_ndim`` axes.

    :math:`\\arccos\\big(\\langle a, b\\rangle / (\\|a\\|\\|b\\|)\\big)`, computed as
    :math:`2\\arcsin(\\|\\hat a - \\hat b\\|/2)` with unit vectors, which stays accurate for tiny angles.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    k = b.ndim if core_ndim is None else core_ndim
    axes = tuple(range(-k, 0))
    unit = lambda v: v / np.sqrt(np.sum(v * v, axis=axes, keepdims=True))
    chord = np.sqrt(np.sum((unit(a) - unit(b)) ** 2, axis=axes))
    return 2 * np.arcsin(np.clip(chord / 2, 0.0, 1.0))


def normalized_margin(X: np.ndarray, y: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """:math:`\\min_i y_i x_i^\\top\\theta / \\|\\theta\\|_2`, batched over leading axes of ``theta``."""
    theta = np.asarray(theta, dtype=float)
    return np.min((theta @ np.asarray(X, dtype=float).T) * y, axis=-1) / np.linalg.norm(theta, axis=-1)
