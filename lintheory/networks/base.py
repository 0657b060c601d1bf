"""The contract every network obeys, and the derivatives it gives for free.

A network of this course is linear in its input and multilinear in its parameter blocks: it is a map
``params -> theta`` to the end-to-end linear predictor, with predictions ``X @ theta``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, Sequence

import numpy as np

from .._validation import as_generator, check_choice, check_int, check_nonnegative

__all__ = ["Network", "Params"]

Params = list[np.ndarray]

# Complex-step size: exact first derivatives of polynomial maps to round-off (Squire & Trapp 1998).
_COMPLEX_STEP = 1e-30


class Network(ABC):
    """Base class of all networks.

    Every network provides:

    1. ``shapes``: the shape of each parameter block (without batch axes);
    2. ``theta_shape``: the shape of the end-to-end predictor, ``(d,)`` or ``(d, m)``;
    3. ``init(scale, seed, ...)``: a list of parameter arrays;
    4. ``end_to_end(params)``: the predictor ``theta``, predictions being ``X @ theta``;
    5. ``vjp(params, g)``: the gradient of ``<g, end_to_end(params)>`` with respect to each block.

    Parameters may carry leading batch axes (the same for every block); then ``theta`` carries them
    too, and all methods act on every batch member at once. Subclasses implement
    ``_forward`` (``theta`` and a pull-back closure sharing the partial products), which also gives
    :meth:`linearize`, :meth:`jvp` and :meth:`vjp_derivative` for free.
    """

    shapes: tuple[tuple[int, ...], ...]
    theta_shape: tuple[int, ...]
    init_schemes: tuple[str, ...] = ("gaussian",)

    @property
    def depth(self) -> int:
        """The number of parameter blocks (layers)."""
        return len(self.shapes)

    @property
    def input_dim(self) -> int:
        """The input dimension ``d``."""
        return self.theta_shape[0]

    @property
    def n_params(self) -> int:
        """The total number of scalar parameters."""
        return int(sum(np.prod(s) for s in self.shapes))

    # ------------------------------------------------------------------ initialisation
    def init(self, scale: float = 1.0, seed: Any = None, *, scheme: str = "gaussian",
             batch: int | tuple[int, ...] = ()) -> Params:
        """Draw parameters.

        Parameters
        ----------
        scale : float
            Size of the initialisation; its meaning depends on ``scheme`` (see the subclass).
        seed : None, int or numpy.random.Generator
            Source of randomness (NumPy SPEC 7). The same seed gives the same arrays, bit for bit.
        scheme : str
            One of the network's ``init_schemes``; ``"gaussian"`` draws i.i.d. N(0, scale^2) entries.
        batch : int or tuple of int
            Leading batch shape: that many independent draws, stacked on the first axes.

        Returns
        -------
        list of ndarray
            One array per block, of shape ``batch + shapes[k]``.
        """
        scale = check_nonnegative("scale", scale)
        check_choice("scheme", scheme, self.init_schemes)
        if isinstance(batch, (int, np.integer)) and not isinstance(batch, bool):
            batch_shape: tuple = (batch,)
        elif isinstance(batch, (tuple, list)):
            batch_shape = tuple(batch)
        else:
            raise TypeError(f"batch must be an int or a tuple of ints (the leading batch shape), got {batch!r}")
        for b in batch_shape:
            check_int("batch", b, minimum=1)
        rng = as_generator(seed)
        if scheme == "gaussian":
            return [scale * rng.standard_normal(batch_shape + s) for s in self.shapes]
        return self._init_scheme(scheme, scale, rng, batch_shape)

    def _init_scheme(self, scheme: str, scale: float, rng: np.random.Generator,
                     batch_shape: tuple[int, ...]) -> Params:
        raise NotImplementedError(scheme)  # pragma: no cover - guarded by check_choice

    # ------------------------------------------------------------------ validation
    def check_params(self, params: Sequence[Any], name: str = "params") -> Params:
        """Validate ``params`` against ``shapes`` and return them as float arrays.

        Raises
        ------
        TypeError
            If ``params`` is not a list of real arrays (complex values are refused: the complex step
            used by :meth:`jvp` is internal).
        ValueError
            If the number of blocks, a block's shape or the batch shapes do not match.

        Notes
        -----
        Values are not checked: NaN or infinite entries propagate through the maps like any numpy
        array operation (a deliberate convention, so that diverged batch members can be mapped); the
        simulators and curvature metrics check finiteness themselves.
        """
        if isinstance(params, np.ndarray) or not isinstance(params, (list, tuple)):
            raise TypeError(f"{name} must be a list of {self.depth} arrays, got {type(params).__name__}")
        if len(params) != self.depth:
            raise ValueError(f"{name} must have {self.depth} blocks for this network, got {len(params)}")
        out, batch = [], None
        for k, (p, shape) in enumerate(zip(params, self.shapes)):
            arr = np.asarray(p)
            if not np.issubdtype(arr.dtype, np.number):
                raise TypeError(f"{name}[{k}] must be numeric, got dtype {arr.dtype}")
            if np.iscomplexobj(arr):
                raise TypeError(f"{name}[{k}] must be real, got dtype {arr.dtype}")
            if arr.shape[arr.ndim - len(shape):] != shape or arr.ndim < len(shape):
                raise ValueError(f"{name}[{k}] must have shape (..., {', '.join(map(str, shape))})"
                                 f", got {arr.shape}")
            b = arr.shape[:arr.ndim - len(shape)]
            if batch is not None and b != batch:
                raise ValueError(f"{name}[{k}] has batch shape {b}, but {name}[0] has {batch}")
            batch = b
            out.append(arr.astype(np.float64, copy=False))
        return out

    def batch_shape(self, params: Sequence[np.ndarray]) -> tuple[int, ...]:
        """The leading batch shape of ``params`` (``()`` for a single network)."""
        return params[0].shape[:params[0].ndim - len(self.shapes[0])]

    # ------------------------------------------------------------------ the map and its derivatives
    @abstractmethod
    def _forward(self, params: Params) -> tuple[np.ndarray, Callable[[np.ndarray], Params]]:
        """Return ``theta`` and the pull-back ``g -> vjp(params, g)`` sharing partial products."""

    def linearize(self, params: Sequence[Any]) -> tuple[np.ndarray, Callable[[np.ndarray], Params]]:
        """Return ``(theta, pullback)`` where ``pullback(g) == vjp(params, g)``.

        One forward pass serves both, which is what the simulators use at every step.
        """
        return self._forward(self.check_params(params))

    def end_to_end(self, params: Sequence[Any]) -> np.ndarray:
        """The end-to-end linear predictor ``theta``; predictions are ``X @ theta``.

        A new array, never a view of ``params``. NaN entries of ``params`` propagate to ``theta``
        (a pure array map, as in numpy; see :meth:`check_params`).
        """
        return self.linearize(params)[0]

    def vjp(self, params: Sequence[Any], g: Any) -> Params:
        """Gradient of ``<g, end_to_end(params)>`` with respect to every block.

        With ``g = dLoss/dtheta`` this is the chain rule ``grad_params = J^T g``. The blocks are new
        arrays (never views of ``g``); NaN entries of ``g`` or ``params`` propagate (pure array map).
        """
        theta, pullback = self.linearize(params)
        g = np.asarray(g)
        if np.iscomplexobj(g) or not np.issubdtype(g.dtype, np.number):
            raise TypeError(f"g must be a real array, got dtype {g.dtype}")
        if g.ndim < len(self.theta_shape) or g.shape[g.ndim - len(self.theta_shape):] != self.theta_shape:
            raise ValueError(f"g must have the shape of theta (..., {self.theta_shape}), got {g.shape}")
        g = np.broadcast_to(g, theta.shape) if g.ndim < theta.ndim else g
        return [np.array(b) if np.may_share_memory(b, g) else b for b in pullback(g)]

    def jvp(self, params: Sequence[Any], v: Sequence[Any]) -> np.ndarray:
        """Directional derivative ``J v`` of ``end_to_end`` at ``params`` along ``v``.

        Computed by the complex step ``Im f(p + i h v) / h``, exact to round-off because the network
        is a polynomial in its parameters.
        """
        params, v = self.check_params(params), self.check_params(v, "v")
        shifted = [p + 1j * _COMPLEX_STEP * w for p, w in zip(params, v)]
        return self._forward(shifted)[0].imag / _COMPLEX_STEP

    def vjp_derivative(self, params: Sequence[Any], g: np.ndarray, v: Sequence[Any]) -> Params:
        """Derivative of ``vjp(params, g)`` along ``v`` with ``g`` held fixed (complex step)."""
        params, v = self.check_params(params), self.check_params(v, "v")
        shifted = [p + 1j * _COMPLEX_STEP * w for p, w in zip(params, v)]
        return [b.imag / _COMPLEX_STEP for b in self._forward(shifted)[1](g)]
