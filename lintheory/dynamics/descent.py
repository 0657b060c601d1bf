"""The descent loop shared by gradient descent and SGD (NumPy reference), and :func:`gradient_descent`.
A run the compiled backend can take is handed to :mod:`lintheory.dynamics.compiled`."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .._validation import check_choice, check_int, check_positive
from ..losses import Loss
from ..networks import Network
from . import compiled
from .minibatch import _step_reader
from .trajectory import (_TINY_LOSS, Trajectory, _check_pair, _check_record_size, _descent_trajectory,
                         _record_steps)

__all__ = ["gradient_descent"]



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
        ``lintheory.dynamics.compiled`` (fully-connected, residual and diagonal networks with the squared,
        logistic or exponential loss; ValueError otherwise or without numba). ``"auto"`` (default): the compiled loop when it
        applies, numba is installed, the run is long enough to repay loading it and a step (layers
        and loss gradient, over the batch) small enough that NumPy's per-call cost, not arithmetic,
        dominates (see ``lintheory.dynamics.compiled.worth_it``); else NumPy. The two agree to round-off, not
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
    :mod:`lintheory.dynamics.compiled`, which reads the same minibatch indices (``batch_size``: their number
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
    _check_record_size(n_steps, record_every, int(np.prod(batch, dtype=np.int64)) * (
        int(np.prod(net.theta_shape)) + 1 + (net.n_params if keep_params else 0)))
    block = None if blocks is None else blocks(batch)      # SGD: the chunks of minibatch indices
    if backend == "compiled" or (backend == "auto" and compiled.worth_it(net, loss, params, n_steps,
                                                                          normalize, batch_size)):
        run = compiled.descend(net, loss, params, step, n_steps, record_every, normalize, keep_params, block)
        if run is not None:                     # None: the kernel could not be built (it warned)
            return run
    indices = None if block is None else _step_reader(block)     # SGD: step k's minibatch
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
