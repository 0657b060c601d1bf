"""Property-based tests (hypothesis): the contracts every network and every loss must obey, over random
shapes, depths, batch shapes and seeds.

* the pull-back (vjp) is the adjoint of the push-forward (jvp);
* both equal central finite differences of ``end_to_end``; loss gradients and Hessian-vector products
  equal finite differences of the loss;
* a batched gradient-descent run equals the separate runs, member by member;
* gradient flow conserves the squared-norm differences of the blocks (every multilinear network) and
  the matrix imbalances (fully-connected networks);
* one gradient-descent step changes them by exactly eta^2 times the same quantities of the gradient.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lintheory as lt
from conftest import central_difference, flat, unflat

FAST = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def networks(draw, scalar_output=False):
    kind = draw(st.sampled_from(["fc", "residual", "diagonal", "conv", "tensor", "decomposable"]))
    d = draw(st.integers(1, 4))
    depth = draw(st.integers(1, 4))
    if kind == "fc":
        widths = draw(st.lists(st.integers(1, 4), min_size=depth - 1, max_size=depth - 1))
        m = 1 if scalar_output else draw(st.integers(1, 3))
        return lt.FullyConnected([d] + widths + [m])
    if kind == "residual":
        return lt.Residual(d, depth, output=draw(st.lists(st.floats(0.1, 2.0), min_size=d, max_size=d)))
    if kind == "diagonal":
        return lt.Diagonal(d, depth)
    if kind == "conv":
        return lt.Convolutional(d, depth)
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    depth = min(depth, 3)
    if kind == "tensor":
        ks = draw(st.lists(st.integers(1, 3), min_size=depth, max_size=depth))
        return lt.TensorNetwork(rng.standard_normal([d] + ks))
    m = d
    U = [np.linalg.qr(rng.standard_normal((m + draw(st.integers(0, 2)), m)))[0] for _ in range(depth)]
    return lt.DecomposableTensorNetwork(rng.standard_normal((m, d)), U)


batches = st.sampled_from([(), (2,), (2, 1)])
seeds = st.integers(0, 2 ** 31 - 1)


@FAST
@given(net=networks(), batch=batches, seed=seeds)
def test_vjp_is_the_adjoint_of_jvp(net, batch, seed):
    rng = np.random.default_rng(seed)
    p = net.init(0.7, seed=rng, batch=batch)
    v = net.init(1.0, seed=rng, batch=batch)
    g = rng.standard_normal(batch + net.theta_shape)
    Jv = net.jvp(p, v)
    JTg = net.vjp(p, g)
    k = len(net.theta_shape)
    lhs = np.sum(g * Jv, axis=tuple(range(-k, 0)))
    rhs = sum(np.sum(a * b, axis=tuple(range(len(batch), a.ndim))) for a, b in zip(JTg, v))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10, atol=1e-12)


@FAST
@given(net=networks(), seed=seeds)
def test_jvp_and_vjp_equal_finite_differences_of_end_to_end(net, seed):
    rng = np.random.default_rng(seed)
    p = net.init(0.7, seed=rng)
    x = flat(p)
    J = central_difference(lambda z: net.end_to_end(unflat(z, net.shapes)), x, 1e-6)   # theta_shape + (P,)
    v = rng.standard_normal(x.size)
    np.testing.assert_allclose(net.jvp(p, unflat(v, net.shapes)), J @ v, rtol=1e-6, atol=1e-7)
    g = rng.standard_normal(net.theta_shape)
    JTg = np.tensordot(g, J, axes=(tuple(range(g.ndim)), tuple(range(g.ndim))))
    np.testing.assert_allclose(flat(net.vjp(p, g)), JTg, rtol=1e-6, atol=1e-7)


@FAST
@given(net=networks(), seed=seeds)
def test_vjp_derivative_equals_finite_differences_of_vjp(net, seed):
    rng = np.random.default_rng(seed)
    p, v = net.init(0.7, seed=rng), net.init(1.0, seed=rng)
    g = rng.standard_normal(net.theta_shape)
    x, dv = flat(p), flat(v)
    h = 1e-6
    fd = (flat(net.vjp(unflat(x + h * dv, net.shapes), g)) - flat(net.vjp(unflat(x - h * dv, net.shapes), g))) / (2 * h)
    np.testing.assert_allclose(flat(net.vjp_derivative(p, g, v)), fd, rtol=1e-6, atol=1e-7)


@st.composite
def losses(draw):
    kind = draw(st.sampled_from(["squared", "squared-m", "logistic", "exponential"]))
    n, d = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(seeds))
    X = rng.standard_normal((n, d))
    if kind == "squared":
        return lt.SquaredLoss(X, rng.standard_normal(n), normalization=draw(
            st.sampled_from(["half_mean", "mean", "half_sum", "sum"])))
    if kind == "squared-m":
        return lt.SquaredLoss(X, rng.standard_normal((n, draw(st.integers(2, 3)))))
    y = rng.choice([-1.0, 1.0], size=n)
    return (lt.LogisticLoss if kind == "logistic" else lt.ExponentialLoss)(X, y)


@FAST
@given(loss=losses(), seed=seeds)
def test_loss_gradient_and_hvp_equal_finite_differences(loss, seed):
    rng = np.random.default_rng(seed)
    theta = 0.5 * rng.standard_normal(loss.theta_shape)
    x = theta.ravel()
    as_theta = lambda z: z.reshape(loss.theta_shape)
    grad_fd = central_difference(lambda z: float(loss.value(as_theta(z))), x, 1e-6)
    np.testing.assert_allclose(loss.grad(theta).ravel(), grad_fd, rtol=1e-6, atol=1e-8)
    u = rng.standard_normal(loss.theta_shape)
    hvp_fd = (loss.grad(theta + 1e-6 * u) - loss.grad(theta - 1e-6 * u)) / 2e-6
    np.testing.assert_allclose(loss.hvp(theta, u), hvp_fd, rtol=1e-5, atol=1e-7)
    value, g = loss.value_and_grad(theta)
    assert value == loss.value(theta)
    np.testing.assert_allclose(g, loss.grad(theta), rtol=1e-14, atol=1e-15)
    value, ratio = loss.normalized_grad(theta)
    np.testing.assert_allclose(ratio, loss.grad(theta) / loss.value(theta), rtol=1e-10, atol=1e-14)


@FAST
@given(loss=losses(), seed=seeds, batch=st.sampled_from([(3,), (2, 2)]))
def test_losses_are_batched_member_by_member(loss, seed, batch):
    rng = np.random.default_rng(seed)
    thetas = rng.standard_normal(batch + loss.theta_shape)
    u = rng.standard_normal(batch + loss.theta_shape)
    values, grads, hvps = loss.value(thetas), loss.grad(thetas), loss.hvp(thetas, u)
    for idx in np.ndindex(*batch):
        np.testing.assert_allclose(values[idx], loss.value(thetas[idx]), rtol=1e-13)
        np.testing.assert_allclose(grads[idx], loss.grad(thetas[idx]), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(hvps[idx], loss.hvp(thetas[idx], u[idx]), rtol=1e-12, atol=1e-15)


@SLOW
@given(net=networks(scalar_output=True), seed=seeds, normalize=st.sampled_from([None, "loss", "gradient"]),
       classify=st.booleans())
def test_batched_descent_equals_separate_runs(net, seed, normalize, classify):
    rng = np.random.default_rng(seed)
    d = net.input_dim
    X = rng.standard_normal((6, d))
    loss = (lt.LogisticLoss(X, rng.choice([-1.0, 1.0], 6)) if classify
            else lt.SquaredLoss(X, rng.standard_normal(6)))
    p = net.init(0.4, seed=rng, batch=3)
    run = lt.gradient_descent(net, loss, p, 0.02, 12, record_every=5, normalize=normalize)
    for i in range(3):
        one = lt.gradient_descent(net, loss, [b[i] for b in p], 0.02, 12, record_every=5, normalize=normalize)
        np.testing.assert_allclose(run.loss[:, i], one.loss, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(run.theta[:, i], one.theta, rtol=1e-9, atol=1e-12)
        for a, b in zip(run.final_params, one.final_params):
            np.testing.assert_allclose(a[i], b, rtol=1e-9, atol=1e-12)


@pytest.mark.claim("thm-intro-example", kind="prediction", tol="1e-8 rel, random networks")
@pytest.mark.claim("thm-ch3-balance", kind="prediction", tol="1e-8 rel, random networks")
@SLOW
@given(net=networks(scalar_output=True), seed=seeds)
def test_gradient_flow_conserves_the_block_norm_differences(net, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((5, net.input_dim))
    loss = lt.SquaredLoss(X, rng.standard_normal(5))
    p = net.init(0.5, seed=rng)
    run = lt.gradient_flow(net, loss, p, [0.0, 0.5, 1.0], rtol=1e-11, atol=1e-13)
    core = [len(s) for s in net.shapes]
    before = lt.metrics.norm_imbalance(p, core)
    after = lt.metrics.norm_imbalance(run.params, core)
    scale = max(1.0, float(np.max(np.abs(before), initial=0.0)))
    np.testing.assert_allclose(after, np.broadcast_to(before, after.shape), atol=1e-8 * scale)
    if isinstance(net, lt.FullyConnected) and net.depth > 1:
        for D0, Dt in zip(lt.metrics.imbalance(p), lt.metrics.imbalance(run.params)):
            np.testing.assert_allclose(Dt, np.broadcast_to(D0, Dt.shape), atol=1e-8 * scale)


@FAST
@given(net=networks(), seed=seeds, eta=st.floats(1e-3, 0.3))
def test_one_descent_step_changes_the_invariants_by_exactly_eta_squared_terms(net, seed, eta):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((4, net.input_dim))
    Y = rng.standard_normal((4,) + net.theta_shape[1:])
    loss = lt.SquaredLoss(X, Y)
    p = net.init(0.6, seed=rng)
    run = lt.gradient_descent(net, loss, p, eta, 1)
    G = net.vjp(p, loss.grad(net.end_to_end(p)))
    core = [len(s) for s in net.shapes]
    drift = lt.metrics.norm_imbalance(run.final_params, core) - lt.metrics.norm_imbalance(p, core)
    sq = [float(np.sum(g * g)) for g in G]
    predicted = eta ** 2 * np.diff(sq)                 # <p_k, grad_k> is the same for every block
    scale = max(1.0, max(float(np.sum(b * b)) for b in p))
    np.testing.assert_allclose(drift, predicted, atol=1e-12 * scale)
    if isinstance(net, lt.FullyConnected) and net.depth > 1:
        after, before = lt.metrics.imbalance(run.final_params), lt.metrics.imbalance(p)
        # the theory's increment is of W1 W1^T - W2^T W2 (Min et al.'s sign), the negative of D_1
        inc = -lt.theory.gd_imbalance_increment(G, eta)[None] if net.depth == 2 else None
        for j in range(net.depth - 1):
            exact = eta ** 2 * (G[j + 1].T @ G[j + 1] - G[j] @ G[j].T)
            np.testing.assert_allclose(after[j] - before[j], exact, atol=1e-12 * scale)
            if inc is not None:
                np.testing.assert_allclose(inc[j], exact, atol=1e-12 * scale)


@FAST
@given(net=networks(scalar_output=True), seed=seeds)
def test_hessian_is_symmetric_and_matches_finite_differences_of_the_gradient(net, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((5, net.input_dim))
    loss = lt.SquaredLoss(X, rng.standard_normal(5))
    p = net.init(0.6, seed=rng)
    H = lt.metrics.hessian(net, loss, p)
    x = flat(p)
    grad = lambda z: flat(net.vjp(unflat(z, net.shapes), loss.grad(net.end_to_end(unflat(z, net.shapes)))))
    fd = central_difference(grad, x, 1e-5)
    np.testing.assert_allclose(H, (fd + fd.T) / 2, rtol=1e-5, atol=1e-7)
    if x.size > 1:
        top = float(np.linalg.eigvalsh(H)[-1])
        if top > 1e-6:
            assert lt.metrics.sharpness(net, loss, p) == pytest.approx(top, rel=1e-7, abs=1e-9)
