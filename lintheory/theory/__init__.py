"""Closed forms, predictions and bounds from the papers, kept apart from the simulators.

Every function uses the loss convention of :class:`lintheory.SquaredLoss`'s default,
:math:`\\|X\\theta - Y\\|_F^2/(2n)`, unless its docstring says otherwise.
"""

from .max_margin import l1_max_margin, l2_max_margin
from .regression import min_norm_solution, reduced_rank_regression
from .saxe import saxe_mode
from .tensor_networks import (H_L, Q, argmin_Q, h_L, l1_interpolator, lp_kkt_residual, s_of_t, tau_L,
                              tau_star, woodworth_q)

__all__ = ["min_norm_solution", "reduced_rank_regression", "saxe_mode", "l2_max_margin", "l1_max_margin",
           "tau_L", "tau_star", "s_of_t", "h_L", "H_L", "Q", "argmin_Q", "woodworth_q", "l1_interpolator",
           "lp_kkt_residual"]
