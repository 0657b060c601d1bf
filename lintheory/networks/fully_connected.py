"""Fully-connected linear networks ``x -> W_L ... W_1 x`` and their residual variant."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .._validation import as_array, check_int, check_positive
from .base import Network, Params

__all__ = ["FullyConnected", "Residual"]


def chain_forward(layers: Sequence[np.ndarray], top: np.ndarray | None = None
                  ) -> tuple[np.ndarray, Callable[[np.ndarray], Params]]:
    r"""The product ``P = T W_L ... W_1`` and the pull-back of ``G = dLoss/dP`` to every factor.

    ``T`` is a fixed ``(m, d_L)`` read-out (the identity when ``top`` is ``None``). With the suffix
    products :math:`S_k = T W_L\cdots W_{k+1}` and :math:`B_k = W_k\cdots W_1 G^\top`,

    .. math:: \frac{\partial}{\partial W_k}\langle G, T W_L\cdots W_1\rangle
              = S_k^\top\, G\, (W_{k-1}\cdots W_1)^\top = S_k^\top B_{k-1}^\top .

    Both chains carry only ``m`` columns, so a step costs :math:`O(L h^2 m)` rather than the
    :math:`O(L h^3)` of prefix matrix products: for a scalar output the chains are vector-matrix
    products. The suffixes are computed once and reused by the pull-back. Transposes are plain
    (``.mT``, no conjugation), so the map stays analytic for the complex step.
    """
    L = len(layers)
    suffix: list[np.ndarray | None] = [None] * (L + 1)
    suffix[L] = top
    for k in range(L - 1, -1, -1):
        suffix[k] = layers[k] if suffix[k + 1] is None else suffix[k + 1] @ layers[k]

    def pullback(G: np.ndarray) -> Params:
        grads = []
        b = G.mT
        for k in range(L):
            s = suffix[k + 1]
            grads.append(b.mT if s is None else s.mT @ b.mT)
            if k < L - 1:
                b = layers[k] @ b
        return grads

    product = suffix[0]
    return (product.copy() if L == 1 and top is None else product), pullback   # never a view of W_1


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
        if len(self.theta_shape) == 1:
            return product[..., 0, :], lambda g: pullback(g[..., None, :])
        return product.mT, lambda g: pullback(g.mT)

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
            right = Q.mT
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
        product, pullback = chain_forward(params, self.output[None, :])
        return product[..., 0, :], lambda g: pullback(g[..., None, :])
