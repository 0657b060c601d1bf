"""Linear tensor networks (Yun, Krishnan, Mobahi 2021): a data tensor contracted with one vector per layer.

A linear tensor network maps an input ``x`` to an order-``L`` data tensor :math:`M(x)`, linear in
``x``, and contracts it with one parameter vector per layer. Fully-connected, diagonal and
convolutional linear networks are special cases (:meth:`TensorNetwork.fully_connected`,
:meth:`TensorNetwork.diagonal`, :meth:`TensorNetwork.convolutional`); the orthogonally decomposable
ones are :class:`DecomposableTensorNetwork`.
"""

from __future__ import annotations

import string
from typing import Any, Sequence

import numpy as np

from .._validation import as_array, check_int
from .base import Network, Params

__all__ = ["TensorNetwork", "DecomposableTensorNetwork"]

_LETTERS = string.ascii_letters.replace("i", "")


class TensorNetwork(Network):
    """Linear tensor network :math:`f(x) = M(x)\\cdot(v_1, \\dots, v_L) = x^\\top\\theta`.

    With :math:`M(x) = \\sum_i x_i T_i`, the end-to-end predictor is
    :math:`\\theta_i = \\sum_{j_1..j_L} [T_i]_{j_1\\dots j_L}[v_1]_{j_1}\\cdots[v_L]_{j_L}`
    (Yun, Krishnan, Mobahi 2021, Section 2).

    Parameters
    ----------
    tensor : array_like, shape (d, k_1, ..., k_L)
        The data tensor map: ``tensor[i]`` is :math:`M(e_i)`.

    Notes
    -----
    The pull-back of ``g`` to layer ``l`` is the contraction of :math:`\\sum_i g_iT_i` with every
    vector except :math:`v_l`. Initialisation: ``"gaussian"`` only.
    """

    def __init__(self, tensor: Any):
        T = as_array("tensor", tensor)
        if T.ndim < 2:
            raise ValueError(f"tensor must have shape (d, k_1, ..., k_L) with L >= 1, got {T.shape}")
        if 0 in T.shape:
            raise ValueError(f"tensor must have no empty axis (every mode at least 1), got shape {T.shape}")
        if T.ndim - 1 > len(_LETTERS):
            raise ValueError(f"tensor order {T.ndim - 1} is too large (at most {len(_LETTERS)})")
        self.tensor = T
        self.shapes = tuple((k,) for k in T.shape[1:])
        self.theta_shape = (T.shape[0],)
        letters = _LETTERS[:self.depth]
        self._fwd = "i" + letters + "," + ",".join("..." + c for c in letters) + "->...i"
        self._bwd = [",".join(["...i", "i" + letters] + ["..." + c for c in letters if c != letters[k]])
                     + "->..." + letters[k] for k in range(self.depth)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(d={self.theta_shape[0]}, shapes={[s[0] for s in self.shapes]})"

    def _forward(self, params: Params):
        theta = np.einsum(self._fwd, self.tensor, *params, optimize=True)

        def pullback(g: np.ndarray) -> Params:
            return [np.einsum(self._bwd[k], g, self.tensor, *(p for j, p in enumerate(params) if j != k),
                              optimize=True) for k in range(self.depth)]

        return theta, pullback

    # ------------------------------------------------------------------ the three special cases
    @classmethod
    def diagonal(cls, d: int, depth: int) -> "DecomposableTensorNetwork":
        """Diagonal network :math:`M(x) = \\sum_j x_j e_j^{\\otimes L}` (same map as ``Diagonal``)."""
        d, depth = check_int("d", d, minimum=1), check_int("depth", depth, minimum=1)
        return DecomposableTensorNetwork(np.eye(d), [np.eye(d)] * depth)

    @classmethod
    def convolutional(cls, d: int, depth: int) -> "TensorNetwork":
        """Circular convolutional network: :math:`[T_i]_{j_1..j_L} = 1` iff :math:`j_1+\\dots+j_L \\equiv i`.

        Then :math:`\\theta = v_1\\circledast\\cdots\\circledast v_L` (the map of ``Convolutional``).
        For ``d <= 2`` the real DFT diagonalises it and a :class:`DecomposableTensorNetwork` is
        returned (``S`` = :math:`2^{(L-1)/2}` times the orthonormal 2-point DFT, ``U_l`` = the latter).
        """
        d, depth = check_int("d", d, minimum=1), check_int("depth", depth, minimum=1)
        if d == 2:
            H = np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2.0)
            return DecomposableTensorNetwork(2.0 ** ((depth - 1) / 2) * H, [H] * depth)
        idx = np.indices((d,) * depth).sum(axis=0) % d
        return cls(np.stack([(idx == i).astype(float) for i in range(d)]))

    @classmethod
    def fully_connected(cls, dims: Sequence[int]) -> "TensorNetwork":
        """Fully-connected network ``x -> W_L ... W_1 x`` (scalar output), ``v_l = W_l.ravel()``.

        :math:`M(x) = x \\otimes I_{d_1} \\otimes \\cdots \\otimes I_{d_{L-1}}` arranged so that
        :math:`M(x)\\cdot(\\mathrm{vec}W_1, \\dots, \\mathrm{vec}W_L) = W_L\\cdots W_1x`.
        """
        dims = [check_int(f"dims[{k}]", n, minimum=1) for k, n in enumerate(dims)]
        if len(dims) < 2 or dims[-1] != 1:
            raise ValueError(f"dims must be [d, d_1, ..., 1] (scalar output), got {dims}")
        L = len(dims) - 1
        T = np.zeros([dims[0]] + [dims[k + 1] * dims[k] for k in range(L)])
        for idx in np.ndindex(*dims[:-1]):         # idx = (b_1 = input index, a_1, ..., a_{L-1})
            rows = list(idx[1:]) + [0]             # output index of layer k
            cols = list(idx)                       # input index of layer k
            T[(idx[0],) + tuple(r * dims[k] + c for k, (r, c) in enumerate(zip(rows, cols)))] = 1.0
        return cls(T)

    @classmethod
    def local_convolutional(cls, d: int, filter_sizes: Sequence[int]) -> "TensorNetwork":
        """Circular convolutional network with short filters: layer ``l`` has ``filter_sizes[l]`` taps.

        :math:`[T_i]_{j_1..j_L} = 1` iff :math:`j_1+\\dots+j_L \\equiv i \\pmod d`, with
        :math:`0 \\le j_l <` ``filter_sizes[l]``, so :math:`\\theta = v_1\\circledast\\cdots\\circledast v_L` with
        each filter zero-padded to length ``d`` (Yun, Krishnan, Mobahi 2021, Section 2). With every size
        equal to ``d`` this is :meth:`convolutional`; shorter filters give networks that are in general
        not orthogonally decomposable.
        """
        d = check_int("d", d, minimum=1)
        sizes = [check_int(f"filter_sizes[{k}]", s, minimum=1) for k, s in enumerate(filter_sizes)]
        if not sizes:
            raise ValueError("filter_sizes must hold at least one size (depth >= 1)")
        if max(sizes) > d:
            raise ValueError(f"filter_sizes must be at most d = {d}, got {sizes}")
        idx = np.indices(sizes).sum(axis=0) % d
        return cls(np.stack([(idx == i).astype(float) for i in range(d)]))


class DecomposableTensorNetwork(TensorNetwork):
    """Orthogonally decomposable tensor network: :math:`M(x) = \\sum_j [Sx]_j\\, u_1^j\\otimes\\cdots\\otimes u_L^j`.

    With :math:`c_{l} = U_l^\\top v_l` and :math:`\\rho_j = \\prod_l c_{l,j}`,
    :math:`f(x) = \\sum_j [Sx]_j\\rho_j`, so :math:`\\theta = S^\\top\\rho`
    (Yun, Krishnan, Mobahi 2021, Section 4).

    Parameters
    ----------
    S : array_like, shape (m, d)
        The transform of the input.
    U : sequence of array_like, each of shape (k_l, m)
        Matrices with orthonormal columns :math:`u_l^1, \\dots, u_l^m`.
    """

    def __init__(self, S: Any, U: Sequence[Any]):
        S = as_array("S", S, ndim=2)
        m = S.shape[0]
        Us = [as_array(f"U[{l}]", u, ndim=2) for l, u in enumerate(U)]
        if not Us:
            raise ValueError("U must hold at least one matrix (depth >= 1)")
        for l, u in enumerate(Us):
            if u.shape[1] != m or not np.allclose(u.T @ u, np.eye(m), atol=1e-12):
                raise ValueError(f"U[{l}] must have {m} orthonormal columns, got shape {u.shape}")
        self.S, self.U = S, Us
        letters = _LETTERS[:len(Us)]
        core = np.einsum(",".join(c + "z" for c in letters) + "->" + letters + "z", *Us)
        super().__init__(np.moveaxis(core @ S, -1, 0))

    def coordinates(self, params: Sequence[Any]) -> list[np.ndarray]:
        """The layer coordinates :math:`c_l = U_l^\\top v_l`, each of shape ``(..., m)``."""
        params = self.check_params(params)
        return [p @ u for p, u in zip(params, self.U)]

    def rho(self, params: Sequence[Any]) -> np.ndarray:
        """:math:`\\rho_j = \\prod_l c_{l,j}`, shape ``(..., m)``; ``end_to_end == rho @ S``."""
        return np.prod(np.stack(self.coordinates(params)), axis=0)

    def params_from_coordinates(self, coords: Sequence[Any]) -> Params:
        """Parameters :math:`v_l = U_l c_l` with the given coordinates (e.g. the initialisation of C4)."""
        if len(coords) != self.depth:
            raise ValueError(f"coords must have {self.depth} arrays, got {len(coords)}")
        return [np.asarray(c, dtype=float) @ u.T for c, u in zip(coords, self.U)]
