"""Measured convergence rates of a loss curve."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_array, check_choice, check_int, check_positive

__all__ = ["empirical_rate", "gradient_norm", "converged"]


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


def gradient_norm(net: Any, loss: Any, params: Any) -> Any:
    """Euclidean norm of the gradient of the loss in all the parameters, one per batch member.

    .. math:: \\|\\nabla_{\\mathcal W}\\mathcal L\\| = \\|J^\\top\\nabla_\\theta\\mathcal L(\\theta)\\|,
              \\qquad J = \\partial\\theta/\\partial\\mathcal W,

    by the chain rule (``net.vjp`` applied to ``loss.grad``).

    Parameters
    ----------
    net : Network
    loss : Loss
    params : list of ndarray
        Any leading batch axes (for example the time and batch axes of ``Trajectory.params``).

    Returns
    -------
    float or ndarray
        Shape ``batch``; NaN where the parameters are not finite.
    """
    params = [np.asarray(p, dtype=float) for p in params]
    with np.errstate(invalid="ignore", over="ignore"):
        theta = net.end_to_end([np.nan_to_num(p) for p in params])
        grads = net.vjp([np.nan_to_num(p) for p in params], loss.grad(theta))
    batch = net.batch_shape(params)
    sq = sum(np.sum(g.reshape(batch + (-1,)) ** 2, axis=-1) for g in grads)
    bad = sum(np.sum(~np.isfinite(p).reshape(batch + (-1,)), axis=-1) for p in params) > 0
    out = np.where(bad, np.nan, np.sqrt(sq))
    return float(out) if out.ndim == 0 else out


def converged(distance: Any, gradient: Any = None, *, tol: float = 1e-6, grad_tol: float = 1e-3,
              window: int | None = None) -> Any:
    """Whether runs have converged: distance and gradient small at every one of the last records.

    A run is declared converged iff, over its last ``window`` records,

    .. math:: \\max_{t \\in \\text{window}} d_t \\le \\text{tol}
              \\quad\\text{and}\\quad \\max_{t\\in\\text{window}} g_t \\le \\text{grad\\_tol},

    with every record finite (a diverged run, recorded as NaN, is not converged). One record below
    the tolerance is not enough: gradient descent on a period-two orbit or a chaotic path can pass
    close to a minimizer at one step and leave it at the next. Record every step of the window
    (``record_every=1``), or at an odd stride, so that a period-two orbit is seen on both branches.

    Parameters
    ----------
    distance : array_like, shape (T, ...)
        Distance to the target (any nonnegative measure, e.g. ``mean((theta - theta_star)**2)``),
        leading axis time, as in ``Trajectory.theta``.
    gradient : array_like, shape (T, ...), optional
        Gradient norms at the same records (e.g. :func:`gradient_norm`); ``None`` checks the distance only.
    tol, grad_tol : float
        Tolerances (> 0).
    window : int, optional
        Number of final records to check (default: all of them).

    Returns
    -------
    bool or ndarray of bool
        Shape ``distance.shape[1:]``.
    """
    d = np.asarray(distance, dtype=float)
    if d.ndim < 1 or d.shape[0] < 1:
        raise ValueError(f"distance must have a leading time axis with >= 1 record, got shape {d.shape}")
    tol = check_positive("tol", tol)
    grad_tol = check_positive("grad_tol", grad_tol)
    window = d.shape[0] if window is None else check_int("window", window, minimum=1)
    if window > d.shape[0]:
        raise ValueError(f"window ({window}) must not exceed the number of records ({d.shape[0]})")
    ok = np.all(d[-window:] <= tol, axis=0)          # NaN compares False: not converged
    if gradient is not None:
        g = np.asarray(gradient, dtype=float)
        if g.shape != d.shape:
            raise ValueError(f"gradient must have the shape of distance {d.shape}, got {g.shape}")
        ok &= np.all(g[-window:] <= grad_tol, axis=0)
    return bool(ok) if ok.ndim == 0 else ok
