"""Closed forms, predictions and bounds from the papers, kept apart from the simulators.

Every function uses the loss convention of :class:`lintheory.SquaredLoss`'s default,
:math:`\\|X\\theta - Y\\|_F^2/(2n)`, unless its docstring says otherwise.
"""

from .convergence import (deficiency_margin, gd_imbalance_increment, gronwall_bound, imbalance_rate_bound,
                          instantaneous_rate, margin_rate_bound, random_init_rate, reduced_imbalance,
                          row_space_split)
from .max_margin import l1_max_margin, l2_max_margin
from .regression import min_norm_solution, reduced_rank_regression
from .saxe import saxe_mode

__all__ = ["min_norm_solution", "reduced_rank_regression", "saxe_mode", "l2_max_margin", "l1_max_margin",
           "row_space_split", "reduced_imbalance", "imbalance_rate_bound", "instantaneous_rate", "gronwall_bound",
           "deficiency_margin", "margin_rate_bound", "random_init_rate", "gd_imbalance_increment"]
