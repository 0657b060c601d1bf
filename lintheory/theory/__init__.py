"""Closed forms, predictions and bounds from the papers, kept apart from the simulators.

Every function uses the loss convention of :class:`lintheory.SquaredLoss`'s default,
:math:`\\|X\\theta - Y\\|_F^2/(2n)`, unless its docstring says otherwise.
"""

from .implicit_bias import (bias_term, head_product, invariant_init, min_l1_interpolator, null_space_projector,
                            predicted_limit,
                            row_space_projector, width_scaling_exponent)
from .max_margin import l1_max_margin, l2_max_margin
from .regression import min_norm_solution, reduced_rank_regression
from .saxe import saxe_mode

__all__ = ["min_norm_solution", "reduced_rank_regression", "saxe_mode", "l2_max_margin", "l1_max_margin",
           "row_space_projector", "null_space_projector", "head_product", "bias_term", "predicted_limit",
           "invariant_init", "width_scaling_exponent", "min_l1_interpolator"]
