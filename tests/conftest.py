"""Shared test helpers: finite differences computed independently of lintheory's derivatives."""

from __future__ import annotations

import numpy as np
import pytest

import lintheory as lt


def flat(blocks):
    return np.concatenate([np.ravel(b) for b in blocks])


def unflat(vec, shapes):
    out, i = [], 0
    for s in shapes:
        size = int(np.prod(s))
        out.append(vec[i:i + size].reshape(s))
        i += size
    return out


def loss_of_flat(net, loss):
    """Scalar function of the flattened parameters: the training loss."""
    return lambda vec: float(loss.value(net.end_to_end(unflat(vec, net.shapes))))


def grad_of_flat(net, loss):
    """Analytic gradient in the flattened parameters (the chain rule under test elsewhere)."""
    def g(vec):
        params = unflat(vec, net.shapes)
        return flat(net.vjp(params, loss.grad(net.end_to_end(params))))
    return g


def central_difference(f, x, h):
    """Central-difference derivative of f (scalar or vector valued) at x, one column per coordinate."""
    cols = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h))
    return np.stack(cols, axis=-1)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


__all__ = ["flat", "unflat", "loss_of_flat", "grad_of_flat", "central_difference", "lt"]
