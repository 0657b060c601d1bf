"""SGD's randomness: one independent stream per batch member, and the minibatch indices drawn from the
streams in fixed chunks (the NumPy and the compiled loop read the same indices)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


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
