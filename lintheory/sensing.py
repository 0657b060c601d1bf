"""Matrix sensing and matrix completion: a squared loss on linear measurements of a matrix ``theta``.

The predictor is a matrix :math:`\\theta\\in\\mathbb R^{d\\times m}` and sample ``i`` is the measurement
:math:`\\langle A_i, \\theta\\rangle = \\operatorname{tr}(A_i^\\top\\theta)`. Matrix completion is the special
case :math:`A_i = e_{j_i}e_{k_i}^\\top` (one observed entry per sample).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import as_array, check_rows
from .losses import Loss

__all__ = ["SensingLoss"]


class SensingLoss(Loss):
    """Squared loss of linear measurements :math:`\\L(\\theta) = \\frac1{2n}\\sum_i(\\langle A_i,\\theta\\rangle - y_i)^2`.

    Parameters
    ----------
    A : array_like, shape (n, d, m)
        The measurement matrices :math:`A_i`; ``theta`` has shape ``(d, m)``.
    y : array_like, shape (n,)
        The measured values.

    Notes
    -----
    The course's ½-mean convention. With :math:`r_i = \\langle A_i,\\theta\\rangle - y_i`:
    gradient :math:`\\frac1n\\sum_i r_iA_i`; Hessian-vector product :math:`\\frac1n\\sum_i\\langle A_i,
    u\\rangle A_i` (constant Hessian). ``X`` is the ``(n, d*m)`` matrix of the flattened :math:`A_i`
    (row ``i`` is :math:`\\operatorname{vec}A_i`), so that ``X @ theta.ravel()`` are the predictions.
    Use :meth:`completion` for matrix completion. A network whose end-to-end predictor has shape
    ``(d, m)`` (e.g. ``FullyConnected([d, ..., m])``, whose :math:`\\theta = (W_L\\cdots W_1)^\\top`)
    trains on it directly.
    """

    def __init__(self, A: Any, y: Any):
        A = as_array("A", A, ndim=3)
        self.y = check_rows("y", as_array("y", y, ndim=1), A.shape[0], "value per measurement matrix of A")
        if A.shape[0] == 0:
            raise ValueError("A must hold at least one measurement matrix, got shape (0, ...)")
        self.A = A
        self.theta_shape = A.shape[1:]
        self.X = A.reshape(A.shape[0], -1)
        self.mask_indices: np.ndarray | None = None

    @classmethod
    def completion(cls, mask_indices: Any, values: Any, shape: tuple[int, int]) -> "SensingLoss":
        """Matrix completion: observe ``theta[j_i, k_i] = values[i]``.

        Parameters
        ----------
        mask_indices : array_like of int, shape (n, 2)
            Row and column ``(j_i, k_i)`` of each observed entry; no entry may appear twice.
        values : array_like, shape (n,)
            The observed values.
        shape : (int, int)
            The shape ``(d, m)`` of ``theta``.
        """
        if not (isinstance(shape, (tuple, list)) and len(shape) == 2
                and all(isinstance(s, (int, np.integer)) and s >= 1 for s in shape)):
            raise ValueError(f"shape must be a pair of positive ints (d, m), got {shape!r}")
        idx = np.asarray(mask_indices)
        if idx.ndim != 2 or idx.shape[1] != 2 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"mask_indices must be an (n, 2) array of integer (row, column) pairs, "
                             f"got shape {idx.shape} and dtype {idx.dtype}")
        if len(idx) == 0:
            raise ValueError("mask_indices must list at least one observed entry, got none")
        values = check_rows("values", as_array("values", values, ndim=1), len(idx),
                            "value per observed entry of mask_indices")
        d, m = int(shape[0]), int(shape[1])
        if np.any(idx < 0) or np.any(idx[:, 0] >= d) or np.any(idx[:, 1] >= m):
            raise ValueError(f"mask_indices must lie inside a {d} x {m} matrix")
        if len({tuple(p) for p in idx.tolist()}) != len(idx):
            raise ValueError("mask_indices must not list the same entry twice")
        A = np.zeros((len(idx), d, m))
        A[np.arange(len(idx)), idx[:, 0], idx[:, 1]] = 1.0
        loss = cls(A, values)
        loss.mask_indices = idx.astype(int)
        return loss

    def predict(self, theta: np.ndarray) -> np.ndarray:
        """The measurements :math:`\\langle A_i,\\theta\\rangle`, shape ``(..., n)``."""
        theta = self._check_theta(theta)
        return self._apply_X(theta.reshape(theta.shape[:-2] + (-1,)))

    def _back(self, r: np.ndarray) -> np.ndarray:
        """:math:`\\sum_i r_iA_i` for per-measurement ``r`` of shape ``(..., n)``."""
        return self._apply_XT(r).reshape(r.shape[:-1] + self.theta_shape)

    def _restrict(self, sub, idx):
        sub.y, sub.A = self.y[idx], self.A[idx]     # the mean over measurements becomes the minibatch mean
        sub.mask_indices = None if self.mask_indices is None else self.mask_indices[idx]

    def residual(self, theta: np.ndarray) -> np.ndarray:
        """:math:`\\langle A_i,\\theta\\rangle - y_i`."""
        return self.predict(theta) - self.y

    def value(self, theta):
        r = self.residual(theta)
        return 0.5 * np.mean(r * r, axis=-1)

    def grad(self, theta):
        return self._back(self.residual(theta)) / self.n

    def value_and_grad(self, theta):
        r = self.residual(theta)
        return 0.5 * np.mean(r * r, axis=-1), self._back(r) / self.n

    def hvp(self, theta, u):
        self._check_theta(theta)
        return self._back(self.predict(self._check_theta(u, "u"))) / self.n
