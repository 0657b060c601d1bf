"""Closed forms of lintheory.theory against independent computations."""

import numpy as np
import pytest
from scipy.optimize import minimize

import lintheory as lt


def test_min_norm_solution_interpolates_with_least_norm():
    X, Y = lt.data.underdetermined_regression(4, 9, 2, seed=0)
    theta = lt.theory.min_norm_solution(X, Y)
    assert np.allclose(X @ theta, Y, atol=1e-12)
    null = np.linalg.svd(X)[2][4:].T                    # any other interpolator adds a null vector
    other = theta + null @ np.random.default_rng(1).standard_normal((5, 2))
    assert np.allclose(X @ other, Y, atol=1e-12)
    assert np.linalg.norm(theta) < np.linalg.norm(other)
    assert np.allclose(theta, X.T @ np.linalg.solve(X @ X.T, Y))


def test_reduced_rank_regression_beats_every_rank_r_candidate():
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((30, 4)), rng.standard_normal((30, 3))
    for r in (1, 2):
        W = lt.theory.reduced_rank_regression(X, Y, r)
        assert np.linalg.matrix_rank(W, tol=1e-10) == r
        best = np.sum((Y - X @ W) ** 2)
        for seed in range(5):                           # local optimisation over factorisations
            init = np.random.default_rng(seed).standard_normal(4 * r + r * 3)
            f = lambda z: np.sum((Y - X @ z[:4 * r].reshape(4, r) @ z[4 * r:].reshape(r, 3)) ** 2)
            assert best <= minimize(f, init, method="BFGS").fun + 1e-8
    assert np.allclose(lt.theory.reduced_rank_regression(X, Y, 3), lt.theory.min_norm_solution(X, Y))


def test_saxe_mode_solves_its_ode():
    t = np.linspace(0, 5, 20001)
    s, a0 = 1.7, 1e-3
    a = lt.theory.saxe_mode(t, s, a0)
    da = np.gradient(a, t, edge_order=2)
    assert np.max(np.abs(da - 2 * a * (s - a))) < 1e-4 * s ** 2
    assert np.isclose(a[0], a0) and np.isclose(lt.theory.saxe_mode(50.0, s, a0), s, rtol=1e-12)


def test_aligned_regression_has_the_requested_covariances():
    lam, sig = np.array([2.0, 1.0, 0.5]), np.array([3.0, 1.0, 0.2])
    X, Y = lt.data.aligned_regression(lam, sig, n=10, seed=3)
    Sx, Sxy = X.T @ X / 10, X.T @ Y / 10
    assert np.allclose(np.sort(np.linalg.eigvalsh(Sx)), np.sort(lam))
    assert np.allclose(np.linalg.svd(Sxy, compute_uv=False), np.sort(sig)[::-1])
    assert np.allclose(Sx @ Sxy @ Sxy.T, Sxy @ Sxy.T @ Sx)          # shared singular vectors


def test_separable_classification_has_the_margin():
    X, y = lt.data.separable_classification(50, 4, margin=0.5, seed=4)
    w = np.random.default_rng(4).standard_normal(4)        # the generator's first draw is w
    w /= np.linalg.norm(w)
    assert set(np.unique(y)) == {-1.0, 1.0}
    assert np.min(y * (X @ w)) >= 0.5 - 1e-12
    X2, y2 = lt.data.separable_classification(50, 4, margin=0.5, seed=4)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)


def test_l2_max_margin_is_optimal_and_feasible():
    X, y = lt.data.separable_classification(30, 5, margin=0.2, seed=6)
    w = lt.theory.l2_max_margin(X, y)
    assert np.min(y * (X @ w)) >= 1 - 1e-10
    rng = np.random.default_rng(7)                      # no feasible point of smaller norm nearby
    for _ in range(2000):
        v = w + 1e-3 * rng.standard_normal(5)
        if np.min(y * (X @ v)) >= 1:
            assert np.linalg.norm(v) >= np.linalg.norm(w) - 1e-12
    # KKT: w is a non-negative combination of the active constraints
    active = y * (X @ w) < 1 + 1e-8
    coef = np.linalg.lstsq((y[active, None] * X[active]).T, w, rcond=None)[0]
    assert np.all(coef >= -1e-8) and np.allclose((y[active, None] * X[active]).T @ coef, w, atol=1e-8)


def test_l1_max_margin_beats_random_feasible_points():
    X, y = lt.data.separable_classification(15, 6, margin=0.3, seed=8)
    w = lt.theory.l1_max_margin(X, y)
    assert np.min(y * (X @ w)) >= 1 - 1e-9
    rng = np.random.default_rng(9)
    for v in rng.standard_normal((3000, 6)):
        m = np.min(y * (X @ v))
        if m > 0:
            assert np.abs(v / m).sum() >= np.abs(w).sum() - 1e-9


@pytest.mark.parametrize("normalization", ["half_mean", "mean", "half_sum", "sum"])
def test_squared_loss_factor_is_the_factor_of_the_loss_gradient(normalization):
    """The one table of loss conventions used by the closed forms: grad L = kappa X^T (X theta - Y)."""
    from lintheory.losses import squared_loss_factor
    rng = np.random.default_rng(0)
    X, Y, theta = rng.normal(size=(7, 4)), rng.normal(size=(7, 2)), rng.normal(size=(4, 2))
    kappa = squared_loss_factor(normalization, 7)
    np.testing.assert_allclose(lt.SquaredLoss(X, Y, normalization=normalization).grad(theta),
                               kappa * X.T @ (X @ theta - Y), rtol=1e-13)
    with pytest.raises(ValueError, match="normalization"):
        squared_loss_factor("halfmean", 7)
