"""Closed forms, predictions and bounds from the papers, kept apart from the simulators.

Every function uses the loss convention of :class:`lintheory.SquaredLoss`'s default,
:math:`\\|X\\theta - Y\\|_F^2/(2n)`, unless its docstring says otherwise.
"""

from .max_margin import l1_max_margin, l2_max_margin
from .regression import min_norm_solution, reduced_rank_regression
from .saxe import saxe_mode
from . import discrete_dynamics as _dd
from .discrete_dynamics import *  # noqa: F401,F403  (Gidel et al. 2019; exports listed in its __all__)

__all__ = ["min_norm_solution", "reduced_rank_regression", "saxe_mode", "l2_max_margin", "l1_max_margin"]
__all__ += _dd.__all__
