"""Distances between predictors, batched over leading axes."""

from __future__ import annotations

import numpy as np

__all__ = ["distance", "relative_distance"]


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
