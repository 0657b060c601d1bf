"""The bottom layer of the simulators: the :class:`Trajectory` every simulator returns, its packaging
for a descent run (either loop), the record steps, and the check of a (network, loss, params) triple."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .._validation import check_finite_params
from ..losses import Loss
from ..networks import Network, Params

__all__ = ["Trajectory", "DivergenceStep"]


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
    params = check_finite_params(net.check_params(params))
    member = np.shape(getattr(loss, "X", np.empty((0, 0))))[:-2]    # a per-member subset loss
    if member and member != net.batch_shape(params):
        raise ValueError(f"loss is a per-member subset for a batch of shape {member} (Loss.subset with one "
                         f"row of indices per member), but params have batch shape "
                         f"{net.batch_shape(params)}; the two must be equal")
    return params


def _check_record_size(n_steps: int, record_every: int, per_record: int) -> None:
    """Refuse, before allocating anything, records that would not fit in half of this machine's memory
    (``per_record`` float64 numbers per record: every member's theta, loss and, if kept, params)."""
    count = n_steps // record_every + 1 + (n_steps % record_every != 0)
    need = count * per_record * 8
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):    # pragma: no cover - not POSIX: assume 64 GiB
        memory = 64 * 2 ** 30
    if need > memory / 2:
        raise ValueError(f"n_steps={n_steps} with record_every={record_every} asks for {count:,} records of "
                         f"{per_record:,} numbers ({need / 2 ** 30:,.1f} GiB), more than half of this "
                         f"machine's memory ({memory / 2 ** 30:,.1f} GiB): raise record_every (or pass "
                         "keep_params=False)")



# Below this loss, loss-normalised GD takes grad / loss from Loss.normalized_grad (exact in the log
# domain, 0 at an exact minimum); above it, eta * grad / loss is accurate to round-off, and computed so.
_TINY_LOSS = 1e-280


def _record_steps(n_steps: int, record_every: int) -> np.ndarray:
    steps = np.arange(0, n_steps + 1, record_every)
    return steps if steps[-1] == n_steps else np.append(steps, n_steps)


def _descent_trajectory(steps: np.ndarray, theta: np.ndarray, loss: np.ndarray, params: Params | None,
                        final: Params, diverged: np.ndarray, stats: dict) -> Trajectory:
    """The Trajectory of a descent run, from either loop (NumPy here, compiled in :mod:`lintheory.dynamics.compiled`).

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

