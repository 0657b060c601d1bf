"""Losses: the gaps mutation testing found (issue 28, item 5; ``tools/mutation_test.py``).

Each test here kills mutants of ``lintheory/losses.py`` that the fast tests let through: the minibatch
factor of every normalization, the generic and the log-domain loss-normalised gradient for batches,
the logistic Hessian, and the input checks. Expected values come from definitions (an exact average
over all minibatches, finite differences, ``grad / value``), not from the code under test.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import lintheory as lt

RNG = np.random.default_rng(11)
X = RNG.standard_normal((5, 3))
Y = RNG.standard_normal((5, 2))
LABELS = np.array([1.0, -1.0, 1.0, 1.0, -1.0])


@pytest.mark.parametrize("normalization", ["half_mean", "half_sum", "mean", "sum"])
def test_the_minibatch_gradient_is_unbiased_for_every_normalization(normalization):
    """E_B grad L_B = grad L over all 2-subsets of 5 samples (exact enumeration): the subset's factor."""
    loss = lt.SquaredLoss(X, Y, normalization=normalization)
    theta = RNG.standard_normal((3, 2))
    subsets = list(itertools.combinations(range(5), 2))
    mean = sum(loss.subset(np.array(s)).grad(theta) for s in subsets) / len(subsets)
    np.testing.assert_allclose(mean, loss.grad(theta), rtol=1e-12)
    values = sum(loss.subset(np.array(s)).value(theta) for s in subsets) / len(subsets)
    np.testing.assert_allclose(values, loss.value(theta), rtol=1e-12)


def test_the_generic_normalized_gradient_is_grad_over_value_and_zero_at_an_exact_minimum():
    loss = lt.SquaredLoss(X, Y)
    exact = np.linalg.lstsq(X, Y, rcond=None)[0]
    interpolating = lt.SquaredLoss(X, X @ exact)               # a problem with an exact minimum
    theta = np.stack([RNG.standard_normal((3, 2)), exact])      # batch: a generic point and the minimum
    value, ratio = interpolating.normalized_grad(theta)
    np.testing.assert_allclose(ratio[0], interpolating.grad(theta[0]) / interpolating.value(theta[0]),
                               rtol=1e-12)
    assert value[1] < 1e-28 and np.all(np.abs(ratio[1]) < 1e-10)     # round-off, not 0/0
    zero = lt.SquaredLoss(X, np.zeros((5, 2)))
    value, ratio = zero.normalized_grad(np.stack([np.zeros((3, 2)), np.ones((3, 2))]))
    assert value[0] == 0 and np.all(ratio[0] == 0)                 # exactly 0 at an exact minimum
    np.testing.assert_allclose(ratio[1], zero.grad(np.ones((3, 2))) / zero.value(np.ones((3, 2))), rtol=1e-12)
    assert loss.normalized_grad(np.ones((3, 2)))[1].shape == (3, 2)


@pytest.mark.parametrize("cls", [lt.LogisticLoss, lt.ExponentialLoss])
def test_margin_losses_normalized_gradient_per_batch_member(cls):
    loss = cls(X, LABELS)
    theta = RNG.standard_normal((2, 3, 3))                      # batch (2, 3) of moderate margins
    value, ratio = loss.normalized_grad(theta)
    want_value, grad = loss.value_and_grad(theta)
    np.testing.assert_allclose(value, want_value, rtol=1e-12)
    np.testing.assert_allclose(ratio, grad / want_value[..., None], rtol=1e-10)
    for j in np.ndindex(2, 3):                                  # and each member alone
        np.testing.assert_allclose(loss.normalized_grad(theta[j])[1], ratio[j], rtol=1e-12)


@pytest.mark.parametrize("cls", [lt.LogisticLoss, lt.ExponentialLoss])
def test_margin_losses_hvp_is_the_derivative_of_the_gradient(cls):
    loss = cls(X, LABELS)
    theta, u = RNG.standard_normal(3), RNG.standard_normal(3)
    h = 1e-5
    fd = (loss.grad(theta + h * u) - loss.grad(theta - h * u)) / (2 * h)
    np.testing.assert_allclose(loss.hvp(theta, u), fd, rtol=1e-7, atol=1e-10)


def test_logistic_log_loss_is_continuous_across_its_two_formulas():
    z = np.array([36.0, 36.999, 37.0, 37.001, 38.0, 39.0])
    np.testing.assert_allclose(lt.LogisticLoss._log_ell(z), np.log(np.log1p(np.exp(-z))), rtol=1e-13)


def test_loss_inputs_are_checked_by_name():
    with pytest.raises(ValueError, match=r"^X must have at least one sample"):
        lt.SquaredLoss(np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(ValueError, match=r"^X must have at least one .*feature"):
        lt.SquaredLoss(np.zeros((4, 0)), np.zeros(4))
    with pytest.raises(ValueError, match=r"^y must be 1-dimensional"):
        lt.LogisticLoss(X, LABELS[:, None])
    with pytest.raises(ValueError, match=r"^y must have one label per sample of X \(5\)"):
        lt.LogisticLoss(X, LABELS[:4])
    with pytest.raises(ValueError, match=r"^y must contain only labels -1 and \+1, got values such as "
                                         r"\[0\.0, 2\.0, 0\.5\]$"):
        lt.LogisticLoss(X, [0.0, 1.0, 2.0, 0.5, 3.0])
    with pytest.raises(ValueError, match=r"^normalization must be one of"):
        lt.SquaredLoss(X, Y, normalization="bad")
    with pytest.raises(ValueError, match=r"^normalization must be one of"):
        lt.losses.squared_loss_factor("bad", 5)
    for cls, target in ((lt.SquaredLoss, Y), (lt.LogisticLoss, LABELS)):
        with pytest.raises(ValueError, match=r"^X must be 2-dimensional, got shape \(1, 5, 3\)"):
            cls(X[None], target)
    with pytest.raises(ValueError, match=r"^Y must be 1 or 2-dimensional, got shape \(5, 2, 1\)"):
        lt.SquaredLoss(X, Y[..., None])
    with pytest.raises(ValueError, match=r"^Y must have one row per sample of X \(5\), got shape \(4, 2\)"):
        lt.SquaredLoss(X, Y[:4])
    loss = lt.SquaredLoss(X, Y)
    with pytest.raises(ValueError, match=r"^theta must have shape \(\.\.\., 3, 2\) for this loss, got \(2, 3\)"):
        loss.value(np.zeros((2, 3)))
    for margin in (lt.LogisticLoss(X, LABELS), loss):
        with pytest.raises(ValueError, match=r"^u must have shape"):
            margin.hvp(np.zeros(margin.theta_shape), np.zeros((7,)))
