"""Diagonal and convolutional linear networks: vector parameters combined coordinate-wise."""

from __future__ import annotations

import numpy as np

from typing import Callable

from .._validation import check_int
from .base import Network, Params

__all__ = ["Diagonal", "Convolutional"]


def _products_but_one(factors: list[np.ndarray], times: Callable = np.multiply,
                      one: np.ndarray | None = None) -> list[np.ndarray]:
    """For each ``k`` the product of all ``factors`` except the ``k``-th (no division).

    ``times`` is a commutative, associative product with unit ``one`` (default: elementwise).
    """
    L = len(factors)
    one = np.ones_like(factors[0]) if one is None else one
    prefix = [one]
    for f in factors[:-1]:
        prefix.append(times(prefix[-1], f))
    out, suffix = [None] * L, one
    for k in range(L - 1, -1, -1):
        out[k] = times(prefix[k], suffix)
        suffix = times(suffix, factors[k])
    return out


class _VectorNetwork(Network):
    """Shared constructor of networks whose ``depth`` blocks are vectors of length ``d``."""

    def __init__(self, d: int, depth: int):
        self.d = check_int("d", d, minimum=1)
        self.shapes = ((self.d,),) * check_int("depth", depth, minimum=1)
        self.theta_shape = (self.d,)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(d={self.d}, depth={self.depth})"

    def _init_scheme(self, scheme, scale, rng, batch_shape):
        return [np.full(batch_shape + (self.d,), scale) for _ in range(self.depth)]


class Diagonal(_VectorNetwork):
    """Diagonal linear network: :math:`\\theta_j = \\prod_{l=1}^L [v_l]_j`.

    The linear tensor network with data tensor :math:`M(x) = \\sum_j x_j e_j^{\\otimes L}`
    (Yun, Krishnan, Mobahi 2021; Woodworth et al. 2020 for ``L = 2``).

    Parameters
    ----------
    d : int
        Input dimension.
    depth : int
        Number of layers ``L``.

    Notes
    -----
    Initialisation schemes: ``"gaussian"`` (i.i.d. :math:`\\mathcal N(0, \\text{scale}^2)`) and
    ``"constant"`` (every coordinate of every layer equal to ``scale``, so :math:`\\theta = \\text{scale}^L`).
    """

    init_schemes = ("gaussian", "constant")

    def _forward(self, params: Params):
        others = _products_but_one(params)
        theta = others[-1] * params[-1]
        return theta, lambda g: [g * o for o in others]


class Convolutional(_VectorNetwork):
    """Linear convolutional network with full-width circular filters.

    :math:`\\theta = v_1 \\circledast v_2 \\circledast \\cdots \\circledast v_L`, where
    :math:`(a \\circledast b)_i = \\sum_j a_j b_{(i-j) \\bmod d}`, so that the discrete Fourier transform
    diagonalises the network: :math:`\\mathcal F\\theta = \\prod_l \\mathcal F v_l`
    (Gunasekar et al. 2018b; Yun, Krishnan, Mobahi 2021).

    Parameters
    ----------
    d : int
        Input dimension (filter length).
    depth : int
        Number of layers ``L``.

    Notes
    -----
    The gradient of :math:`\\langle g, \\theta\\rangle` in :math:`v_k` is the circular correlation
    :math:`C(u_k)^\\top g` of ``g`` with the convolution :math:`u_k` of the other filters, where
    :math:`C(u)_{ij} = u_{(i-j) \\bmod d}` is the circulant matrix of :math:`u`. Products are done with
    circulant matrices in real arithmetic (exact, and safe for complex-step derivatives).
    Initialisation schemes: ``"gaussian"`` and ``"constant"``.
    """

    init_schemes = ("gaussian", "constant")

    def _circulant(self, u: np.ndarray) -> np.ndarray:
        i = np.arange(self.d)
        return u[..., (i[:, None] - i[None, :]) % self.d]

    def _cconv(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (self._circulant(a) @ b[..., None])[..., 0]

    def _forward(self, params: Params):
        one = np.zeros(self.d)
        one[0] = 1.0
        others = _products_but_one(params, self._cconv, one)
        theta = self._cconv(others[-1], params[-1])

        def pullback(g: np.ndarray) -> Params:
            return [(g[..., None, :] @ self._circulant(o))[..., 0, :] for o in others]

        return theta, pullback
