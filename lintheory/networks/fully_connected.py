"""Fully-connected linear networks ``x -> W_L ... W_1 x`` and their residual variant."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .._validation import as_array, check_int, check_positive
from .base import Network, Params

__all__ = ["FullyConnected", "Residual"]


def _t(a: np.ndarray) -> np.ndarray:
    """Transpose the last two axes (no conjugation: the complex step needs analytic maps)."""
    return np.swapaxes(a, -1, -2)


def chain_forward(layers: Sequence[np.ndarray]) -> tuple[np.ndarray, Callable[[np.ndarray], Params]]:
    """The product ``P = W_L ... W_1`` and the pull-back of ``G = dLoss/dP`` to every factor.

    .. math:: \\frac{\\partial}{\\partial W_k}\\langle G, W_L\\cdots W_1\\rangle
              = (W_L\\cdots W_{k+1})^\\top\\, G\\, (W_{k-1}\\cdots W_1)^\\top .

    The prefix products are computed once and reused by the pull-back (``L`` products forward,
    ``2L`` backward).
    """
    prefix = [layers[0]]
    for w in layers[1:]:
        prefix.append(w @ prefix[-1])

    def pullback(G: np.ndarray) -> Params:
        grads = [None] * len(layers)
        back = G
        for k in range(len(layers) - 1, -1, -1):
            grads[k] = back @ _t(prefix[k - 1]) if k > 0 else back
            if k > 0:
                back = _t(layers[k]) @ back
        return grads

    return prefix[-1], pullback


class FullyConnected(Network):
    """Fully-connected linear network ``x -> W_L ... W_1 x``.

    Parameters
    ----------
    dims : sequence of int
        ``[d, d_1, ..., d_{L-1}, m]``: input dimension, hidden widths and output dimension. Layer ``k``
        has weight shape ``(d_k, d_{k-1})`` (the convention of ``torch.nn.Linear.weight``).

    Notes
    -----
    The end-to-end predictor is :math:`\\theta = (W_L\\cdots W_1)^\\top`, of shape ``(d, m)``, or
    ``(d,)`` when ``m = 1``; predictions are ``X @ theta``. Initialisation schemes:

    - ``"gaussian"``: i.i.d. :math:`\\mathcal N(0, \\text{scale}^2)` entries;
    - ``"balanced"``: :math:`W_{k+1}^\\top W_{k+1} = W_k W_k^\\top` for every ``k``
      (Arora, Cohen, Hazan 2018): a Gaussian end-to-end matrix :math:`A = U\\Sigma V^\\top` rescaled
      to spectral norm ``scale**L`` is split as :math:`W_1 = Q_1\\Sigma^{1/L}V^\\top`,
      :math:`W_k = Q_k\\Sigma^{1/L}Q_{k-1}^\\top`, :math:`W_L = U\\Sigma^{1/L}Q_{L-1}^\\top` with random
      orthonormal :math:`Q_k`, so every layer has spectral norm ``scale``.
    """

    init_schemes = ("gaussian", "balanced")

    def __init__(self, dims: Sequence[int]):
        if isinstance(dims, (str, bytes)) or not hasattr(dims, "__len__"):
            raise TypeError(f"dims must be a sequence of layer sizes like [d, h, m], got {dims!r}")
        if len(dims) < 2:
            raise ValueError(f"dims must list at least an input and an output size (depth >= 1), got {list(dims)}")
        self.dims = tuple(check_int(f"dims[{k}]", n, minimum=1) for k, n in enumerate(dims))
        self.shapes = tuple((self.dims[k + 1], self.dims[k]) for k in range(len(self.dims) - 1))
        m = self.dims[-1]
        self.theta_shape = (self.dims[0],) if m == 1 else (self.dims[0], m)

    def __repr__(self) -> str:
        return f"FullyConnected({list(self.dims)})"

    def _forward(self, params: Params):
        product, pullback = chain_forward(params)
        theta = _t(product)
        if len(self.theta_shape) == 1:
            return theta[..., 0], lambda g: pullback(g[..., None, :])
        return theta, lambda g: pullback(_t(g))

    def _init_scheme(self, scheme, scale, rng, batch_shape):
        d, m, L = self.dims[0], self.dims[-1], self.depth
        A = rng.standard_normal(batch_shape + (m, d))
        U, s, Vt = np.linalg.svd(A, full_matrices=False)
        r = s.shape[-1]
        if min(self.dims) < r:
            raise ValueError(f"balanced init needs every width >= min(d, m) = {r}, got dims {list(self.dims)}")
        root = (s / s[..., :1]) ** (1.0 / L) * scale          # singular values of each layer
        layers, right = [], Vt                                # right: (r, d_{k-1}) orthonormal rows
        for k in range(L - 1):
            Q = np.linalg.qr(rng.standard_normal(batch_shape + (self.dims[k + 1], r)))[0]
            layers.append((Q * root[..., None, :]) @ right)
            right = _t(Q)
        layers.append((U * root[..., None, :]) @ right)
        return layers


class Residual(FullyConnected):
    """Deep residual linear network with a fixed output vector: ``x -> w^T W_L ... W_1 x``.

    All ``L`` layers are trained ``d x d`` matrices; ``w`` (unit norm) is fixed and not a parameter
    (Marion & Chizat 2024, the authors' ``linear_network_proj``).

    Parameters
    ----------
    d : int
        Input dimension and width.
    depth : int
        Number of trained layers ``L``.
    output : array_like, shape (d,), optional
        The fixed output vector; normalised to unit length. Default :math:`\\mathbf 1/\\sqrt d`.

    Notes
    -----
    :math:`\\theta = (W_L\\cdots W_1)^\\top w`. Initialisation ``"residual"`` (default in
    ``init``): :math:`W_k = I_d + \\frac{s}{\\sqrt{L d}}G_k` with i.i.d. standard Gaussian
    :math:`G_k`; ``"gaussian"``: i.i.d. :math:`\\mathcal N(0, s^2)` entries.
    """

    init_schemes = ("residual", "gaussian")

    def __init__(self, d: int, depth: int, output: Any = None):
        d = check_int("d", d, minimum=1)
        depth = check_int("depth", depth, minimum=1)
        super().__init__([d] * (depth + 1))
        w = np.ones(d) if output is None else as_array("output", output, ndim=1)
        if w.shape != (d,):
            raise ValueError(f"output must have shape ({d},), got {w.shape}")
        self.output = w / check_positive("norm of output", float(np.linalg.norm(w)))
        self.theta_shape = (d,)

    def __repr__(self) -> str:
        return f"Residual(d={self.dims[0]}, depth={self.depth})"

    def init(self, scale: float = 1.0, seed: Any = None, *, scheme: str = "residual",
             batch: int | tuple[int, ...] = ()) -> Params:
        return super().init(scale, seed, scheme=scheme, batch=batch)

    init.__doc__ = Network.init.__doc__

    def _init_scheme(self, scheme, scale, rng, batch_shape):
        d, L = self.dims[0], self.depth
        eye = np.eye(d)
        return [eye + scale / np.sqrt(L * d) * rng.standard_normal(batch_shape + (d, d)) for _ in range(L)]

    def _forward(self, params: Params):
        product, pullback = chain_forward(params)
        theta = self.output @ product
        return theta, lambda g: pullback(self.output[:, None] * g[..., None, :])
