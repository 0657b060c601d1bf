"""Measured convergence rates of a loss curve."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_array, check_choice

__all__ = ["empirical_rate"]


def empirical_rate(t: Any, loss: Any, *, kind: str = "average") -> np.ndarray:
    """Measured exponential rate of a loss curve, in the convention :math:`\\mathcal L \\approx e^{-2\\rho t}`.

    .. math:: \\rho_{\\text{average}}(t) = -\\frac{1}{2t}\\log\\frac{\\mathcal L(t)}{\\mathcal L(0)}, \\qquad
              \\rho_{\\text{local}}(t) = -\\frac12\\,\\frac{d}{dt}\\log\\mathcal L(t),

    the local one by second-order finite differences (``np.gradient``) on the grid ``t``. A bound
    :math:`\\mathcal L(t) \\le e^{-2ct}\\mathcal L(0)` says exactly that :math:`\\rho_{\\text{average}} \\ge c`.

    Parameters
    ----------
    t : array_like, shape (T,)
        Increasing times (or ``step * k`` for gradient descent).
    loss : array_like, shape (T, ...)
        Positive loss values (leading time axis, as in ``Trajectory.loss``).
    kind : {"average", "local"}

    Returns
    -------
    ndarray, shape (T, ...)
        For ``"average"``, the first entry (``t = t[0]``) is NaN.
    """
    t = as_array("t", t, ndim=1)
    loss = np.asarray(loss, dtype=float)
    check_choice("kind", kind, ("average", "local"))
    if loss.shape[:1] != t.shape or t.size < 2 or np.any(np.diff(t) <= 0):
        raise ValueError(f"t must be increasing with >= 2 points and loss of shape ({t.size}, ...), got {loss.shape}")
    if np.any(~(loss > 0)):
        raise ValueError("loss must be positive and finite to take its logarithm")
    logl = np.log(loss)
    if kind == "local":
        return -0.5 * np.gradient(logl, t, axis=0)
    dt = (t - t[0]).reshape((-1,) + (1,) * (loss.ndim - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -0.5 * (logl - logl[:1]) / dt
    out[0] = np.nan
    return out
