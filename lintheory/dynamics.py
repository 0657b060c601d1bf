"""Simulators: gradient flow and gradient descent for any network and any loss.

Both return the same :class:`Trajectory` (time on the first axis), so plots and metrics take either.
The gradient in the parameters is always the chain rule ``net.vjp(params, loss.grad(theta))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import scipy.integrate
from scipy.integrate import solve_ivp

from ._validation import as_array, check_choice, check_finite_params, check_int, check_positive
from .losses import Loss
from .networks import Network, Params

__all__ = ["Trajectory", "DivergenceStep", "gradient_flow", "gradient_descent", "stochastic_gradient_descent"]


class DivergenceStep(int):
    """The step at which a single run diverged: an ``int`` that is always true, even for step 0.

    ``if run.diverged:`` is thus right for every diverged run, and ``run.diverged`` still compares and
    prints as the step number.
    """

    def __bool__(self) -> bool:
        return True


@dataclass(frozen=True)
class Trajectory:
    """The recorded path of a simulation; the first axis of every array is time.

    Attributes
    ----------
    t : ndarray, shape (T,)
        Times (gradient flow) or step counts (gradient descent) of the snapshots.
    params : list of ndarray or None
        Snapshots of each parameter block, of shape ``(T, *batch, *block_shape)``; ``None`` when the
        simulator was asked not to keep them.
    theta : ndarray
        Shape ``(T, *batch, *theta_shape)``:
        the end-to-end predictors.
    loss : ndarray
        Shape ``(T, *batch)``: the loss values.
    final_params : list of ndarray
        Parameters at the end of the run (for a diverged batch member: its last finite state).
    diverged_step : ndarray of int, shape batch
        The step at which the loss stopped being finite, or -1.
    stats : dict
        Cost counters (``nfev`` for gradient flow, ``n_steps`` and ``n_grad`` for gradient descent).
    message : str
        What the simulator reports about how the run ended.
    """

    t: np.ndarray
    params: list[np.ndarray] | None
    theta: np.ndarray
    loss: np.ndarray
    final_params: Params
    diverged_step: np.ndarray
    stats: dict = field(default_factory=dict)
    message: str = ""

    @property
    def diverged(self) -> Any:
        """Single run: ``False``, or the divergence step as a :class:`DivergenceStep` (an ``int`` that is
        true even for step 0); batch: a boolean array, true for the members that diverged."""
        if self.diverged_step.ndim == 0:
            step = int(self.diverged_step)
            return False if step < 0 else DivergenceStep(step)
        return self.diverged_step >= 0

    def __len__(self) -> int:
        return len(self.t)


def _check_pair(net: Any, loss: Any, params: Sequence[Any]) -> Params:
    if not isinstance(net, Network):
        raise TypeError(f"net must be a lintheory Network, got {type(net).__name__}")
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a lintheory Loss, got {type(loss).__name__}")
    if net.theta_shape != loss.theta_shape:
        raise ValueError(f"net's end-to-end shape {net.theta_shape} does not match the loss's "
                         f"theta shape {loss.theta_shape} (check the data dimensions)")
    return check_finite_params(net.check_params(params))


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
    if not sol.success and on_failure == "raise":
        raise RuntimeError(f"gradient flow {message}")
    snaps = [s.copy() for s in unflatten(sol.y.T, (sol.t.size,))]
    theta = net.end_to_end(snaps)
    final = [s[-1].copy() for s in snaps] if sol.t.size else [p.copy() for p in params]
    return Trajectory(t=sol.t, params=snaps, theta=theta, loss=loss.value(theta), final_params=final,
                      diverged_step=np.full(net.batch_shape(params), -1),
                      stats={"nfev": sol.nfev, "njev": sol.njev, "status": sol.status},
                      message=message)


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


# Below this loss, loss-normalised GD takes grad / loss from Loss.normalized_grad (exact in the log
# domain, 0 at an exact minimum); above it, eta * grad / loss is accurate to round-off, and computed so.
_TINY_LOSS = 1e-280


def _record_steps(n_steps: int, record_every: int) -> np.ndarray:
    steps = np.arange(0, n_steps + 1, record_every)
    return steps if steps[-1] == n_steps else np.append(steps, n_steps)


def gradient_descent(net: Network, loss: Loss, params: Sequence[Any], step: float, n_steps: int, *,
                     record_every: int = 1, normalize: str | None = None,
                     keep_params: bool = True, backend: str = "auto") -> Trajectory:
    """Run gradient descent :math:`p_{k+1} = p_k - \\eta_k \\nabla_p \\mathcal L(\\theta(p_k))`.

    Parameters
    ----------
    net : Network
    loss : Loss
    params : list of ndarray
        Initial parameters; leading batch axes run many independent descents at once.
    step : float
        The step size :math:`\\eta > 0`.
    n_steps : int
        Number of steps.
    record_every : int
        Record every this many steps (step 0 and the last step are always recorded).
    normalize : {None, "loss", "gradient"}
        Constant step (default); :math:`\\eta_k = \\eta / \\mathcal L(p_k)` (normalised GD for exponential
        tails, Nacson et al. 2019); or :math:`\\eta_k = \\eta / \\|\\nabla \\mathcal L(p_k)\\|`.
        With ``"loss"``, once the loss is below ``1e-280`` the ratio
        :math:`\\nabla_\\theta\\mathcal L / \\mathcal L` is taken from
        :meth:`lintheory.Loss.normalized_grad`, which stays exact when the loss underflows to 0
        (exponential and logistic losses on separable data: the run goes on converging); at an exact
        minimum (loss 0) the step is 0 and the run stays put. With ``"gradient"`` a zero gradient gives
        a zero step.
    keep_params : bool
        Store parameter snapshots (set ``False`` for large sweeps; ``final_params`` is always kept).
    backend : {"auto", "numpy", "compiled"}
        ``"numpy"``: this module's reference loop. ``"compiled"``: the numba loop of
        ``lintheory._compiled`` (fully-connected, residual and diagonal networks with the squared
        loss; ValueError otherwise or without numba). ``"auto"`` (default): the compiled loop when it
        applies, numba is installed, the run is long enough to repay loading it and a step (layers
        and loss gradient, over the batch) small enough that NumPy's per-call cost, not arithmetic,
        dominates (see ``lintheory._compiled.worth_it``); else NumPy. The two agree to round-off, not
        bit for bit.

    Returns
    -------
    Trajectory
        ``t`` holds step counts. A run whose loss stops being finite is reported in
        ``diverged_step``; a single run then stops and its history ends at the last finite record,
        while in a batch the diverged member's later records are NaN and the member is frozen. In both
        cases its ``final_params`` are its last state with a finite loss (the state before the step
        that diverged, or the initial state if the loss is not finite there), even when the
        parameters themselves overflowed.
    """
    return _descend(net, loss, params, step, n_steps, record_every, normalize, keep_params, None, backend)


def _descend(net: Network, loss: Loss, params: Sequence[Any], step: float, n_steps: int,
             record_every: int, normalize: str | None, keep_params: bool,
             blocks: Callable[[tuple[int, ...]], Callable[[int], np.ndarray]] | None,
             backend: str = "numpy", batch_size: int | None = None) -> Trajectory:
    """The loop of gradient descent and SGD. ``blocks(batch_shape)`` (SGD) returns the chunked
    minibatch indices of :func:`_minibatch_blocks`, and the step-``k`` direction is the gradient of
    the minibatch loss of step ``k`` (a :meth:`Loss.subset` of ``loss``); without ``blocks`` (GD) it is
    the gradient of ``loss``. Records, the divergence test, the normalizations and the validation are
    the same code for both; with ``blocks`` the recorded loss is the full ``loss``, evaluated at the
    record steps only. ``backend`` may hand the run to the compiled twin of this loop,
    :mod:`lintheory._compiled`, which reads the same minibatch indices (``batch_size``: their number
    per step, for its choice)."""
    params = _check_pair(net, loss, params)
    step = check_positive("step", step)
    n_steps = check_int("n_steps", n_steps, minimum=0)
    record_every = check_int("record_every", record_every, minimum=1)
    check_choice("normalize", normalize, (None, "loss", "gradient"))
    if not isinstance(keep_params, (bool, np.bool_)):
        raise TypeError(f"keep_params must be True or False, got {keep_params!r}")
    check_choice("backend", backend, ("auto", "numpy", "compiled"))
    batch = net.batch_shape(params)
    if backend != "numpy":                      # the compiled twin of the loop below (same Trajectory)
        from . import _compiled
        if backend == "compiled" or _compiled.worth_it(net, loss, params, n_steps, normalize, batch_size):
            return _compiled.descend(net, loss, params, step, n_steps, record_every, normalize,
                                     keep_params, None if blocks is None else blocks(batch))
    indices = None if blocks is None else _step_reader(blocks(batch))     # SGD: step k's minibatch
    steps = _record_steps(n_steps, record_every)
    T = steps.size
    rec_theta = np.full((T,) + batch + net.theta_shape, np.nan)
    rec_loss = np.full((T,) + batch, np.nan)
    rec_params = [np.full((T,) + p.shape, np.nan) for p in params] if keep_params else None
    forward = net._forward                      # params are validated once, above
    p = [a.copy() for a in params]
    prev = [np.empty_like(a) for a in params]   # double buffer: the state one step back
    expand = [batch + (1,) * (a.ndim - len(batch)) for a in params]
    g_shape = batch + (1,) * len(net.theta_shape)
    diverged = np.full(batch, -1)
    eta: Any = step
    r, k = 0, 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for k in range(n_steps + 1):
            theta, pullback = forward(p)
            if indices is None:
                step_loss = loss
                value, g = loss.value_and_grad(theta)
                full = value
            else:                               # SGD: full loss at records, minibatch loss to step
                full = loss.value(theta) if k == steps[r] else None
                if k < n_steps:
                    step_loss = loss._take(indices(k))
                    value, g = step_loss.value_and_grad(theta)
                else:
                    value = full
            finite = np.isfinite(value)
            if full is not None and full is not value:
                finite = finite & np.isfinite(full)
            if not finite.all():                # rare path: a member has just diverged
                bad = ~finite & (diverged < 0)
                diverged = np.where(bad, k, diverged)
                if k > 0:
                    for a, old in zip(p, prev):
                        a[bad] = old[bad]
                # a diverged batch member is frozen after the update below (its step may be NaN)
            alive = diverged < 0
            if k == steps[r]:
                rec_loss[r] = np.where(alive, full, np.nan)
                rec_theta[r][alive] = theta[alive]
                if keep_params:
                    for rp, a in zip(rec_params, p):
                        rp[r][alive] = a[alive]
                r += 1
            if k == n_steps or not np.any(alive):
                break
            if normalize == "gradient":
                grads = pullback(g)
                sq = sum(np.sum(gb.reshape(batch + (-1,)) ** 2, axis=-1) for gb in grads)
                scale = eta / np.where(alive & (sq > 0), np.sqrt(sq), 1.0)
                grads = [gb * np.reshape(scale, shape) for gb, shape in zip(grads, expand)]
            else:                               # the pull-back is linear: scale g, not every block
                scale = eta
                if normalize == "loss":
                    tiny = alive & (value < _TINY_LOSS)     # eta * g / loss loses accuracy (or is 0/0)
                    if np.any(tiny):
                        g = np.where(np.reshape(tiny, g_shape), step_loss.normalized_grad(theta)[1], g)
                    scale = eta / np.where(alive & ~tiny, value, 1.0)
                grads = pullback(g * (scale.reshape(g_shape) if isinstance(scale, np.ndarray) else scale))
            for a, new, gb in zip(p, prev, grads):
                np.subtract(a, gb, out=new)
                if not alive.all():             # a diverged member stays frozen at its last finite state
                    new[~alive] = a[~alive]     # (its pull-back may be NaN: 0 * inf from overflowed factors)
            p, prev = prev, p
    return _descent_trajectory(steps, rec_theta, rec_loss, rec_params, p, diverged,
                               {"n_steps": k, "n_grad": k + 1 if indices is None else k})


def _descent_trajectory(steps: np.ndarray, theta: np.ndarray, loss: np.ndarray, params: Params | None,
                        final: Params, diverged: np.ndarray, stats: dict) -> Trajectory:
    """The Trajectory of a descent run, from either loop (NumPy here, compiled in ``_compiled``).

    ``diverged`` has the batch shape (``()`` for a single run). A single run that diverged keeps only
    its records before the divergence step (records at and after it were never filled, or are NaN);
    a batch keeps every record, NaN for diverged members.
    """
    if diverged.ndim == 0 and diverged >= 0:
        keep = steps < diverged
        theta, loss, steps = theta[keep], loss[keep], steps[keep]
        params = [rp[keep] for rp in params] if params is not None else None
    message = ("finished" if np.all(diverged < 0) else "loss became non-finite at step "
               + (str(int(diverged)) if diverged.ndim == 0 else "see diverged_step"))
    return Trajectory(t=steps.astype(float), params=params, theta=theta, loss=loss, final_params=final,
                      diverged_step=diverged, stats=stats, message=message)


# SGD draws each member's minibatches this many steps at a time from the member's own stream. The
# chunk is fixed (not a function of n_steps), so a longer run with the same seed extends a shorter one.
_SGD_CHUNK = 256


def _member_generators(seed: Any, count: int | None) -> list[np.random.Generator]:
    """One generator (``count`` None: a single run) or ``count`` independent ones (NumPy SPEC 7).

    An int or a SeedSequence is a value: the same one gives the same streams at every call (a
    SeedSequence is copied before being spawned from). A Generator is a state: it is used (single run)
    or spawned from (batch), so it advances, and a second call gives new streams.
    """
    if isinstance(seed, (bool, np.bool_)) or not (
            isinstance(seed, (np.random.Generator, np.random.SeedSequence))
            or (isinstance(seed, (int, np.integer)) and int(seed) >= 0)):
        raise TypeError("seed must be a non-negative int, a numpy SeedSequence or a numpy Generator "
                        f"(NumPy SPEC 7; it is required so that the run can be repeated), got {seed!r}")
    if isinstance(seed, np.random.Generator):
        return [seed] if count is None else list(seed.spawn(count))
    if isinstance(seed, np.random.SeedSequence):
        seq = np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size,
                                     n_children_spawned=seed.n_children_spawned)
    else:
        seq = np.random.SeedSequence(int(seed))
    if count is None:
        return [np.random.default_rng(seq)]
    return [np.random.default_rng(child) for child in seq.spawn(count)]


def _minibatch_blocks(gens: list[np.random.Generator], batch: tuple[int, ...], n: int, b: int,
                      replace: bool, n_steps: int) -> Callable[[int], np.ndarray]:
    """``block(start)``: the sorted sample indices of the steps ``start, start + 1, ...`` of one chunk,
    shape ``(rows, *batch, b)``, where ``start`` is a multiple of ``_SGD_CHUNK`` and ``rows`` is
    ``_SGD_CHUNK`` or, for the last chunk, what is left before ``n_steps``. Blocks must be asked for in
    order (they advance the generators).

    Member ``j`` draws from ``gens[j]`` only, ``_SGD_CHUNK`` steps at a time (chunk boundaries are
    multiples of ``_SGD_CHUNK``, so a shorter run's draws are a prefix of a longer one's): with
    replacement, ``b`` i.i.d. uniform indices per step; without, the first ``b`` entries of a uniform
    random permutation (the ``argsort`` of ``n`` uniform numbers), i.e. a uniform ``b``-subset. Steps
    are independent.
    """
    def draw(gen: np.random.Generator, rows: int) -> np.ndarray:
        if replace:
            return gen.integers(0, n, size=(rows, b))
        return np.argsort(gen.random((rows, n)), axis=-1)[:, :b]

    def block(start: int) -> np.ndarray:
        rows = min(_SGD_CHUNK, n_steps - start)
        out = np.stack([draw(gen, rows) for gen in gens], axis=1)     # (rows, members, b)
        out.sort(axis=-1)                       # order within a minibatch is irrelevant: sorted rows
        return out.reshape((rows,) + batch + (b,))

    return block


def _minibatch_indices(gens: list[np.random.Generator], batch: tuple[int, ...], n: int, b: int,
                       replace: bool, n_steps: int) -> Callable[[int], np.ndarray]:
    """``indices(k)``: the sorted sample indices of step ``k``, shape ``(*batch, b)`` (``(b,)`` alone),
    from the chunks of :func:`_minibatch_blocks` (``k`` must not decrease between calls)."""
    return _step_reader(_minibatch_blocks(gens, batch, n, b, replace, n_steps))


def _step_reader(block: Callable[[int], np.ndarray]) -> Callable[[int], np.ndarray]:
    """``indices(k)``: row ``k`` of the chunked index blocks ``block(start)``, one chunk kept at a time."""
    cache: dict[str, Any] = {"start": None, "block": None}

    def indices(k: int) -> np.ndarray:
        start = k - k % _SGD_CHUNK
        if cache["start"] != start:
            cache["start"], cache["block"] = start, block(start)
        return cache["block"][k - start]

    return indices


def stochastic_gradient_descent(net: Network, loss: Loss, params: Sequence[Any], step: float, n_steps: int,
                                *, batch_size: int, seed: Any, record_every: int = 1,
                                replace: bool = False, normalize: str | None = None,
                                keep_params: bool = True, backend: str = "auto") -> Trajectory:
    """Minibatch SGD :math:`p_{k+1} = p_k - \\eta_k \\nabla_p \\mathcal L_{B_k}(\\theta(p_k))`.

    :math:`\\mathcal L_{B}` is ``loss.subset(B)`` (:meth:`lintheory.Loss.subset`): the same loss on the
    minibatch :math:`B` only, scaled so that :math:`\\mathbb E_B\\nabla\\mathcal L_B = \\nabla\\mathcal L`; for
    the course's averaged losses, the mean over the minibatch. The loop is that of
    :func:`gradient_descent` (same records, divergence handling and normalizations), with the gradient
    of :math:`\\mathcal L_{B_k}` in place of that of :math:`\\mathcal L`.

    Parameters
    ----------
    net, loss, params, step, n_steps, record_every, normalize, keep_params, backend
        As in :func:`gradient_descent`; ``normalize="loss"`` divides by the minibatch loss. The compiled
        loop (``backend="compiled"``, or ``"auto"`` when it applies) draws the same minibatches from the
        same streams and agrees with the NumPy loop to round-off.
    batch_size : int
        :math:`b`, between 1 and ``loss.n`` (at most ``loss.n`` without replacement).
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
        Required (NumPy SPEC 7). The same int or SeedSequence gives the same run, bit for bit; a
        Generator is advanced. With leading batch axes in ``params``, each member gets its own
        independent stream, spawned from ``seed`` (``SeedSequence.spawn`` / ``Generator.spawn``), so
        the repetitions are independent and a member's run does not depend on the others' divergence.
    replace : bool
        ``False`` (default): each minibatch is a uniformly random set of ``b`` distinct samples;
        ``True``: ``b`` i.i.d. uniform samples. Minibatches of different steps are independent (this is
        not epoch-wise reshuffling).

    Returns
    -------
    Trajectory
        As for :func:`gradient_descent`; ``loss`` records the **full** loss at the record steps (the
        only full evaluations: use ``record_every`` to keep a long run cheap). A member is declared
        diverged at the first step where its minibatch loss, or at a record step its full loss, is not
        finite. ``stats`` has ``n_steps``, ``n_grad`` (minibatch gradients per member), ``batch_size``
        and ``replace``.

    Notes
    -----
    With ``batch_size = loss.n`` and ``replace=False`` every minibatch is the whole sample, and the run
    is :func:`gradient_descent` with the same ``backend``, bit for bit (no randomness is drawn).
    """
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a lintheory Loss, got {type(loss).__name__}")
    if not isinstance(replace, (bool, np.bool_)):
        raise TypeError(f"replace must be True or False, got {replace!r}")
    n = loss.n
    n_steps = check_int("n_steps", n_steps, minimum=0)
    b = check_int("batch_size", batch_size, minimum=1)
    if b > n and not replace:
        raise ValueError(f"batch_size must be at most the number of samples ({n}) without replacement, "
                         f"got {b} (pass replace=True to draw with replacement)")
    _member_generators(seed, None)              # rejects a bad seed before any work
    full_batch = b == n and not replace

    def blocks(batch: tuple[int, ...]) -> Callable[[int], np.ndarray]:
        count = int(np.prod(batch)) if batch else None
        return _minibatch_blocks(_member_generators(seed, count), batch, n, b, replace, n_steps)

    run = _descend(net, loss, params, step, n_steps, record_every, normalize, keep_params,
                   None if full_batch else blocks, backend, None if full_batch else b)
    run.stats.update(batch_size=b, replace=bool(replace))
    if full_batch:
        run.stats["n_grad"] = run.stats["n_steps"]
    return run
