"""Networks: the chain rule matches finite differences; forms, batches and seeds behave."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import lintheory as lt
from conftest import central_difference, flat, grad_of_flat, loss_of_flat

ARCHS = ["fc", "diag", "conv", "res"]
LOSSES = ["squared", "logistic", "exponential"]


def make(arch, d, depth, width, m, seed):
    if arch == "fc":
        return lt.FullyConnected([d] + [width] * (depth - 1) + [m])
    if arch == "diag":
        return lt.Diagonal(d, depth)
    if arch == "conv":
        return lt.Convolutional(d, depth)
    return lt.Residual(d, depth, output=np.random.default_rng(seed).standard_normal(d))


def make_loss(kind, net, n, seed):
    rng = np.random.default_rng(seed)
    d = net.input_dim
    X = rng.standard_normal((n, d))
    if kind == "squared":
        return lt.SquaredLoss(X, rng.standard_normal((n,) + net.theta_shape[1:]))
    y = np.where(rng.standard_normal(n) > 0, 1.0, -1.0)
    return (lt.LogisticLoss if kind == "logistic" else lt.ExponentialLoss)(X, y)


@settings(max_examples=60, deadline=None)
@given(arch=st.sampled_from(ARCHS), kind=st.sampled_from(LOSSES), d=st.integers(1, 5),
       depth=st.integers(1, 4), width=st.integers(1, 4), m=st.integers(1, 3), n=st.integers(1, 6),
       seed=st.integers(0, 10_000))
def test_vjp_matches_central_differences(arch, kind, d, depth, width, m, n, seed):
    if kind != "squared" or arch != "fc":
        m = 1
    net = make(arch, d, depth, width, m, seed)
    loss = make_loss(kind, net, n, seed + 1)
    x = flat(net.init(0.7, seed=seed))
    analytic = grad_of_flat(net, loss)(x)
    numeric = central_difference(loss_of_flat(net, loss), x, 1e-6)
    scale = max(np.linalg.norm(analytic), 1e-3)
    assert np.linalg.norm(analytic - numeric) / scale < 1e-6


@pytest.mark.parametrize("arch", ARCHS)
def test_jvp_matches_central_differences(arch):
    net = make(arch, 4, 3, 3, 2, 0)
    params = net.init(0.8, seed=1)
    v = net.init(1.0, seed=2)
    f = lambda t: net.end_to_end([p + t[0] * w for p, w in zip(params, v)])
    numeric = central_difference(f, np.zeros(1), 1e-6)[..., 0]
    assert np.allclose(net.jvp(params, v), numeric, rtol=1e-8, atol=1e-9)


def test_fully_connected_is_the_matrix_product(rng):
    net = lt.FullyConnected([5, 4, 3, 2])
    W1, W2, W3 = net.init(1.0, seed=rng)
    assert np.allclose(net.end_to_end([W1, W2, W3]), (W3 @ W2 @ W1).T)
    assert lt.FullyConnected([5, 3, 1]).end_to_end(lt.FullyConnected([5, 3, 1]).init(seed=0)).shape == (5,)


def test_convolutional_is_circular_convolution(rng):
    d = 5
    v1, v2, v3 = rng.standard_normal((3, d))
    circ = lambda a: np.stack([np.roll(a, i) for i in range(d)], axis=1)   # circ(a) @ b = a * b
    expected = circ(circ(v1) @ v2) @ v3
    assert np.allclose(lt.Convolutional(d, 3).end_to_end([v1, v2, v3]), expected)


def test_diagonal_and_residual_forms(rng):
    v = list(rng.standard_normal((3, 4)))
    assert np.allclose(lt.Diagonal(4, 3).end_to_end(v), v[0] * v[1] * v[2])
    net = lt.Residual(4, 2, output=[0, 0, 2.0, 0])
    W = net.init(0.5, seed=1)
    assert np.allclose(net.end_to_end(W), (W[1] @ W[0]).T @ np.array([0, 0, 1.0, 0]))
    assert np.allclose(lt.Residual(3, 4).init(0.0)[2], np.eye(3))


@pytest.mark.parametrize("arch", ARCHS)
def test_batched_calls_equal_one_by_one(arch):
    net = make(arch, 4, 3, 3, 2, 0)
    batch = net.init(0.9, seed=3, batch=(2, 3))
    g = np.random.default_rng(4).standard_normal((2, 3) + net.theta_shape)
    theta = net.end_to_end(batch)
    grads = net.vjp(batch, g)
    for i in range(2):
        for j in range(3):
            one = [p[i, j] for p in batch]
            assert np.allclose(theta[i, j], net.end_to_end(one), rtol=1e-13)
            for a, b in zip(net.vjp(one, g[i, j]), grads):
                assert np.allclose(a, b[i, j], rtol=1e-13)


@pytest.mark.parametrize("arch", ARCHS)
def test_same_seed_same_arrays_bit_for_bit(arch):
    net = make(arch, 4, 3, 3, 2, 0)
    a, b = net.init(0.3, seed=7), net.init(0.3, seed=7)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    c = net.init(0.3, seed=np.random.default_rng(7))
    assert all(np.array_equal(x, y) for x, y in zip(a, c))
    assert not np.array_equal(a[0], net.init(0.3, seed=8)[0])


def test_balanced_init_is_balanced_with_layer_norm_scale():
    net = lt.FullyConnected([4, 6, 5, 3])
    params = net.init(0.5, seed=0, scheme="balanced")
    for D in lt.metrics.imbalance(params):
        assert np.abs(D).max() < 1e-12
    for w in params:
        assert np.isclose(np.linalg.norm(w, 2), 0.5)


def test_constant_init_of_diagonal_network():
    theta = lt.Diagonal(3, 4).end_to_end(lt.Diagonal(3, 4).init(0.5, scheme="constant"))
    assert np.allclose(theta, 0.5 ** 4)


def test_balanced_init_splits_the_rescaled_gaussian_end_to_end_matrix():
    """The docstring's construction: A ~ Gaussian (m, d), first draw of the seed, rescaled to spectral
    norm scale**L, split into balanced layers of spectral norm scale: theta^T equals that matrix."""
    for dims in ([4, 5, 6, 3], [5, 3, 3, 2], [3, 4, 1]):
        net, scale = lt.FullyConnected(dims), 0.7
        params = net.init(scale, seed=7, scheme="balanced")
        A = np.random.default_rng(7).standard_normal((dims[-1], dims[0]))
        expected = A / np.linalg.norm(A, 2) * scale ** net.depth
        theta = net.end_to_end(params)
        np.testing.assert_allclose(theta.T if theta.ndim == 2 else theta[None], expected, rtol=1e-10, atol=1e-14)
        for W in params:
            assert np.linalg.norm(W, 2) == pytest.approx(scale, rel=1e-12)
        for D in lt.metrics.imbalance(params):
            assert np.max(np.abs(D)) < 1e-12
