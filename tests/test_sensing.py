"""Matrix sensing (issue 18): SensingLoss, the Symmetric network, the generators, the nuclear-norm reference."""

import subprocess
import sys

import numpy as np
import pytest

import lintheory as lt


def _fd_grad(f, theta, h=1e-6):
    g = np.zeros_like(theta)
    for idx in np.ndindex(theta.shape):
        e = np.zeros_like(theta)
        e[idx] = h
        g[idx] = (f(theta + e) - f(theta - e)) / (2 * h)
    return g


@pytest.fixture
def sensing():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((7, 4, 3))
    y = rng.standard_normal(7)
    return lt.SensingLoss(A, y), A, y, rng


def test_value_is_half_mean_of_squared_measurement_errors(sensing):
    loss, A, y, rng = sensing
    theta = rng.standard_normal((4, 3))
    r = np.array([np.sum(Ai * theta) for Ai in A]) - y
    assert np.isclose(loss.value(theta), np.sum(r ** 2) / (2 * len(y)), rtol=1e-13)
    # the same as the squared loss of the vectorized problem
    vec = lt.SquaredLoss(A.reshape(7, -1), y)
    assert np.isclose(loss.value(theta), vec.value(theta.ravel()), rtol=1e-13)


def test_gradient_and_hvp_against_finite_differences(sensing):
    loss, A, y, rng = sensing
    theta, u = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    np.testing.assert_allclose(loss.grad(theta), _fd_grad(lambda t: float(loss.value(t)), theta),
                               atol=1e-7)
    h = 1e-5
    fd_hvp = (loss.grad(theta + h * u) - loss.grad(theta - h * u)) / (2 * h)
    np.testing.assert_allclose(loss.hvp(theta, u), fd_hvp, atol=1e-8)
    v, g = loss.value_and_grad(theta)
    assert np.isclose(v, loss.value(theta)) and np.allclose(g, loss.grad(theta))


def test_batched_theta(sensing):
    loss, A, y, rng = sensing
    thetas = rng.standard_normal((2, 5, 4, 3))
    vals, grads = loss.value_and_grad(thetas)
    assert vals.shape == (2, 5) and grads.shape == thetas.shape
    assert np.isclose(vals[1, 3], loss.value(thetas[1, 3]))
    np.testing.assert_allclose(grads[1, 3], loss.grad(thetas[1, 3]), atol=1e-14)


def test_completion_is_sensing_with_unit_matrices():
    rng = np.random.default_rng(1)
    M = rng.standard_normal((5, 6))
    idx = lt.data.completion_mask(12, (5, 6), seed=2)
    loss = lt.SensingLoss.completion(idx, M[idx[:, 0], idx[:, 1]], (5, 6))
    assert loss.value(M) == 0.0
    theta = rng.standard_normal((5, 6))
    mask = np.zeros((5, 6))
    mask[idx[:, 0], idx[:, 1]] = 1
    assert np.isclose(loss.value(theta), np.sum(mask * (theta - M) ** 2) / (2 * 12), rtol=1e-13)
    np.testing.assert_allclose(loss.grad(theta), mask * (theta - M) / 12, atol=1e-15)


def test_sensing_trains_a_deep_network():
    """The loss plugs into the simulators: a depth-2 network fits 6 Gaussian measurements."""
    M = lt.data.low_rank_matrix(4, 4, 1, seed=0, norm="spectral")
    A, y = lt.data.gaussian_sensing(6, M, seed=1)
    loss = lt.SensingLoss(A, y)
    net = lt.FullyConnected([4, 4, 4])
    run = lt.gradient_descent(net, loss, net.init(0.3, seed=2), step=0.05, n_steps=3000, record_every=3000)
    assert run.loss[-1] < 1e-10 < run.loss[0]


@pytest.mark.parametrize("args, match", [
    ((np.zeros((3, 4)), np.zeros(3)), "A must be 3-dimensional"),
    ((np.zeros((3, 2, 2)), np.zeros(4)), "y must have one value per measurement"),
    ((np.zeros((3, 2, 2)), np.zeros((3, 1))), "y must be 1-dimensional"),
    ((np.full((1, 2, 2), np.nan), np.zeros(1)), "A contains NaN"),
])
def test_bad_sensing_input(args, match):
    with pytest.raises(ValueError, match=match):
        lt.SensingLoss(*args)


def test_bad_theta_and_completion_input(sensing):
    loss = sensing[0]
    with pytest.raises(ValueError, match="theta must have shape"):
        loss.value(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="u must have shape"):
        loss.hvp(np.zeros((4, 3)), np.zeros(12))
    with pytest.raises(ValueError, match="twice"):
        lt.SensingLoss.completion([[0, 1], [0, 1]], [1.0, 2.0], (2, 2))
    with pytest.raises(ValueError, match="inside a 2 x 2"):
        lt.SensingLoss.completion([[0, 2]], [1.0], (2, 2))
    with pytest.raises(ValueError, match="integer"):
        lt.SensingLoss.completion([[0.0, 1.0]], [1.0], (2, 2))
    with pytest.raises(ValueError, match="shape must be a pair"):
        lt.SensingLoss.completion([[0, 1]], [1.0], (2, 0))
    with pytest.raises(ValueError, match="values must have one value per observed entry of mask_indices"):
        lt.SensingLoss.completion([[0, 1]], [1.0, 2.0], (2, 2))


def test_symmetric_network_vjp_matches_jvp():
    net = lt.Symmetric(4, 3)
    rng = np.random.default_rng(3)
    U, V, G = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.standard_normal((4, 4))
    np.testing.assert_allclose(net.end_to_end([U]), U @ U.T)
    lhs = np.sum(G * net.jvp([U], [V]))
    rhs = np.sum(net.vjp([U], G)[0] * V)
    assert np.isclose(lhs, rhs, rtol=1e-12)
    np.testing.assert_allclose(net.init(0.1, scheme="identity")[0], 0.1 * np.eye(4, 3))
    assert net.init(0.1, scheme="identity", batch=2)[0].shape == (2, 4, 3)


def test_generators_are_seeded_and_shaped():
    M = lt.data.low_rank_matrix(6, 5, 2, seed=4)
    assert np.linalg.matrix_rank(M) == 2 and np.isclose(np.linalg.norm(M), np.sqrt(30))
    assert np.array_equal(M, lt.data.low_rank_matrix(6, 5, 2, seed=4))
    assert np.isclose(np.linalg.norm(lt.data.low_rank_matrix(6, 5, 2, seed=4, norm="spectral"), 2), 1)
    A, y = lt.data.gaussian_sensing(9, M, seed=5)
    assert A.shape == (9, 6, 5) and np.allclose(y, np.einsum("nij,ij->n", A, M))
    idx = lt.data.completion_mask(30, (6, 5), seed=6)
    assert idx.shape == (30, 2) and len({tuple(p) for p in idx.tolist()}) == 30
    assert idx[:, 0].max() < 6 and idx[:, 1].max() < 5
    assert np.array_equal(idx, lt.data.completion_mask(30, (6, 5), seed=6))
    with pytest.raises(ValueError, match="rank must be at most"):
        lt.data.low_rank_matrix(3, 2, 3)
    with pytest.raises(ValueError, match="n must be at most"):
        lt.data.completion_mask(31, (6, 5))
    with pytest.raises(ValueError, match="norm must be one of"):
        lt.data.low_rank_matrix(3, 2, 1, norm="l1")


def test_rank_metrics():
    theta = np.diag([3.0, 4.0, 0.0])
    assert np.isclose(lt.metrics.schatten_norm(theta, 1), 7)
    assert np.isclose(lt.metrics.schatten_norm(theta, 2), 5)
    assert np.isclose(lt.metrics.schatten_norm(theta, np.inf), 4)
    traj = np.stack([theta, 2 * theta])
    np.testing.assert_allclose(lt.metrics.singular_value_trajectory(traj), [[4, 3, 0], [8, 6, 0]])
    np.testing.assert_allclose(lt.metrics.effective_rank_trajectory(np.stack([np.eye(3), np.diag([1.0, 0, 0])])),
                               [3, 1])
    with pytest.raises(ValueError, match="p must be a positive"):
        lt.metrics.schatten_norm(theta, 0)


# ------------------------------------------------------------------ the nuclear-norm reference

def test_min_nuclear_norm_is_feasible_and_recovers_from_many_measurements():
    pytest.importorskip("cvxpy")
    M = lt.data.low_rank_matrix(5, 5, 1, seed=7, norm="spectral")
    A, y = lt.data.gaussian_sensing(20, M, seed=8)       # 20 > 3 x (2*5-1) degrees of freedom
    theta = lt.theory.min_nuclear_norm(A, y)
    assert np.abs(np.einsum("nij,ij->n", A, theta) - y).max() < 1e-6
    np.testing.assert_allclose(theta, M, atol=1e-5)
    # fewer measurements: still feasible, and no interpolator found by least squares has a smaller norm
    A, y = A[:6], y[:6]
    theta = lt.theory.min_nuclear_norm(A, y)
    assert np.abs(np.einsum("nij,ij->n", A, theta) - y).max() < 1e-6
    X = A.reshape(6, -1)
    rng = np.random.default_rng(9)
    base = np.linalg.lstsq(X, y, rcond=None)[0]
    null = np.linalg.svd(X)[2][6:]
    for _ in range(200):
        other = (base + rng.standard_normal(19) @ null * rng.uniform(0, 2)).reshape(5, 5)
        assert lt.metrics.schatten_norm(theta, 1) <= lt.metrics.schatten_norm(other, 1) + 1e-6


def test_min_nuclear_norm_psd_matches_linear_program_on_diagonal_measurements():
    """Commuting case: the PSD nuclear-norm interpolator has trace min{1'x : Dx = y, x >= 0}."""
    pytest.importorskip("cvxpy")
    rng = np.random.default_rng(10)
    a = rng.uniform(0.2, 1.0, size=(2, 5))
    y = np.array([1.0, 0.8])
    A = np.stack([np.diag(r) for r in a])
    theta = lt.theory.min_nuclear_norm(A, y, psd=True)
    lp = lt.theory.min_trace_diagonal(a, y)
    assert np.abs(np.einsum("nij,ij->n", A, theta) - y).max() < 1e-6
    assert np.isclose(np.trace(theta), np.trace(lp), atol=1e-6)
    np.testing.assert_allclose(np.diag(theta), np.diag(lp), atol=1e-5)
    # one measurement: the closed form (y / max a) e_j e_j^T, the unique minimizer
    a1 = np.array([0.3, 1.0, 0.5, 0.2])
    closed = lt.theory.single_measurement_limit(a1, 2.0)
    np.testing.assert_allclose(closed, np.diag([0, 2.0, 0, 0]))
    np.testing.assert_allclose(lt.theory.min_nuclear_norm(np.diag(a1)[None], [2.0], psd=True), closed,
                               atol=1e-6)
    np.testing.assert_allclose(lt.theory.min_trace_diagonal(a1[None], [2.0]), closed, atol=1e-9)


def test_min_nuclear_norm_bad_input():
    with pytest.raises(ValueError, match="one value per measurement"):
        lt.theory.min_nuclear_norm(np.zeros((2, 3, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="square"):
        lt.theory.min_nuclear_norm(np.zeros((2, 3, 2)), np.zeros(2), psd=True)
    with pytest.raises(ValueError, match="solver must be"):
        pytest.importorskip("cvxpy")
        lt.theory.min_nuclear_norm(np.ones((1, 2, 2)), np.ones(1), solver="MOSEK9")


def test_lintheory_imports_without_cvxpy_and_says_how_to_install():
    code = ("import sys; sys.modules['cvxpy'] = None\n"
            "import lintheory as lt, numpy as np\n"
            "try:\n    lt.theory.min_nuclear_norm(np.ones((1, 2, 2)), np.ones(1))\n"
            "except ImportError as e:\n    print('MSG', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "MSG" in out.stdout and "pip install cvxpy" in out.stdout


def test_low_rank_theory_rejects_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        lt.theory.singular_value_velocity(np.zeros((3, 2)), np.zeros((2, 3)), 2)
    with pytest.raises(ValueError, match="depth must be at least 1"):
        lt.theory.singular_value_velocity(np.zeros((3, 2)), np.zeros((3, 2)), 0)
    with pytest.raises(ValueError, match="unique largest"):
        lt.theory.commuting_error_exponent([1.0, 1.0, 0.5])
    with pytest.raises(ValueError, match="unique largest"):
        lt.theory.single_measurement_limit([1.0, 1.0], 1.0)
    with pytest.raises(RuntimeError, match="no PSD interpolator"):
        lt.theory.min_trace_diagonal([[1.0, 1.0]], [-1.0])         # x >= 0 cannot give a negative value
    with pytest.raises(ValueError, match="one value per row"):
        lt.theory.min_trace_diagonal([[1.0, 1.0]], [1.0, 2.0])
