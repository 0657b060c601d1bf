"""Theorem tests for Chapter 6 (large steps): the uv model, balancing, the catapult, GD against gradient flow.

Every prediction is computed from the initial state with ``lt.theory`` before gradient descent runs on the
network ``FullyConnected([1, h, 1])`` (one sample x = 1, target y, course loss (f - y)^2 / 2).
"""

import numpy as np
import pytest

import lintheory as lt

X1 = np.ones((1, 1))


def uv_problem(width, target):
    return lt.FullyConnected([1, width, 1]), lt.SquaredLoss(X1, np.array([float(target)]))


def uv_params(u, v):
    u, v = np.atleast_1d(np.asarray(u, float)), np.atleast_1d(np.asarray(v, float))
    return [u[:, None], v[None, :]]


@pytest.mark.claim("prop-ch6-uv-exact", kind="identity", tol="1e-12 rel")
@pytest.mark.parametrize("width, target, eta", [(1, 1.0, 0.45), (5, 0.7, 0.3), (40, 0.0, 2.5)])
def test_three_scalars_follow_their_recursion(width, target, eta):
    net, loss = uv_problem(width, target)
    p0 = net.init(1 / np.sqrt(width), seed=width)
    s0 = lt.theory.uv_state(p0)
    eta = eta / s0.curvature if target == 0 else eta          # the catapult phase for the wide one
    pred = lt.theory.uv_recursion(s0.f, s0.curvature, eta, 60, target=target, imbalance0=s0.imbalance)
    run = lt.gradient_descent(net, loss, p0, float(eta), 60, backend="numpy")
    s = lt.theory.uv_state(run.params)
    for got, want in zip(s, pred):
        assert np.allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


@pytest.mark.claim("prop-ch6-uv-exact", kind="identity", tol="1e-12 rel")
def test_p_and_q_multiply_by_squares():
    net, loss = uv_problem(3, 0.8)
    run = lt.gradient_descent(net, loss, net.init(0.7, seed=1), 0.2, 30, backend="numpy")
    u, v = run.params[0][..., 0], run.params[1][..., 0, :]
    p, q = np.sum((u + v) ** 2, -1), np.sum((u - v) ** 2, -1)
    r = np.sum(u * v, -1) - 0.8
    assert np.allclose(p[1:], (1 - 0.2 * r[:-1]) ** 2 * p[:-1], rtol=1e-12)
    assert np.allclose(q[1:], (1 + 0.2 * r[:-1]) ** 2 * q[:-1], rtol=1e-12)


@pytest.mark.claim("prop-ch6-minimizers", kind="identity", tol="1e-9 rel")
@pytest.mark.parametrize("a, target", [(1.0, 1.0), (2.5, 1.0), (0.3, 2.0)])
def test_minimizer_sharpness_formula(a, target):
    net, loss = uv_problem(1, target)
    p = uv_params(a, target / a)
    D = a * a - (target / a) ** 2
    S = lt.metrics.sharpness(net, loss, p)
    assert S == pytest.approx(lt.theory.uv_minimizer_sharpness(D, target), rel=1e-9)
    assert S >= 2 * target * (1 - 1e-12)                     # the balanced minimizer is the flattest


def converged_state(net, loss, p0, eta, n_steps=6000, window=50):
    # (converged?, final state): converged when the residual stays below 1e-10 over the last window steps
    run = lt.gradient_descent(net, loss, p0, eta, n_steps, keep_params=False)
    if run.diverged:
        return False, None
    tail = lt.gradient_descent(net, loss, run.final_params, eta, window, keep_params=False)
    ok = not tail.diverged and np.all(np.abs(tail.theta[..., 0] - loss.Y[0]) < 1e-10)
    return bool(ok), lt.theory.uv_state(tail.final_params)


@pytest.mark.claim("thm-ch6-balancing", kind="prediction", tol="1e-9 rel")
@pytest.mark.parametrize("u0, v0", [(3.0, 0.1), (0.2, 2.0), (1.5, 1.2)])
def test_converged_runs_respect_the_balancing_bound(u0, v0):
    net, loss = uv_problem(1, 1.0)
    etas = np.linspace(0.05, 0.98, 32)
    bound = lt.theory.balancing_bound(etas, 1.0)               # predictions, before any run
    n_conv = 0
    for eta, b in zip(etas, bound):
        ok, s = converged_state(net, loss, uv_params(u0, v0), float(eta))
        if ok:
            n_conv += 1
            assert s.curvature <= 2 / eta * (1 + 1e-9)
            assert abs(s.imbalance) <= b * (1 + 1e-9) + 1e-9
    assert n_conv >= 8


@pytest.mark.claim("thm-ch6-balancing", kind="prediction", tol="threshold sharp to 2 %")
@pytest.mark.parametrize("eta", [0.4, 0.8])
def test_balancing_threshold_is_sharp(eta):
    # Start 1e-6 off a minimizer with |D| = 0.98 or 1.02 times the bound: kept inside, left outside.
    net, loss = uv_problem(1, 1.0)
    bound = float(lt.theory.balancing_bound(eta, 1.0))          # prediction, before the runs
    for factor in (0.98, 1.02):
        D0 = factor * bound
        ok, s = converged_state(net, loss, lt.theory.uv_init(1.0 + 1e-6, D0), eta)
        assert ok
        if factor < 1:                                          # a stable minimizer: the run stays next to it
            assert s.imbalance == pytest.approx(D0, rel=1e-6)
        else:                                                   # an unstable one: the run leaves it, to the bound
            assert s.imbalance <= bound and s.imbalance < D0 - 0.01 * bound
            assert s.curvature <= 2 / eta


@pytest.mark.claim("thm-ch6-balancing", kind="prediction", tol="1e-9 rel")
@pytest.mark.parametrize("target", [0.1, 0.3])
def test_wide_runs_with_a_target_end_below_two_over_eta(target):
    # width h > 1: a converged run ends with curvature <= 2 / eta, also for steps beyond 2 / lambda_0
    net, loss = uv_problem(50, target)
    p0 = net.init(1 / np.sqrt(50), seed=4)
    lam0 = float(lt.theory.uv_state(p0).curvature)
    n_beyond = 0
    for c in (1.5, 2.2, 2.8, 3.4):
        ok, s = converged_state(net, loss, p0, c / lam0, n_steps=3000)
        if ok:
            n_beyond += c > 2
            assert s.curvature <= 2 / (c / lam0) * (1 + 1e-9)
    assert n_beyond >= 2


@pytest.mark.claim("thm-ch6-balancing", kind="prediction")
@pytest.mark.parametrize("eta", [1.05, 1.3, 1.8])
def test_no_run_converges_above_one_over_y(eta):
    net, loss = uv_problem(1, 1.0)
    assert np.isnan(lt.theory.balancing_bound(eta, 1.0))
    for u0, v0 in [(0.1, 0.1), (1.2, 0.9), (0.5, 1.5)]:
        ok, _ = converged_state(net, loss, uv_params(u0, v0), eta, n_steps=3000)
        assert not ok


@pytest.mark.claim("thm-ch6-wang", kind="sanity")
def test_steps_beyond_two_over_initial_sharpness_converge_and_balance():
    net, loss = uv_problem(1, 1.0)
    p0 = uv_params(3.0, 0.1)
    L0 = lt.metrics.sharpness(net, loss, p0)
    D0 = lt.theory.uv_state(p0).imbalance
    beyond = [eta for eta in (1.2 * 2 / L0, 1.5 * 2 / L0, 1.8 * 2 / L0)]
    for eta in beyond:
        ok, s = converged_state(net, loss, p0, eta)
        assert ok and abs(s.imbalance) < abs(D0) / 2


@pytest.mark.claim("thm-ch6-catapult", kind="prediction", tol="exact inequalities; lazy fall to 5 (f0/lambda0)^2/(2 - eta lambda0)^2 rel")
@pytest.mark.parametrize("ratio", [0.5, 1.5, 2.5, 3.5, 3.9, 4.1, 5.0])
def test_catapult_phases(ratio):
    net, loss = uv_problem(50, 0.0)
    p0 = net.init(1 / np.sqrt(50), seed=4)
    s0 = lt.theory.uv_state(p0)
    eta_crit, eta_max = lt.theory.catapult_thresholds(s0.curvature)       # predictions
    eta = float(ratio * eta_crit / 2)
    run = lt.gradient_descent(net, loss, p0, eta, 800)
    lam = lt.theory.uv_state(run.params).curvature
    if eta < eta_max:
        assert not run.diverged and abs(run.theta[-1, 0]) < 1e-10
        assert np.all(np.diff(lam) <= 1e-14)
        assert lam[-1] <= min(s0.curvature, 2 / eta)
        if eta < eta_crit:
            drop = lt.theory.lazy_curvature_drop(s0.f, s0.curvature, eta)
            order = (s0.f / s0.curvature) ** 2 / (2 - eta * s0.curvature) ** 2   # leading order's error scale
            assert s0.curvature - lam[-1] == pytest.approx(drop, rel=5 * order)
        else:
            assert s0.curvature - lam[-1] >= s0.curvature - 2 / eta
            assert eta ** 2 * s0.f ** 2 < eta * s0.curvature - 2    # the theorem's condition for the spike
            assert run.loss[1] > run.loss[0]                           # the loss rises at the first step
    else:
        assert run.diverged
        finite = np.isfinite(lam)
        assert np.all(np.diff(lam[finite]) >= -1e-14)


@pytest.mark.claim("thm-ch6-elkabetz", kind="sanity", tol="slope 1 +- 0.15")
def test_gd_tracks_gradient_flow_at_first_order():
    # Order 1 is Euler's global order for any smooth field: a sanity check of the regime, not of the
    # curvature-dependent constant that is specific to Elkabetz and Cohen.
    X, y = lt.data.overdetermined_regression(n=20, d=3, seed=2)
    net, loss = lt.FullyConnected([3, 3, 3, 1]), lt.SquaredLoss(X, y)
    p0, T = net.init(0.5, seed=3), 2.0
    etas = np.array([0.04, 0.02, 0.01, 0.005])
    flow = lt.gradient_flow(net, loss, p0, np.linspace(0, T, 401), rtol=1e-11, atol=1e-13)
    gaps = []
    for e in etas:
        n = int(round(T / e))
        gd = lt.gradient_descent(net, loss, p0, float(e), n, record_every=n // 50, keep_params=False)
        ref = flow.theta[np.rint(gd.t * e / T * 400).astype(int)]
        gaps.append(np.abs(gd.theta - ref).max())
    slope = np.polyfit(np.log(etas), np.log(gaps), 1)[0]
    assert abs(slope - 1) < 0.15


@pytest.mark.claim("thm-ch6-balancing", kind="prediction", tol="1e-9 rel")
def test_diagonal_network_balances_coordinate_by_coordinate():
    a, t = np.array([1.0, 2.0]), np.array([1.0, 0.5])
    c = a ** 2 / 2                                      # loss = sum_j c_j (theta_j - t_j)^2 / 2 on X = diag(a), n = 2
    net, loss = lt.Diagonal(2, 2), lt.SquaredLoss(np.diag(a), a * t)
    start = lt.theory.uv_init(np.full(2, 0.2), np.array([6.0, 3.0]))
    p0 = [start[0][:, 0, 0], start[1][:, 0, 0]]
    n_conv = 0
    for eta in np.linspace(0.02, 0.6, 30):
        bound = lt.theory.balancing_bound(eta * c, t)    # prediction, per coordinate
        run = lt.gradient_descent(net, loss, p0, float(eta), 4000, keep_params=False)
        if run.diverged or np.abs(run.theta[-1] - t).max() > 1e-10:
            continue
        n_conv += 1
        D = run.final_params[0] ** 2 - run.final_params[1] ** 2
        assert np.all(np.abs(D) <= bound * (1 + 1e-9))
    assert n_conv >= 10


@pytest.mark.claim("cor-ch6-drift", kind="prediction", tol="error O(eta): fitted order 1 +- 0.2")
def test_small_step_imbalance_drift_is_first_order():
    net, loss = uv_problem(1, 1.0)
    p0 = lt.theory.uv_init(0.2, 4.0)
    s0 = lt.theory.uv_state(p0)
    rate = lt.theory.flow_residual_integral(s0.f, s0.curvature, 1.0)          # prediction, before the runs
    etas = np.array([0.004, 0.008, 0.016, 0.032])
    errs = []
    for eta in etas:
        run = lt.gradient_descent(net, loss, p0, float(eta), int(40 / eta), record_every=int(40 / eta),
                                  keep_params=False)
        D = lt.theory.uv_state(run.final_params).imbalance
        errs.append(abs(np.log(D / s0.imbalance) / (-eta * rate) - 1))
    order = np.polyfit(np.log(etas), np.log(errs), 1)[0]
    assert abs(order - 1) < 0.2 and errs[0] < 0.02
