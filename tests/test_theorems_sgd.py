"""Theorem tests for stochastic gradient descent.

Each prediction is computed from the theorem's own formula, independently of the simulator's update,
and each would fail for a wrong constant (see the comments).
"""

import numpy as np
import pytest

import lintheory as lt
from lintheory.dynamics import _member_generators, _minibatch_indices


def _sparse(n=10, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    theta = np.zeros(d)
    theta[:2] = [1.0, -0.7]
    return X, X @ theta + 0.1 * rng.standard_normal(n)


def test_full_batch_sgd_equals_gradient_descent():
    """batch_size = n without replacement: every minibatch is the sample, so SGD is GD (an identity)."""
    X, y = _sparse()
    net, loss = lt.Diagonal(6, 2), lt.SquaredLoss(X, y)
    p0 = net.init(0.5, seed=1, batch=(2, 2))
    for backend in ("numpy", "compiled"):       # the reference loop, and the compiled one
        gd = lt.gradient_descent(net, loss, p0, 0.1, 150, record_every=15, backend=backend)
        sgd = lt.stochastic_gradient_descent(net, loss, p0, 0.1, 150, batch_size=10, seed=0, record_every=15,
                                             backend=backend)
        assert np.array_equal(gd.theta, sgd.theta) and np.array_equal(gd.loss, sgd.loss)


@pytest.mark.claim("prop-ch2c-unbiased", kind="identity", tol="1e-12 rel")
@pytest.mark.claim("prop-ch2c-unbiased", kind="prediction", tol="slope -1/2 within 0.08")
@pytest.mark.parametrize("replace", [False, True])
def test_stochastic_gradient_is_unbiased_at_the_one_over_sqrt_draws_rate(replace):
    """E_B[grad L_B] = grad L (derived in this course): the mean of D draws of the parameter-space
    stochastic gradient misses the full gradient by a root-mean-square error sqrt(tr(Cov)/D), with
    Cov = Sigma/b * (n - b)/(n - 1) without replacement (finite-population correction) and Sigma/b with,
    Sigma the population covariance of the n one-sample gradients. Predicted before simulating; the
    draws are SGD's own (one step of size 1 from a common state, D members with spawned streams).
    A biased estimator (e.g. the minibatch loss scaled by b/n instead of 1) gives an error that stops
    decreasing: slope 0 and a huge ratio."""
    X, y = _sparse()
    n, b = X.shape[0], 3
    net, loss = lt.Diagonal(6, 2), lt.SquaredLoss(X, y)
    p0 = net.init(0.7, seed=2)
    full = np.concatenate(net.vjp(p0, loss.grad(net.end_to_end(p0))))
    singles = np.array([np.concatenate(net.vjp(p0, loss.subset([i]).grad(net.end_to_end(p0))))
                        for i in range(n)])
    assert np.allclose(singles.mean(axis=0), full, rtol=1e-12, atol=1e-14)   # identity: mean of n terms
    sigma = np.cov(singles.T, bias=True)
    cov = sigma / b * ((n - b) / (n - 1) if not replace else 1.0)
    draws, reps, mse = 2 ** np.arange(4, 12), 48, []
    for k, D in enumerate(draws):
        p = [np.broadcast_to(a, (reps, D) + a.shape).copy() for a in p0]
        run = lt.stochastic_gradient_descent(net, loss, p, 1.0, 1, batch_size=b, seed=100 + k,
                                             replace=replace, keep_params=False)
        g = np.concatenate([a - c for a, c in zip(p0, run.final_params)], axis=-1)   # (reps, D, 12)
        mse.append(np.mean(np.sum((g.mean(axis=1) - full) ** 2, axis=-1)))
    mse = np.array(mse)
    slope = np.polyfit(np.log(draws), 0.5 * np.log(mse), 1)[0]
    ratio = mse * draws / np.trace(cov)
    assert abs(slope + 0.5) < 0.08, slope
    assert 0.7 < np.exp(np.mean(np.log(ratio))) < 1.4, ratio


def _minibatch_grads(loss, seed, n_steps, b, thetas):
    """The theta-gradient of the minibatch loss SGD used at each step, recomputed from the seed."""
    idx = _minibatch_indices(_member_generators(seed, None), (), loss.n, b, False, n_steps)
    return np.array([loss.subset(idx(k)).grad(thetas[k]) for k in range(n_steps)])


@pytest.mark.claim("prop-ch2c-drift", kind="identity", tol="1e-12 abs")
@pytest.mark.parametrize("method", ["gd", "sgd"])
def test_diagonal_network_imbalance_drifts_by_the_eta_squared_law(method):
    """Depth 2, theta = u * v: one step p' = p - eta * grad L_B gives, coordinatewise and exactly,
    u'^2 - v'^2 = (u^2 - v^2)(1 - eta^2 g^2) with g = grad_theta L_B(theta) (derived in this course), so
    Delta_k = Delta_0 * prod_{i<k} (1 - eta^2 g_i^2); gradient flow conserves Delta. A wrong constant
    (1 - 2 eta^2 g^2, or 1 + eta^2 g^2) misses by the drift itself, which is checked to be large."""
    X, y = _sparse()
    net, loss, eta, N, b = lt.Diagonal(6, 2), lt.SquaredLoss(X, y), 0.15, 300, 2
    p0 = [np.full(6, 0.5), np.zeros(6)]
    if method == "gd":
        run = lt.gradient_descent(net, loss, p0, eta, N)
        g = loss.grad(run.theta[:-1])
    else:
        run = lt.stochastic_gradient_descent(net, loss, p0, eta, N, batch_size=b, seed=4)
        g = _minibatch_grads(loss, 4, N, b, run.theta)
    predicted = 0.25 * np.concatenate([[np.ones(6)], np.cumprod(1 - eta ** 2 * g ** 2, axis=0)])
    measured = run.params[0] ** 2 - run.params[1] ** 2
    assert np.max(np.abs(measured - predicted)) < 1e-12
    assert np.max(np.abs(predicted[-1] - 0.25)) > 1e-3                         # the drift is not negligible


@pytest.mark.claim("prop-ch2c-drift", kind="identity", tol="1e-12 abs")
def test_depth_three_imbalances_drift_by_the_squared_gradient_terms():
    """Depth L: v_l'^2 - v_m'^2 = v_l^2 - v_m^2 + eta^2 g^2 (P_l^2 - P_m^2) with P_l = prod_{k != l} v_k
    (the first-order terms -2 eta g theta cancel; derived in this course)."""
    X, y = _sparse()
    net, loss, eta, N, b = lt.Diagonal(6, 3), lt.SquaredLoss(X, y), 0.1, 200, 3
    p0 = net.init(0.6, seed=5)
    run = lt.stochastic_gradient_descent(net, loss, p0, eta, N, batch_size=b, seed=6)
    g = _minibatch_grads(loss, 6, N, b, run.theta)
    v = np.stack(run.params)                                   # (3, N+1, 6)
    P = run.theta[None] / v                                    # products of the other two layers
    for l, m in [(0, 1), (1, 2)]:
        step = eta ** 2 * g ** 2 * (P[l, :-1] ** 2 - P[m, :-1] ** 2)
        predicted = v[l, 0] ** 2 - v[m, 0] ** 2 + np.concatenate([[np.zeros(6)], np.cumsum(step, axis=0)])
        assert np.max(np.abs(v[l] ** 2 - v[m] ** 2 - predicted)) < 1e-12
        assert np.max(np.abs(predicted[-1] - predicted[0])) > 1e-4


@pytest.mark.claim("prop-ch2c-drift", kind="identity", tol="1e-9 rel")
@pytest.mark.claim("thm-ch2c-pesme", kind="sanity", tol="alpha_inf < alpha coordinatewise")
def test_sgd_is_mirror_descent_with_a_shrinking_effective_initialization():
    """Depth 2 from u = alpha, v = 0, with |eta g_i| < 1 at every step: for all k, coordinatewise,
    arcsinh(2 theta_k / Delta_k) = -2 sum_{i<k} artanh(eta g_i), Delta_k = alpha^2 prod_{i<k}(1 - eta^2 g_i^2)
    (derived in this course: u + v and u - v are multiplied by 1 - eta g and 1 + eta g). Hence
    grad Q_{alpha_k}(theta_k) = arcsinh(2 theta_k / alpha_k^2) / 2 with alpha_k^2 = Delta_k, the potential
    of lt.theory.Q at depth 2, is -sum artanh(eta g_i), in range(X^T) up to the cubic terms."""
    X, y = _sparse()
    net, loss, eta, N, b, alpha = lt.Diagonal(6, 2), lt.SquaredLoss(X, y), 0.2, 400, 2, 0.3
    run = lt.stochastic_gradient_descent(net, loss, [np.full(6, alpha), np.zeros(6)], eta, N,
                                         batch_size=b, seed=8)
    g = _minibatch_grads(loss, 8, N, b, run.theta)
    assert np.max(np.abs(eta * g)) < 1
    delta = alpha ** 2 * np.cumprod(1 - eta ** 2 * g ** 2, axis=0)
    dual = -2 * np.cumsum(np.arctanh(eta * g), axis=0)
    assert np.allclose(np.arcsinh(2 * run.theta[1:] / delta), dual, rtol=1e-9, atol=1e-11)
    grad_q = lt.theory.tensor_networks.Q_grad(run.theta[-1], np.sqrt(delta[-1]), 2)
    assert np.allclose(grad_q, dual[-1] / 2, rtol=1e-9, atol=1e-11)
    assert np.all(np.sqrt(delta[-1]) < alpha * (1 - 1e-3))                 # Pesme et al.: alpha_inf < alpha


def _section_problem():
    """Chapter 2c's sparse regression: n = 14 Gaussian samples in dimension 40, a 3-sparse truth, no noise."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((14, 40))
    theta_star = np.zeros(40)
    theta_star[:3] = [1.0, -1.0, 0.8]
    return X, X @ theta_star, theta_star


@pytest.mark.claim("prop-ch2c-gain", kind="identity", tol="1e-12")
@pytest.mark.parametrize("b", [1, 3, 10])
def test_expected_gain_rate_is_the_mean_over_all_minibatches(b):
    """E[g_j^2 | theta] / 2 over the uniform b-subsets, enumerated exactly, is (grad_j)^2 / 2 + c_b (population
    variance) / 2 with c_b = (n - b) / (b (n - 1)): the finite-population correction (a wrong c_b, e.g. 1/b, misses
    by far more than the tolerance for b > 1)."""
    from itertools import combinations
    X, y = _sparse()
    theta = np.random.default_rng(2).standard_normal((2, 6))
    r = theta @ X.T - y
    exact = np.mean([((r[:, list(B)] @ X[list(B)]) / b) ** 2 for B in combinations(range(10), b)], axis=0) / 2
    np.testing.assert_allclose(lt.theory.expected_gain_rate(X, y, theta, b), exact, rtol=1e-12)
    assert lt.theory.minibatch_variance_factor(10, 10) == 0.0


@pytest.mark.claim("prop-ch2c-drift", kind="identity", tol="1e-9 abs")
def test_mirror_residual_is_the_remainder_outside_the_row_space():
    """P grad Q_{alpha_k}(theta_k) = -P sum_i [artanh(eta g_i) - eta g_i] (P onto ker X), the residual that
    lt.theory.mirror_gap reads off the end point; the remainder is checked to be far from negligible."""
    X, y, _ = _section_problem()
    net, loss, eta, N, b, alpha = lt.Diagonal(40, 2), lt.SquaredLoss(X, y), 0.1, 2000, 1, 0.2
    run = lt.stochastic_gradient_descent(net, loss, [np.full(40, alpha), np.zeros(40)], eta, N, batch_size=b,
                                         seed=3)
    g = _minibatch_grads(loss, 3, N, b, run.theta)
    assert np.max(np.abs(eta * g)) < 1
    a_k = alpha * np.sqrt(np.prod(1 - eta ** 2 * g ** 2, axis=0))
    P = lt.theory.null_space_projector(X)
    remainder = P @ (np.arctanh(eta * g) - eta * g).sum(axis=0)
    residual, _ = lt.theory.mirror_gap(X, y, run.theta[-1], a_k)
    assert abs(residual - np.linalg.norm(remainder)) < 1e-9
    assert np.linalg.norm(remainder) > 1e-3


def test_mirror_gap_newton_step_is_first_order_exact():
    """Near argmin Q_alpha the Newton displacement has the length of the perturbation up to O(eps^2)."""
    X, y, _ = _section_problem()
    alpha = np.random.default_rng(1).uniform(0.05, 0.3, size=40)
    best = lt.theory.argmin_Q(X, y, alpha, 2)
    direction = lt.theory.null_space_projector(X) @ np.random.default_rng(2).standard_normal(40)
    for eps in [1e-3, 1e-4]:
        delta = eps * direction / np.linalg.norm(direction)
        residual, gap = lt.theory.mirror_gap(X, y, best + delta, alpha)
        assert abs(gap - eps) < 20 * eps ** 2 and residual > 0


@pytest.mark.claim("prop-ch2c-gain", kind="prediction", tol="10% of the change from the gradient-flow limit")
@pytest.mark.claim("thm-ch2c-even", kind="sanity", tol="signs of the trends")
def test_large_steps_hurt_gradient_descent_as_predicted_from_the_flow_path():
    """Chapter 2c, alpha = 0.2: alpha_inf,j = alpha exp(-eta/2 int (grad_j L)^2 dt) along the gradient-flow path,
    computed before running GD, predicts the test error of GD with eta = 0.2 (argmin Q_alpha_inf): its excess over
    the gradient-flow limit within 10%. A wrong constant (eta instead of eta/2 in the exponent) doubles the
    predicted excess and fails. Even et al.'s qualitative claim, as observed: GD worsens and SGD with b = 1
    improves as eta grows from 0.03 to 0.1."""
    from scipy.integrate import trapezoid
    X, y, theta_star = _section_problem()
    net, loss, alpha = lt.Diagonal(40, 2), lt.SquaredLoss(X, y), 0.2
    t = np.concatenate([np.linspace(0.0, 50.0, 2001), np.linspace(50.0, 2000.0, 391)[1:]])
    path = lt.gradient_flow(net, loss, [np.full(40, alpha), np.zeros(40)], t).theta
    gf_err = np.linalg.norm(lt.theory.argmin_Q(X, y, alpha, 2) - theta_star)
    eta = 0.2
    shrink = eta * trapezoid(lt.theory.expected_gain_rate(X, y, path, 14), t, axis=0)
    predicted = np.linalg.norm(lt.theory.argmin_Q(X, y, alpha * np.exp(-shrink), 2) - theta_star)
    run = lt.gradient_descent(net, loss, [np.full(40, alpha), np.zeros(40)], eta, 20000, record_every=20000)
    assert run.loss[-1] < 1e-10
    measured = np.linalg.norm(run.theta[-1] - theta_star)
    assert abs((predicted - gf_err) - (measured - gf_err)) < 0.1 * (measured - gf_err), (predicted, measured, gf_err)
    errs = {}
    for b in [1, 14]:
        for step in [0.03, 0.1]:
            r = lt.stochastic_gradient_descent(net, loss, [np.full((8, 40), alpha), np.zeros((8, 40))], step, 20000,
                                               batch_size=b, seed=0, record_every=20000)
            errs[b, step] = np.linalg.norm(r.theta[-1] - theta_star, axis=1).mean()
    assert errs[14, 0.1] > errs[14, 0.03] and errs[1, 0.1] < errs[1, 0.03], errs


@pytest.mark.claim("prop-ch2c-gain", kind="sanity", tol="5% per setting")
@pytest.mark.claim("thm-ch2c-pesme", kind="sanity", tol="5% per setting")
@pytest.mark.parametrize("b", [1, 2, 5])
def test_shrinkage_follows_the_loss_integral_law(b):
    """The loss-integral law on discrete SGD (eta = 0.03, alpha = 0.2, chapter 2c's data): the mean over j of
    log(alpha / alpha_inf,j), read off the final u, v, against eta c_b (X^T X / n)_jj S_L + eta^2/2 sum (grad_j L)^2
    with S_L = eta sum_k L(theta_k) recorded along the same run; within 5% for each b. The law's inputs are
    measured on the run, so this checks a leading-order law, it does not predict from the initial state."""
    X, y, _ = _section_problem()
    net, loss, eta, alpha, R = lt.Diagonal(40, 2), lt.SquaredLoss(X, y), 0.03, 0.2, 8
    p0 = [np.full((R, 40), alpha), np.zeros((R, 40))]
    run = lt.stochastic_gradient_descent(net, loss, p0, eta, 20000, batch_size=b, seed=0, record_every=1,
                                         keep_params=False)
    assert np.all(run.loss[-1] < 1e-10)
    s_l = eta * run.loss[:-1].sum(axis=0)
    gd_part = 0.5 * eta ** 2 * (((run.theta[:-1] @ X.T - y) @ X / 14) ** 2).sum(axis=0)
    law = (lt.theory.loss_integral_gain(X, s_l, eta, b) + gd_part).mean(axis=1)
    u, v = run.final_params
    measured = np.log(alpha / np.sqrt(u * u - v * v)).mean(axis=1)
    assert abs(law.mean() - measured.mean()) < 0.05 * measured.mean(), (law.mean(), measured.mean())


def test_step_size_bias_validates_its_arguments():
    X, y, _ = _section_problem()
    assert lt.theory.minibatch_variance_factor(14, 2, replace=True) == 0.5
    with pytest.raises(ValueError, match="batch_size"):
        lt.theory.minibatch_variance_factor(14, 15)
    with pytest.raises(ValueError, match="theta"):
        lt.theory.expected_gain_rate(X, y, np.zeros(39), 1)
    with pytest.raises(ValueError, match="step"):
        lt.theory.loss_integral_gain(X, 1.0, 0.0, 1)
    with pytest.raises(ValueError, match="alpha"):
        lt.theory.mirror_gap(X, y, np.zeros(40), 0.0)
