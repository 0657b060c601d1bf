"""Argument checks shared by the public API.

Every check raises :class:`TypeError` or :class:`ValueError` with a message that names the argument,
the value received and what was expected, so a reader sees at once what to fix.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = [
    "as_array",
    "as_generator",
    "check_int",
    "check_positive",
    "check_nonnegative",
    "check_choice",
]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def as_array(name: str, value: Any, *, ndim: int | tuple[int, ...] | None = None,
             finite: bool = True) -> np.ndarray:
    """Convert ``value`` to a new float64 array (never a view of the caller's data), checking that it is
    real, its dimension, and that it is finite."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array of numbers, got {_short(value)}")
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of numbers, got {_short(value)}") from err
    if np.iscomplexobj(raw):
        raise TypeError(f"{name} must be real, got complex values (dtype {raw.dtype}); pass its real part "
                        "explicitly if that is what you mean")
    try:
        arr = np.array(raw, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of numbers, got {_short(value)}") from err
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            want = " or ".join(str(k) for k in allowed)
            raise ValueError(f"{name} must be {want}-dimensional, got shape {arr.shape}")
    if finite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    return arr


def as_generator(seed: Any) -> np.random.Generator:
    """Turn ``seed`` (None, an int or a Generator) into a :class:`numpy.random.Generator` (SPEC 7)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)
                        and int(seed) >= 0):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be None, a non-negative int or a numpy Generator, got {_short(seed)}")


def check_int(name: str, value: Any, *, minimum: int | None = None) -> int:
    """Return ``value`` as an int, requiring an integer at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_short(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def _check_real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_short(value)}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_positive(name: str, value: Any) -> float:
    """Return ``value`` as a float, requiring a finite number > 0."""
    value = _check_real(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


def check_nonnegative(name: str, value: Any) -> float:
    """Return ``value`` as a float, requiring a finite number >= 0."""
    value = _check_real(name, value)
    if value < 0:
        raise ValueError(f"{name} must be non-negative, got {value}")
    return value


def check_choice(name: str, value: Any, choices: tuple[Any, ...]) -> Any:
    """Require ``value`` to be one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {_short(value)}")
    return value


def check_finite_params(params: Any) -> Any:
    """Require every block of (already shape-checked) ``params`` to be finite; return them."""
    for k, p in enumerate(params):
        if not np.all(np.isfinite(p)):
            raise ValueError(f"params[{k}] must be finite, got {int(np.sum(~np.isfinite(p)))} NaN or infinite "
                             "entries (the final state of a diverged run?)")
    return params


def check_rows(name: str, value: np.ndarray, n: int, what: str) -> np.ndarray:
    """Require ``value`` to have ``n`` entries along its first axis: one ``what`` (e.g. "row per sample
    of X") each; return it."""
    if value.shape[0] != n:
        raise ValueError(f"{name} must have one {what} ({n}), got shape {value.shape}")
    return value
