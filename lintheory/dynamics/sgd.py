"""Minibatch SGD: the descent loop of :mod:`lintheory.dynamics.descent` on minibatch losses."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .._validation import check_int
from ..losses import Loss
from ..networks import Network
from .descent import _descend
from .minibatch import _member_generators, _minibatch_blocks
from .trajectory import Trajectory

__all__ = ["stochastic_gradient_descent"]


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
    if np.ndim(loss.X) != 2:
        raise ValueError("loss must hold one sample set for every batch member (SGD draws the minibatches "
                         "itself), got a per-member subset (Loss.subset with one row of indices per member)")
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
