"""Losses of the end-to-end predictor ``theta`` (predictions ``X @ theta``).

A loss never sees the network: it gives ``value``, ``grad`` and ``hvp`` (Hessian-vector product) in
``theta``, and the chain rule through :meth:`lintheory.Network.vjp` does the rest. Every method accepts
``theta`` with leading batch axes and returns one value per batch member.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ._validation import as_array, check_choice, check_rows

__all__ = ["Loss", "SquaredLoss", "LogisticLoss", "ExponentialLoss"]


class Loss(ABC):
    """Base class: a smooth function of the end-to-end predictor ``theta``.

    Every loss provides:

    1. ``X`` (shape ``(n, d)``) and ``theta_shape``;
    2. ``value(theta)``: the loss, one number per batch member;
    3. ``grad(theta)``: its gradient, shaped like ``theta``;
    4. ``hvp(theta, u)``: its Hessian in ``theta`` applied to ``u``.
    """

    X: np.ndarray
    theta_shape: tuple[int, ...]

    @property
    def n(self) -> int:
        """Number of samples (of a minibatch, for a loss made by :meth:`subset`)."""
        return self.X.shape[-2]

    def predict(self, theta: np.ndarray) -> np.ndarray:
        """Predictions ``X @ theta`` (batched over leading axes of ``theta``)."""
        theta = self._check_theta(theta)
        if len(self.theta_shape) == 1:
            return self._apply_X(theta)
        return self.X @ theta                   # also right for a per-member X of shape (*batch, n, d)

    def _apply_X(self, v: np.ndarray) -> np.ndarray:
        """``X v`` for ``v`` of shape ``(..., d)``, per batch member when ``X`` is ``(*batch, n, d)``."""
        if self.X.ndim == 2:
            return v @ self.X.T
        return (self.X @ v[..., None])[..., 0]

    def _apply_XT(self, r: np.ndarray) -> np.ndarray:
        """``X^T r`` for ``r`` of shape ``(..., n)``, per batch member when ``X`` is ``(*batch, n, d)``."""
        if self.X.ndim == 2:
            return r @ self.X
        return (r[..., None, :] @ self.X)[..., 0, :]

    def _check_theta(self, theta: Any, name: str = "theta") -> np.ndarray:
        theta = np.asarray(theta)
        k = len(self.theta_shape)
        if theta.ndim < k or theta.shape[theta.ndim - k:] != self.theta_shape:
            raise ValueError(f"{name} must have shape (..., {', '.join(map(str, self.theta_shape))}) "
                             f"for this loss, got {theta.shape}")
        return theta

    def _back(self, r: np.ndarray) -> np.ndarray:
        """``X^T r`` for per-sample quantities ``r`` (shape ``(..., n)`` or ``(..., n, m)``)."""
        if len(self.theta_shape) == 1:
            return self._apply_XT(r)
        return self.X.T @ r if self.X.ndim == 2 else np.swapaxes(self.X, -1, -2) @ r

    def subset(self, idx: Any) -> "Loss":
        """The same loss on the samples ``idx`` only: the minibatch loss of stochastic gradient descent.

        Parameters
        ----------
        idx : array_like of int, shape ``(b,)`` or ``(*batch, b)``
            Sample indices in ``[0, n)``; repeats count with their multiplicity (sampling with
            replacement). With leading axes, batch member ``j`` of ``theta`` sees the samples ``idx[j]``
            (such a per-member subset cannot be subset again).

        Returns
        -------
        Loss
            A loss of the same class and the same formulas on the rows ``X[idx]`` (and their targets),
            scaled so that it is an unbiased estimate of this loss: if the per-sample losses are
            :math:`\\ell_i` and this loss is :math:`c\\sum_{i=1}^n\\ell_i`, the subset loss is
            :math:`c\\,\\frac nb\\sum_{i\\in B}\\ell_i` (for the averaged losses of the course, the mean
            of :math:`\\ell_i` over the minibatch). Hence, when :math:`B` is drawn uniformly (with or
            without replacement), :math:`\\mathbb E_B[\\nabla\\mathcal L_B] = \\nabla\\mathcal L` (derived in this course).
        """
        idx = np.asarray(idx)
        if idx.ndim < 1 or idx.shape[-1] == 0 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"idx must be a non-empty integer array of sample indices of shape (b,) or "
                             f"(*batch, b), got shape {idx.shape} and dtype {idx.dtype}")
        if np.any(idx < 0) or np.any(idx >= self.n):
            raise ValueError(f"idx must hold sample indices in [0, {self.n}), got values from "
                             f"{int(idx.min())} to {int(idx.max())}")
        if self.X.ndim != 2:
            raise ValueError("subset() needs one sample set for all batch members; this loss is already a "
                             "per-member subset")
        return self._take(idx)

    def _take(self, idx: np.ndarray) -> "Loss":
        """:meth:`subset` without the checks (``idx`` already valid): copy, then restrict per-sample data."""
        sub = copy.copy(self)
        sub.X = self.X[idx]
        self._restrict(sub, idx)
        return sub

    def _restrict(self, sub: "Loss", idx: np.ndarray) -> None:
        """Restrict the per-sample arrays other than ``X`` (targets, labels) and rescale constants."""
        raise NotImplementedError(f"{type(self).__name__} does not support subset()")

    def value_and_grad(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(value(theta), grad(theta))``, sharing the work of both."""
        return self.value(theta), self.grad(theta)

    def normalized_grad(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(value(theta), grad(theta) / value(theta))``: the direction of loss-normalised GD.

        The generic ratio; where the loss is exactly 0 (an exact minimum of a non-negative loss) the
        ratio is defined as 0, so that normalised GD stays put there. Margin losses override this with
        a computation that stays exact when the loss underflows.
        """
        value, g = self.value_and_grad(theta)
        k = len(self.theta_shape)
        v = np.reshape(value, np.shape(value) + (1,) * k)
        with np.errstate(divide="ignore", invalid="ignore"):
            return value, np.where(v == 0, 0.0, g / np.where(v == 0, 1.0, v))

    @abstractmethod
    def value(self, theta: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def grad(self, theta: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def hvp(self, theta: np.ndarray, u: np.ndarray) -> np.ndarray: ...


_SQUARED_NORMALIZATIONS = {"half_mean": lambda n: 0.5 / n, "mean": lambda n: 1.0 / n,
                           "half_sum": lambda n: 0.5, "sum": lambda n: 1.0}


def squared_loss_factor(normalization: str, n: int) -> float:
    """The factor :math:`\\kappa = 2c` of the squared loss :math:`c\\|X\\theta - Y\\|_F^2`, so that
    :math:`\\nabla\\mathcal L = \\kappa X^\\top(X\\theta - Y)`: :math:`1/n` for ``"half_mean"`` (the course),
    :math:`2/n` for ``"mean"``, 1 for ``"half_sum"``, 2 for ``"sum"``. Every closed form that converts
    between loss conventions uses this one table (the one :class:`SquaredLoss` scales by)."""
    check_choice("normalization", normalization, tuple(_SQUARED_NORMALIZATIONS))
    return 2.0 * _SQUARED_NORMALIZATIONS[normalization](n)


def _check_samples(X: np.ndarray) -> np.ndarray:
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have at least one sample and one feature, got shape {X.shape}")
    return X


class SquaredLoss(Loss):
    """Squared loss :math:`c\\,\\|X\\theta - Y\\|_F^2`, by default with :math:`c = 1/(2n)`.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Inputs, one sample per row.
    Y : array_like, shape (n,) or (n, m)
        Targets; ``theta`` then has shape ``(d,)`` or ``(d, m)``.
    normalization : {"half_mean", "mean", "half_sum", "sum"}
        The constant :math:`c`: :math:`1/(2n)` (default, the course's convention), :math:`1/n`
        (Marion & Chizat 2024), :math:`1/2` (Min et al. 2021), or 1.

    Notes
    -----
    Gradient :math:`2c\\,X^\\top(X\\theta - Y)`; Hessian :math:`2c\\,X^\\top X` (constant).
    """

    def __init__(self, X: Any, Y: Any, *, normalization: str = "half_mean"):
        self.X = _check_samples(as_array("X", X, ndim=2))
        self.Y = check_rows("Y", as_array("Y", Y, ndim=(1, 2)), self.X.shape[0], "row per sample of X")
        self.normalization = check_choice("normalization", normalization, tuple(_SQUARED_NORMALIZATIONS))
        self.c = _SQUARED_NORMALIZATIONS[normalization](self.n)
        d = self.X.shape[1]
        self.theta_shape = (d,) if self.Y.ndim == 1 else (d, self.Y.shape[1])

    def residual(self, theta: np.ndarray) -> np.ndarray:
        """``X theta - Y``."""
        return self.predict(theta) - self.Y

    def value(self, theta):
        return self.value_and_grad(theta)[0]

    def grad(self, theta):
        return 2 * self.c * self._back(self.residual(theta))

    def value_and_grad(self, theta):
        r = self.residual(theta)
        value = self.c * np.sum(r * r, axis=tuple(range(-len(self.theta_shape), 0)))
        return value, 2 * self.c * self._back(r)

    def hvp(self, theta, u):
        self._check_theta(theta)
        return 2 * self.c * self._back(self.predict(self._check_theta(u, "u")))

    def _restrict(self, sub, idx):
        sub.Y = self.Y[idx]
        b = idx.shape[-1]                       # mean normalizations: the mean over the minibatch
        sub.c = (_SQUARED_NORMALIZATIONS[self.normalization](b) if "mean" in self.normalization
                 else self.c * self.n / b)      # sum normalizations: c n / b times the minibatch sum


class _MarginLoss(Loss):
    """Mean over samples of :math:`\\ell(y_i x_i^\\top\\theta)`, labels in :math:`\\{-1, +1\\}`."""

    def __init__(self, X: Any, y: Any):
        self.X = _check_samples(as_array("X", X, ndim=2))
        self.y = check_rows("y", as_array("y", y, ndim=1), self.X.shape[0], "label per sample of X")
        if not np.all(np.abs(self.y) == 1):
            bad = self.y[np.abs(self.y) != 1][:3]
            raise ValueError(f"y must contain only labels -1 and +1, got values such as {bad.tolist()}")
        self.theta_shape = (self.X.shape[1],)

    def margins(self, theta: np.ndarray) -> np.ndarray:
        """Per-sample margins :math:`y_i x_i^\\top\\theta`."""
        return self.predict(theta) * self.y

    def value(self, theta):
        return np.mean(self._ell(self.margins(theta)), axis=-1)

    def grad(self, theta):
        return self._back(self._dell(self.margins(theta)) * self.y) / self.n

    def value_and_grad(self, theta):
        z = self.margins(theta)
        return np.mean(self._ell(z), axis=-1), self._back(self._dell(z) * self.y) / self.n

    def hvp(self, theta, u):
        curvature = self._d2ell(self.margins(theta))
        return self._back(curvature * self.predict(self._check_theta(u, "u"))) / self.n

    def normalized_grad(self, theta):
        """``(value, grad / value)`` in the log domain: exact even when every :math:`\\ell(z_i)` underflows.

        .. math:: \\frac{\\nabla\\mathcal L}{\\mathcal L}
                  = \\frac{\\sum_i \\ell'(z_i)\\,y_i x_i}{\\sum_i \\ell(z_i)}
                  = \\frac{\\sum_i e^{\\log|\\ell'(z_i)| - M}(-y_i x_i)}{\\sum_i e^{\\log\\ell(z_i) - M}},
                  \\qquad M = \\max_i \\log\\ell(z_i).
        """
        z = self.margins(theta)
        log_ell, log_dell = self._log_ell(z), self._log_abs_dell(z)
        top = np.max(log_ell, axis=-1, keepdims=True)
        with np.errstate(invalid="ignore"):
            weights = np.exp(log_dell - top)
            ratio = self._back(-weights * self.y) / np.sum(np.exp(log_ell - top), axis=-1, keepdims=True)
        return np.mean(self._ell(z), axis=-1), ratio

    def _restrict(self, sub, idx):
        sub.y = self.y[idx]                     # the mean over samples becomes the minibatch mean


class LogisticLoss(_MarginLoss):
    """Logistic loss :math:`\\frac1n\\sum_i \\log(1 + e^{-y_i x_i^\\top\\theta})`.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,), labels in {-1, +1}
    """

    @staticmethod
    def _ell(z):
        return np.logaddexp(0.0, -z)

    @staticmethod
    def _dell(z):
        # -sigmoid(-z) = -exp(-log(1 + e^z)): overflow-free and accurate in the tail (the former
        # -(1 - tanh(z/2))/2 cancelled to exactly 0 for margins z > 37, stalling GD on separable data)
        return -np.exp(-np.logaddexp(0.0, z))

    @staticmethod
    def _d2ell(z):
        e = np.exp(-np.abs(z))
        return e / (1 + e) ** 2                   # sigmoid(z) sigmoid(-z), overflow-free

    @staticmethod
    def _log_ell(z):
        # log log(1 + e^-z) = -z + log(1 - u/2 + ...) with u = e^-z: beyond z = 37, u/2 < 5e-17 is below
        # round-off and log ell = -z exactly in float64 (log(logaddexp) would underflow to -inf there)
        with np.errstate(divide="ignore", over="ignore"):
            small = np.log(np.logaddexp(0.0, -np.minimum(z, 37.0)))
        return np.where(z > 37.0, -z, small)

    @staticmethod
    def _log_abs_dell(z):
        return -np.logaddexp(0.0, z)              # log sigmoid(-z)


class ExponentialLoss(_MarginLoss):
    """Exponential loss :math:`\\frac1n\\sum_i e^{-y_i x_i^\\top\\theta}`.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,), labels in {-1, +1}
    """

    @staticmethod
    def _ell(z):
        return np.exp(-z)

    @staticmethod
    def _dell(z):
        return -np.exp(-z)

    @staticmethod
    def _d2ell(z):
        return np.exp(-z)

    @staticmethod
    def _log_ell(z):
        return -z

    @staticmethod
    def _log_abs_dell(z):
        return -z
