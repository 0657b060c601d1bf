"""The symmetric factorization :math:`\\theta = UU^\\top` (Gunasekar et al. 2017)."""

from __future__ import annotations

import numpy as np

from .._validation import check_int
from .base import Network, Params

__all__ = ["Symmetric"]


class Symmetric(Network):
    """Positive semidefinite predictor :math:`\\theta = UU^\\top` with one block :math:`U\\in\\mathbb R^{d\\times k}`.

    Parameters
    ----------
    d : int
        Size of the (square) predictor.
    k : int, optional
        Number of columns of ``U`` (default ``d``: full rank possible).

    Notes
    -----
    Pull-back: :math:`\\nabla_U\\langle G, UU^\\top\\rangle = (G + G^\\top)U`. Initialisation schemes:
    ``"gaussian"`` (i.i.d. :math:`\\mathcal N(0,\\text{scale}^2)`) and ``"identity"``
    (:math:`U = \\text{scale}\\cdot I_{d\\times k}`, so :math:`\\theta(0) = \\text{scale}^2 I` when ``k = d``:
    Gunasekar et al.'s :math:`U(0) = \\alpha I`).
    """

    init_schemes = ("gaussian", "identity")

    def __init__(self, d: int, k: int | None = None):
        self.d = check_int("d", d, minimum=1)
        self.k = self.d if k is None else check_int("k", k, minimum=1)
        self.shapes = ((self.d, self.k),)
        self.theta_shape = (self.d, self.d)

    def __repr__(self) -> str:
        return f"Symmetric(d={self.d}, k={self.k})"

    def _init_scheme(self, scheme, scale, rng, batch_shape):
        return [np.broadcast_to(scale * np.eye(self.d, self.k), batch_shape + (self.d, self.k)).copy()]

    def _forward(self, params: Params):
        U = params[0]
        return U @ U.mT, lambda g: [(g + g.mT) @ U]
