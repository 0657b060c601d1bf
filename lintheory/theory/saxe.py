"""Exact learning curves of decoupled modes (Saxe, McClelland, Ganguli 2014)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_array

__all__ = ["saxe_mode"]


def saxe_mode(t: Any, s: Any, a0: Any) -> np.ndarray:
    """Strength of one mode of a two-layer linear network under gradient flow.

    With whitened inputs (:math:`XX^\\top = nI`; for the course's :math:`n < d`, :math:`X^\\top X/n = I` is impossible), a target mode of strength ``s`` and a balanced,
    decoupled initialisation of strength ``a0``, the course's loss :math:`\\|X\\theta - Y\\|^2/(2n)`
    gives :math:`\\dot a = 2a(s - a)`, whose solution is

    .. math:: a(t) = \\frac{s\\,e^{2st}}{e^{2st} - 1 + s/a_0} = \\frac{s}{1 + (s/a_0 - 1)e^{-2st}} .

    The mode waits for a time of about :math:`\\ln(s/a_0)/(2s)` before it is learned (a plateau).

    Parameters
    ----------
    t : array_like
        Times (>= 0).
    s : array_like
        Target singular values (> 0).
    a0 : array_like
        Initial mode strengths (> 0). All three broadcast together.

    Returns
    -------
    ndarray
        :math:`a(t)`.

    References
    ----------
    Saxe, McClelland, Ganguli (2014), Exact solutions to the nonlinear dynamics of learning in deep
    linear neural networks, eq. (6), rescaled to this loss convention.
    """
    t, s, a0 = as_array("t", t), as_array("s", s), as_array("a0", a0)
    if np.any(t < 0):
        raise ValueError("t must be non-negative")
    if np.any(s <= 0) or np.any(a0 <= 0):
        raise ValueError("s and a0 must be positive")
    return s / (1 + (s / a0 - 1) * np.exp(-2 * s * t))


def saxe_learning_time(s: Any, a0: Any) -> np.ndarray:
    """Time at which a Saxe mode reaches half its target, :math:`a(t) = s/2`.

    From :math:`a(t) = s/(1 + (s/a_0 - 1)e^{-2st})` (``saxe_mode``, same loss convention),

    .. math:: t_{1/2} = \\frac{\\ln(s/a_0 - 1)}{2s} \\approx \\frac{\\ln(s/a_0)}{2s} \\quad (a_0 \\ll s),

    the length of the plateau before the mode is learned. Derived here from Saxe, McClelland, Ganguli
    (2014), eq. (6).

    Parameters
    ----------
    s : array_like
        Target singular values (> 0).
    a0 : array_like
        Initial mode strengths, ``0 < a0 < s/2`` (a mode that starts above ``s/2`` has no plateau).

    Returns
    -------
    ndarray
    """
    s, a0 = as_array("s", s), as_array("a0", a0)
    if np.any(s <= 0) or np.any(a0 <= 0):
        raise ValueError("s and a0 must be positive")
    if np.any(a0 >= s / 2):
        raise ValueError("a0 must be below s / 2 (the mode must start below its half-way point)")
    return np.log(s / a0 - 1) / (2 * s)


__all__ += ["saxe_learning_time"]
