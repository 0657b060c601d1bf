"""Metrics of parameters and predictors: conserved quantities, curvature, spectra, distances."""

from .balance import imbalance, norm_imbalance
from .convergence import converged, empirical_rate, gradient_norm
from .curvature import hessian, hvp, sharpness
from .distances import angle, distance, normalized_margin, relative_distance
from .flat_minima import gauss_newton, jacobian
from .kernel import kernel_rate, loss_decay_rate, tangent_kernel
from .rank import effective_rank_trajectory, schatten_norm, singular_value_trajectory
from .spectra import alignment, effective_rank, rank_one_ratio, singular_values

__all__ = ["imbalance", "norm_imbalance", "hvp", "hessian", "sharpness", "distance",
           "relative_distance", "angle", "normalized_margin", "singular_values", "effective_rank", "rank_one_ratio", "alignment",
           "empirical_rate", "jacobian", "gauss_newton",
           "gradient_norm", "converged"]
__all__ += ["tangent_kernel", "kernel_rate", "loss_decay_rate"]
__all__ += ["singular_value_trajectory", "effective_rank_trajectory", "schatten_norm"]
