"""Closed forms of the flat-minima theory on data with ||w*|| != 1, so that every power of ||w*|| shows.

``data.overdetermined_regression`` normalises ||w*|| to 1, where ``||w*||^(2 - 2/L)`` and any other power
of it all equal 1; here ``y`` is rescaled so that ||w*|| = 3.7 (and 0.4). Each closed form is checked

* against the formula recomputed independently from X and y (Sigma, w*, a, Lambda by numpy);
* against measurement: the sharpness (Lanczos on exact Hessian-vector products) of the balanced
  minimiser that the theory constructs, and of minimisers moved along the symmetries;
* for its scaling in ||w*||: multiplying y by c multiplies each sharpness by c^(2 - 2/L) exactly.
"""

import numpy as np
import pytest

import lintheory as lt

NORM_SCALES = [3.7, 0.4]


def _problem(norm, seed=0, n=30, d=3):
    X, y = lt.data.overdetermined_regression(n, d, seed=seed)
    return X, norm * y                 # ||w*|| = norm exactly (w* is linear in y)


def _independent(X, y):
    n = X.shape[0]
    sigma = X.T @ X / n
    w = np.linalg.solve(X.T @ X, X.T @ y)
    a = w @ sigma @ w / (w @ w)
    return sigma, w, a, np.linalg.eigvalsh(sigma)[-1]


@pytest.mark.parametrize("norm", NORM_SCALES)
@pytest.mark.parametrize("L", [1, 2, 3, 5])
def test_sharpness_formulas_recomputed_with_every_power_of_w_star(norm, L):
    X, y = _problem(norm)
    sigma, w, a, Lam = _independent(X, y)
    assert np.linalg.norm(w) == pytest.approx(norm, rel=1e-12)
    c = lt.theory.regression_constants(X, y)
    np.testing.assert_allclose(c.w_star, w, rtol=1e-12)
    assert (c.a, c.Lambda) == (pytest.approx(a, rel=1e-12), pytest.approx(Lam, rel=1e-12))
    power = norm ** (2 - 2 / L)
    assert lt.theory.sharpness_lower_bound(X, y, L) == pytest.approx(L * a * power, rel=1e-12)
    assert lt.theory.small_init_sharpness_bound(X, y, L) == pytest.approx(4 * L * Lam * power, rel=1e-12)
    root = np.linalg.cholesky(sigma)            # any square root: R R^T = Sigma has the same spectrum
    w_hat = w / np.linalg.norm(w)
    M = root.T @ (np.eye(3) + (L - 1) * np.outer(w_hat, w_hat)) @ root
    assert lt.theory.balanced_sharpness(X, y, L) == pytest.approx(power * np.linalg.eigvalsh(M)[-1], rel=1e-12)
    for normalization, factor in [("mean", 2.0), ("half_sum", 30.0), ("sum", 60.0)]:
        for f in (lt.theory.sharpness_lower_bound, lt.theory.balanced_sharpness,
                  lt.theory.small_init_sharpness_bound):
            assert f(X, y, L, normalization=normalization) == pytest.approx(factor * f(X, y, L), rel=1e-12)


@pytest.mark.parametrize("L", [2, 3, 4])
def test_each_sharpness_scales_as_the_power_2_minus_2_over_L_of_the_target(L):
    X, y = _problem(1.0)
    for f in (lt.theory.sharpness_lower_bound, lt.theory.balanced_sharpness,
              lt.theory.small_init_sharpness_bound):
        for c in NORM_SCALES:
            assert f(X, c * y, L) == pytest.approx(c ** (2 - 2 / L) * f(X, y, L), rel=1e-12)


@pytest.mark.parametrize("norm", NORM_SCALES)
@pytest.mark.parametrize("L", [2, 3, 4])
def test_balanced_minimizer_is_a_minimiser_with_the_predicted_sharpness(norm, L):
    X, y = _problem(norm, seed=1)
    _, w, _, _ = _independent(X, y)
    predicted = lt.theory.balanced_sharpness(X, y, L)          # before any measurement
    lower = lt.theory.sharpness_lower_bound(X, y, L)
    net, loss = lt.FullyConnected([3] + [4] * (L - 1) + [1]), lt.SquaredLoss(X, y)
    params = lt.theory.balanced_minimizer(X, y, L, 4, seed=2)
    np.testing.assert_allclose(net.end_to_end(params), w, rtol=1e-12)
    for W in params:                                          # balanced: every layer has norm ||w*||^(1/L)
        assert np.linalg.norm(W) == pytest.approx(norm ** (1 / L), rel=1e-12)
    for D in lt.metrics.imbalance(params):
        assert np.max(np.abs(D)) < 1e-12 * norm ** (2 / L)
    measured = lt.metrics.sharpness(net, loss, params)
    assert measured == pytest.approx(predicted, rel=1e-8)
    assert lower <= measured * (1 + 1e-10)
    moved = lt.theory.rescaled_minimizer(params, spread=0.7, seed=3)
    np.testing.assert_allclose(net.end_to_end(moved), w, rtol=1e-10)
    assert lt.metrics.sharpness(net, loss, moved) >= lower * (1 - 1e-10)


@pytest.mark.parametrize("norm", NORM_SCALES)
def test_gauss_newton_is_the_hessian_at_a_minimiser(norm):
    X, y = _problem(norm, seed=4)
    net, loss = lt.FullyConnected([3, 3, 1]), lt.SquaredLoss(X, y)
    params = lt.theory.balanced_minimizer(X, y, 2, 3, seed=5)
    np.testing.assert_allclose(lt.metrics.gauss_newton(net, loss, params), lt.metrics.hessian(net, loss, params),
                               rtol=1e-9, atol=1e-12)
    J = lt.metrics.jacobian(net, params)
    assert J.shape == (3, net.n_params)
    v = lt.FullyConnected([3, 3, 1]).init(1.0, seed=6)
    np.testing.assert_allclose(J @ np.concatenate([b.ravel() for b in v]), net.jvp(params, v), rtol=1e-12)
    with pytest.raises(ValueError, match="scalar output"):
        lt.metrics.gauss_newton(lt.FullyConnected([3, 2]), lt.SquaredLoss(X, np.stack([y, y], 1)),
                                lt.FullyConnected([3, 2]).init(0.1, seed=0))
