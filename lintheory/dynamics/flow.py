"""Gradient flow, integrated with ``scipy.integrate.solve_ivp``."""

from __future__ import annotations

import warnings
from typing import Any, Callable, Sequence

import numpy as np
import scipy.integrate
from scipy.integrate import solve_ivp

from .._validation import as_array, check_choice, check_positive
from ..losses import Loss
from ..networks import Network, Params
from .trajectory import Trajectory, _check_pair

__all__ = ["gradient_flow"]


def _gradient(net: Network, loss: Loss, params: Params) -> tuple[np.ndarray, np.ndarray, Params]:
    theta, pullback = net.linearize(params)
    value, g = loss.value_and_grad(theta)
    return theta, value, pullback(g)


def gradient_flow(net: Network, loss: Loss, params: Sequence[Any], t_eval: Any, *,
                  rtol: float = 1e-10, atol: float = 1e-12, method: str = "DOP853",
                  on_failure: str = "raise",
                  gradient: Callable[[Params], Params] | None = None) -> Trajectory:
    """Integrate gradient flow :math:`\\dot p = -\\nabla_p \\mathcal L(\\theta(p))` with ``solve_ivp``.

    Parameters
    ----------
    net : Network
    loss : Loss
    params : list of ndarray
        Initial parameters; leading batch axes integrate many runs as one system.
    t_eval : array_like, shape (T,)
        Increasing, non-negative times at which to record (log-spaced grids work as well).
    rtol, atol : float
        Tolerances passed to ``scipy.integrate.solve_ivp``.
    method : str
        Integrator: ``"DOP853"`` (default), ``"RK45"``, ``"LSODA"``, ``"Radau"``, ``"BDF"``.
    on_failure : {"raise", "return"}
        If the integrator fails, raise :class:`RuntimeError` with its message (default), or return the
        partial trajectory.
    gradient : callable, optional
        ``gradient(params) -> list of arrays``: the field to follow instead of the chain-rule gradient
        of ``loss``, for objectives that depend on the parameters themselves (e.g. the modified loss of
        implicit gradient regularisation, ``lintheory.theory.modified_loss_gradient``). ``loss`` is
        still the one recorded.

    Returns
    -------
    Trajectory
        With ``stats = {"nfev": ..., "njev": ..., "status": ...}``.

    Notes
    -----
    The records at ``t_eval`` are read from the integrator's dense output, an interpolant between
    its own (possibly long) steps. The interpolant has an error of its own, which can exceed that of
    the steps, so the error at the record times need not shrink monotonically as ``rtol`` shrinks:
    judge accuracy by comparing a run with one at a ten times smaller ``rtol``
    (``benchmarks/bench_flow.py`` measures the cost of a given accuracy against exact solutions).

    A stiff problem (rates of very different sizes, e.g. badly conditioned data) holds an explicit
    method (``"DOP853"``, ``"RK45"``, ``"RK23"``) to tiny steps. When such a run takes at least 50,000
    gradient evaluations and its last step is limited by stability (step times the largest rate of
    the linearized flow at least 1), a ``RuntimeWarning`` (repeated in ``message``) recommends an
    implicit method: on a least-squares problem with rates from 6e-5 to 1.3e4, to t = 10, DOP853
    took 241,550 evaluations (5.4 s), LSODA 682 (0.02 s), BDF 920, Radau 4,998, all accurate to
    5e-9 relative to the closed form.
    """
    params = _check_pair(net, loss, params)
    t_eval = as_array("t_eval", t_eval, ndim=1)
    if t_eval.size == 0 or t_eval[0] < 0 or np.any(np.diff(t_eval) <= 0):
        raise ValueError("t_eval must be a non-empty, strictly increasing array of times >= 0, "
                         f"got {t_eval[:5].tolist()}{'...' if t_eval.size > 5 else ''}")
    rtol, atol = check_positive("rtol", rtol), check_positive("atol", atol)
    check_choice("method", method, ("DOP853", "RK45", "RK23", "LSODA", "Radau", "BDF"))
    check_choice("on_failure", on_failure, ("raise", "return"))
    if gradient is not None:
        _check_gradient_field(gradient, params)
    shapes = [p.shape for p in params]
    sizes = np.cumsum([0] + [p.size for p in params])

    def unflatten(y: np.ndarray, lead: tuple[int, ...] = ()) -> Params:
        return [y[..., sizes[k]:sizes[k + 1]].reshape(lead + shapes[k]) for k in range(len(shapes))]

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            p = unflatten(y)
            out = -np.concatenate([np.ravel(g) for g in (gradient(p) if gradient else _gradient(net, loss, p)[2])])
        if not np.all(np.isfinite(out)):
            raise FloatingPointError(f"the gradient stopped being finite at t = {t:.6g}")
        return out

    y0 = np.concatenate([p.ravel() for p in params])
    if t_eval[-1] == 0:                         # only the initial state is asked for: nothing to integrate
        snaps = [p[None].copy() for p in params]
        theta = net.end_to_end(snaps)
        return Trajectory(t=t_eval.copy(), params=snaps, theta=theta, loss=loss.value(theta),
                          final_params=[p.copy() for p in params],
                          diverged_step=np.full(net.batch_shape(params), -1),
                          stats={"nfev": 0, "njev": 0, "status": 0}, message="only t = 0 was requested")
    solvers: list[Any] = []

    class _Tracked(getattr(scipy.integrate, method)):   # the same integrator, remembering itself
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            solvers.append(self)

    try:
        sol = solve_ivp(rhs, (0.0, float(t_eval[-1])), y0, method=_Tracked, t_eval=t_eval,
                        rtol=rtol, atol=atol)
    except FloatingPointError as err:
        raise RuntimeError(f"gradient flow blew up: {err}; shorten t_eval or reduce the "
                           "initialisation") from err
    failed_at = float(solvers[0].t) if solvers else 0.0      # where the integrator stopped
    message = sol.message if sol.success else f"failed at t = {failed_at:.6g}: {sol.message}"
    if method in _EXPLICIT and sol.nfev >= _STIFF_NFEV and solvers:
        hint = _stiffness_hint(rhs, solvers[0], method, sol.nfev)
        if hint:
            warnings.warn(hint, RuntimeWarning, stacklevel=2)
            message = f"{message} ({hint})"
    if not sol.success and on_failure == "raise":
        raise RuntimeError(f"gradient flow {message}")
    snaps = [s.copy() for s in unflatten(sol.y.T, (sol.t.size,))]
    theta = net.end_to_end(snaps)
    final = [s[-1].copy() for s in snaps] if sol.t.size else [p.copy() for p in params]
    return Trajectory(t=sol.t, params=snaps, theta=theta, loss=loss.value(theta), final_params=final,
                      diverged_step=np.full(net.batch_shape(params), -1),
                      stats={"nfev": sol.nfev, "njev": sol.njev, "status": sol.status},
                      message=message)


# An explicit method that needs this many gradient evaluations is checked for stiffness (the check
# costs ~20 more evaluations); below it, a run is cheap whatever its method.
_STIFF_NFEV = 50_000
_EXPLICIT = ("DOP853", "RK45", "RK23")


def _stiffness_hint(rhs: Callable[[float, np.ndarray], np.ndarray], solver: Any, method: str,
                    nfev: int) -> str:
    """A recommendation of an implicit method when the explicit ``solver`` was held back by stability:
    its last step ``h`` times the spectral radius ``rho`` of the field's Jacobian at its last state
    (estimated by 20 power iterations on finite differences of ``rhs``) is at least 1, where an
    accuracy-limited step of a non-stiff problem is well below ``1 / rho``. Empty when not stiff."""
    t, y, h = float(solver.t), np.asarray(solver.y, dtype=float), float(getattr(solver, "h_abs", 0.0))
    f0 = rhs(t, y)
    v = np.random.default_rng(0).standard_normal(y.size)
    v /= np.linalg.norm(v)
    eps = 1e-7 * max(1.0, float(np.linalg.norm(y)))
    rho = 0.0
    for _ in range(20):
        w = (rhs(t, y + eps * v) - f0) / eps
        rho = float(np.linalg.norm(w))
        if rho == 0.0:
            return ""
        v = w / rho
    if h * rho < 1.0:
        return ""
    return (f"gradient flow used {nfev:,} gradient evaluations with the explicit method {method!r}: the "
            f"problem is stiff (the linearized flow's fastest rate is {rho:.3g} and the last step "
            f"{h:.3g}: their product {h * rho:.2g} means the step is held by stability, not accuracy). "
            "An implicit method needs far fewer: pass method='LSODA' (or 'BDF', 'Radau'); on a "
            "least-squares problem with rates from 6e-5 to 1.3e4, LSODA needed 682 evaluations to "
            "t = 10 where DOP853 needed 241,550")


def _check_gradient_field(gradient: Any, params: Params) -> None:
    """A custom ``gradient`` must be callable and return one array per block, shaped like it."""
    if not callable(gradient):
        raise TypeError(f"gradient must be callable as gradient(params) -> list of arrays, got "
                        f"{type(gradient).__name__}")
    out = gradient([p.copy() for p in params])
    if isinstance(out, np.ndarray) or not isinstance(out, (list, tuple)) or len(out) != len(params):
        raise ValueError(f"gradient(params) must return a list of {len(params)} arrays (one per block), "
                         f"got {type(out).__name__}")
    for k, (g, p) in enumerate(zip(out, params)):
        if np.shape(g) != p.shape:
            raise ValueError(f"gradient(params)[{k}] must have the shape of params[{k}] {p.shape}, "
                             f"got {np.shape(g)}")
