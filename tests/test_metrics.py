"""Metrics: sharpness and the Hessian against dense finite differences; spectral summaries."""

import numpy as np
import pytest

import lintheory as lt
from conftest import central_difference, flat, grad_of_flat

from test_networks import make, make_loss


@pytest.mark.parametrize("arch,kind", [("fc", "squared"), ("fc", "logistic"), ("diag", "squared"),
                                       ("conv", "exponential"), ("res", "squared")])
def test_sharpness_matches_dense_finite_difference_hessian(arch, kind):
    net = make(arch, 4, 3, 3, 2 if kind == "squared" else 1, 0)
    loss = make_loss(kind, net, 5, 1)
    params = net.init(0.8, seed=2)
    H_fd = central_difference(grad_of_flat(net, loss), flat(params), 1e-5)
    top = np.linalg.eigvalsh((H_fd + H_fd.T) / 2)[-1]
    assert abs(lt.metrics.sharpness(net, loss, params) - top) < 1e-6 * abs(top)
    assert np.allclose(lt.metrics.hessian(net, loss, params), (H_fd + H_fd.T) / 2, atol=1e-7 * np.abs(top))


def test_batched_sharpness_equals_one_by_one():
    net = lt.FullyConnected([5, 4, 4, 1])
    X, y = lt.data.overdetermined_regression(20, 5, seed=3)
    loss = lt.SquaredLoss(X, y)
    batch = net.init(0.5, seed=4, batch=4)
    S = lt.metrics.sharpness(net, loss, batch)
    for i in range(4):
        assert np.isclose(S[i], lt.metrics.sharpness(net, loss, [p[i] for p in batch]), rtol=1e-9)


def test_sharpness_of_linear_regression_is_top_eigenvalue_of_covariance():
    X, y = lt.data.overdetermined_regression(40, 6, seed=5)
    S = lt.metrics.sharpness(lt.FullyConnected([6, 1]), lt.SquaredLoss(X, y), [np.ones((1, 6))])
    assert np.isclose(S, np.linalg.eigvalsh(X.T @ X / 40)[-1], rtol=1e-10)


def test_spectral_summaries():
    u, v = np.array([1.0, 0, 0]), np.array([0, 1.0])
    rank_one = 2 * np.outer(u, v)
    assert np.isclose(lt.metrics.effective_rank(rank_one), 1.0)
    assert np.isclose(lt.metrics.effective_rank(np.eye(4)), 4.0)
    W1 = np.outer([0, 1.0, 0], [1.0, 0])        # left singular vector e_2
    W2 = np.outer([1.0], [0, 1.0, 0])           # right singular vector e_2: aligned
    assert np.isclose(lt.metrics.alignment([W1, W2])[0], 1.0)
    assert np.isclose(lt.metrics.rank_one_ratio([np.diag([2.0, 1.0])])[0], 0.5)
    assert np.isclose(lt.metrics.distance(np.array([[3.0, 4.0]]), np.zeros(2))[0], 5.0)


def test_angle_and_normalized_margin():
    assert np.isclose(lt.metrics.angle(np.array([1.0, 0]), np.array([1.0, 1.0])), np.pi / 4)
    assert np.isclose(lt.metrics.angle(np.array([1.0, 1e-9]), np.array([1.0, 0])), 1e-9, rtol=1e-6)
    X, y = np.array([[1.0, 0], [0, -2.0]]), np.array([1.0, -1.0])
    assert np.isclose(lt.metrics.normalized_margin(X, y, np.array([3.0, 4.0])), 3 / 5)
