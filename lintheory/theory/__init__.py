"""Closed forms, predictions and bounds from the papers, kept apart from the simulators.

Every function uses the loss convention of :class:`lintheory.SquaredLoss`'s default,
:math:`\\|X\\theta - Y\\|_F^2/(2n)`, unless its docstring says otherwise.
"""

from .max_margin import l1_max_margin, l2_max_margin
from .regression import min_norm_solution, reduced_rank_regression
from .saxe import saxe_mode
from .flat_minima import (RegressionConstants, balanced_minimizer, balanced_sharpness, regression_constants,
                          rescaled_minimizer, sharpness_lower_bound, small_init_sharpness_bound)

__all__ = ["min_norm_solution", "reduced_rank_regression", "saxe_mode", "l2_max_margin", "l1_max_margin",
           "RegressionConstants", "regression_constants", "sharpness_lower_bound", "balanced_sharpness",
           "small_init_sharpness_bound", "balanced_minimizer", "rescaled_minimizer"]
