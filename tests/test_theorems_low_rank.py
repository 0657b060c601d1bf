"""Issue 18 (low rank): the singular-value ODE of Arora et al. (2019) and Gunasekar et al.'s commuting limit."""

import numpy as np
import pytest
from scipy.integrate import cumulative_trapezoid

import lintheory as lt


def _sensing(d, n, seed):
    M = lt.data.low_rank_matrix(d, d, 2, seed=seed, norm="spectral")
    A, y = lt.data.gaussian_sensing(n, M, seed=seed + 1)
    return lt.SensingLoss(A, y)


def _velocity_formula(theta, grad, L):
    """sigma_r' = -L (sigma_r^2)^(1 - 1/L) <grad_W, u_r v_r^T>, written out here with W = theta^T."""
    W, GW = theta.T, grad.T
    U, s, Vt = np.linalg.svd(W)
    return s, -L * (s ** 2) ** (1 - 1 / L) * np.array([U[:, r] @ GW @ Vt[r] for r in range(len(s))])


@pytest.mark.claim("thm-ch2b-sv", kind="identity", tol="1e-8 rel")
@pytest.mark.parametrize("L", [2, 3])
def test_singular_value_ode_against_gradient_flow(L):
    """Balanced init: the formula, evaluated on each state, matches the flow's own velocity of sigma_r
    (projected from the parameter velocity, not from the formula), and its time integral matches sigma(t)."""
    d = 4
    loss = _sensing(d, 10, seed=L)
    net = lt.FullyConnected([d] * (L + 1))
    p0 = net.init(0.5, seed=20 + L, scheme="balanced")
    t = np.linspace(0.0, 30.0, 601)
    flow = lt.gradient_flow(net, loss, p0, t)
    assert flow.loss[-1] < 0.1 * flow.loss[0]
    sig = lt.metrics.singular_value_trajectory(flow)
    pred = np.array([_velocity_formula(th, loss.grad(th), L)[1] for th in flow.theta])
    # the library's formula is the one written out here
    lib = lt.theory.singular_value_velocity(flow.theta, loss.grad(flow.theta), L)
    np.testing.assert_allclose(lib[1], pred, atol=1e-12)
    np.testing.assert_allclose(lib[0], sig, atol=1e-12)
    # (a) pointwise: the flow's velocity of sigma_r, u_r^T W' v_r with W' = J(-grad), at 10 states
    for k in range(0, len(t), 60):
        params = [p[k] for p in flow.params]
        velocity = [-g for g in net.vjp(params, loss.grad(flow.theta[k]))]
        theta_dot = net.jvp(params, velocity)
        P, s, Qt = np.linalg.svd(flow.theta[k])
        actual = np.einsum("ir,ij,rj->r", P, theta_dot, Qt)
        np.testing.assert_allclose(pred[k], actual, atol=1e-8 * max(1.0, np.abs(actual).max()))
    # (b) integrated: sigma(0) + int_0^t (formula on the state) matches the simulated sigma(t)
    integrated = sig[0] + cumulative_trapezoid(pred, t, axis=0, initial=0)
    assert np.abs(sig[-1] - sig[0]).max() > 0.1                 # the singular values did move
    np.testing.assert_allclose(integrated, sig, atol=2e-3)


@pytest.mark.claim("thm-ch2b-sv", kind="sanity", tol="the hypothesis matters: > 10 % off without it")
def test_singular_value_ode_fails_without_balance():
    """The formula needs balancedness: from a Gaussian (unbalanced) init it mispredicts the velocity."""
    d, L = 4, 3
    loss = _sensing(d, 10, seed=5)
    net = lt.FullyConnected([d] * (L + 1))
    p0 = net.init(0.7, seed=6)
    theta = net.end_to_end(p0)
    pred = lt.theory.singular_value_velocity(theta, loss.grad(theta), L)[1]
    theta_dot = net.jvp(p0, [-g for g in net.vjp(p0, loss.grad(theta))])
    P, s, Qt = np.linalg.svd(theta)
    actual = np.einsum("ir,ij,rj->r", P, theta_dot, Qt)
    assert np.abs(pred - actual).max() > 0.1 * np.abs(actual).max()


@pytest.mark.claim("prop-ch2b-rate", kind="prediction", tol="5% of the exponent")
@pytest.mark.claim("thm-ch2b-commuting", kind="sanity", tol="error decreasing in alpha")
def test_commuting_measurements_limit_and_rate():
    """Gunasekar et al. (2017), commuting case: theta = U U^T, U(0) = alpha I, one diagonal measurement.
    The limit approaches the minimum-nuclear-norm PSD interpolator (cvxpy) as alpha -> 0, with the error
    exponent p = 2(1 - a_(2)/a_(1)) derived in the course, predicted before simulating. The weights give the
    non-integer exponent 0.6, so the check tells the formula from a generic O(alpha) error (review mathC item 12)."""
    pytest.importorskip("cvxpy")
    a = np.array([1.0, 0.7, 0.3, 0.2])
    y = np.array([1.0])
    A = np.diag(a)[None]
    loss = lt.SensingLoss(A, y)
    target = lt.theory.min_nuclear_norm(A, y, psd=True)
    np.testing.assert_allclose(target, lt.theory.single_measurement_limit(a, 1.0), atol=1e-6)
    p_pred = lt.theory.commuting_error_exponent(a)
    net = lt.Symmetric(4)
    alphas = np.array([1e-1, 3e-2, 1e-2, 3e-3, 1e-3])
    errors = []
    for alpha in alphas:
        flow = lt.gradient_flow(net, loss, net.init(alpha, scheme="identity"), np.array([0.0, 400.0]))
        assert flow.loss[-1] < 1e-16
        errors.append(np.linalg.norm(flow.theta[-1] - target))
    errors = np.array(errors)
    assert np.all(np.diff(errors) < 0)
    slope = np.polyfit(np.log(alphas), np.log(errors), 1)[0]
    assert abs(slope - p_pred) < 0.05 * p_pred, (slope, p_pred)
    assert abs(slope - 1.0) > 0.2, slope            # a generic O(alpha) guess would fail here


@pytest.mark.claim("prop-ch2b-dual-rate", kind="identity", tol="1e-12")
def test_dual_exponent_reduces_to_the_single_measurement_formula():
    """For n = 1 the dual optimum is 1/a_(1) and the LP-dual exponent is 2(1 - a_(2)/a_(1)), for any y > 0."""
    rng = np.random.default_rng(3)
    for _ in range(5):
        a = rng.uniform(0.1, 1.0, size=7)
        p, lam = lt.theory.commuting_dual_exponent(a[None], [rng.uniform(0.5, 2.0)])
        assert abs(p - lt.theory.commuting_error_exponent(a)) < 1e-12
        assert abs(lam[0] - 1 / a.max()) < 1e-12


@pytest.mark.claim("prop-ch2b-dual-rate", kind="prediction", tol="5% of the exponent")
def test_two_commuting_measurements_rate_from_the_lp_dual():
    """Two diagonal measurements in dimension 6 (the notebook's problem): the exponent p = 2 min_(j off S)
    (1 - a_j^T lam*) is computed from the LP's dual before any simulation, and the distance of the flow's limit
    to the LP solution is fitted over alpha = 1e-3 ... 1e-5."""
    rng = np.random.default_rng(0)
    a2 = rng.uniform(0.2, 1.0, size=(2, 6))
    y2 = np.array([1.0, 0.7])
    p_pred, _ = lt.theory.commuting_dual_exponent(a2, y2)
    target = lt.theory.min_trace_diagonal(a2, y2)
    loss = lt.SensingLoss(np.stack([np.diag(row) for row in a2]), y2)
    net = lt.Symmetric(6)
    alphas = np.array([1e-3, 1e-4, 1e-5])
    gaps = []
    for alpha in alphas:
        flow = lt.gradient_flow(net, loss, net.init(alpha, scheme="identity"), np.array([0.0, 4000.0]))
        assert flow.loss[-1] < 1e-14
        gaps.append(np.linalg.norm(flow.theta[-1] - target))
    slope = np.polyfit(np.log(alphas), np.log(gaps), 1)[0]
    assert abs(slope - p_pred) < 0.05 * p_pred, (slope, p_pred)


@pytest.mark.claim("prop-ch2b-init-rank", kind="identity", tol="1e-9 rel")
def test_rank_of_symmetric_factor_is_conserved():
    """theta = U U^T: U' = -(G + G^T) U is linear in U, so U(t) = Phi(t) U(0) with Phi invertible: the rank
    and the kernel of U(0) are kept for all t (an identity). The rank-one set is unstable here (the data
    need rank 2), so round-off is amplified over long times; we check up to t = 5, where it is not yet."""
    d = 5
    loss = _sensing(d, 12, seed=7)
    rng = np.random.default_rng(8)
    U0 = 0.3 * rng.standard_normal((d, 1)) @ rng.standard_normal((1, d))     # rank one
    flow = lt.gradient_flow(lt.Symmetric(d), loss, [U0], np.array([0.0, 1.0, 5.0]))
    assert flow.loss[-1] < 0.9 * flow.loss[0]                                  # it did move
    ker = np.linalg.svd(U0)[2][1:]                                            # kernel of U(0)
    for U in flow.params[0]:
        s = np.linalg.svd(U, compute_uv=False)
        assert s[1] < 1e-9 * s[0]
        assert np.abs(U @ ker.T).max() < 1e-9


def _psd_sensing_problem():
    """The notebook's setting: a rank-2 PSD 10 x 10 target of spectral norm 1, 40 Gaussian measurements."""
    G = np.random.default_rng(0).standard_normal((10, 2))
    M = G @ G.T / np.linalg.norm(G @ G.T, 2)
    A, y = lt.data.gaussian_sensing(40, M, seed=1)
    return M, lt.SensingLoss(A, y)


@pytest.mark.claim("thm-ch2b-lmz", kind="sanity", tol="rel. error < 1e-2 from scale 1e-3, > 0.1 from scale 1")
def test_full_factor_from_small_scale_recovers_gaussian_sensing():
    """Li, Ma, Zhang (2018), at a small size far from their constants: gradient descent on U U^T with a full
    10 x 10 factor (100 parameters, 40 measurements) from a small scale lands near the rank-2 target; from
    scale 1 it interpolates far from it, so the check can fail."""
    M, loss = _psd_sensing_problem()
    net = lt.Symmetric(10)
    errs = {}
    for scale in [1e-3, 1.0]:
        run = lt.gradient_descent(net, loss, net.init(scale / np.sqrt(10), seed=2), step=0.2, n_steps=5000,
                                  record_every=5000, keep_params=False)
        assert run.loss[-1] < 1e-5
        errs[scale] = float(lt.metrics.relative_distance(run.theta[-1], M))
    assert errs[1e-3] < 1e-2 and errs[1.0] > 0.1, errs


@pytest.mark.claim("thm-ch2b-capture", kind="sanity", tol="rel. error < 1e-10 from scales 1e-3 and 1")
def test_rank_two_factor_recovers_from_any_scale():
    """Eftekhari and Zygalakis (2020), informally: from a rank-2 factor U in R^(10 x 2) gradient descent recovers
    the rank-2 target from a small and from a large scale, where the full factor fails (test above)."""
    M, loss = _psd_sensing_problem()
    net = lt.Symmetric(10, 2)
    for scale in [1e-3, 1.0]:
        run = lt.gradient_descent(net, loss, net.init(scale / np.sqrt(10), seed=2), step=0.2, n_steps=5000,
                                  record_every=5000, keep_params=False)
        assert lt.metrics.relative_distance(run.theta[-1], M) < 1e-10


@pytest.mark.claim("thm-ch2b-razin", kind="sanity", tol="sign of det kept at every record")
def test_razin_cohen_determinant_sign_is_kept_and_decides_the_outcome():
    """Depth 3 on the Razin-Cohen completion: from W_k = 0.1 I (det > 0) the sign is kept and no completion
    (det -1) is reached, theta_11 grows; from the balanced W_k = 0.1 diag(1, -1) (det < 0) the sign is kept too,
    and the flow reaches a completion of nuclear norm within 1e-3 of the minimum 2."""
    idx, vals = lt.data.razin_cohen_completion()
    loss = lt.SensingLoss.completion(idx, vals, (2, 2))
    net = lt.FullyConnected([2, 2, 2, 2])
    t = np.array([0.0, 1e1, 1e2, 1e3, 1e4])
    pos = lt.gradient_flow(net, loss, [0.1 * np.eye(2) for _ in range(3)], t, method="LSODA", rtol=1e-8, atol=1e-12)
    neg = lt.gradient_flow(net, loss, [0.1 * np.diag([1.0, -1.0]) for _ in range(3)], t, method="LSODA",
                           rtol=1e-8, atol=1e-12)
    assert np.all(np.linalg.det(pos.theta) > 0) and np.all(np.linalg.det(neg.theta) < 0)
    assert pos.theta[-1, 0, 0] > 10 and pos.loss[-1] > 1e-12
    assert neg.loss[-1] < 1e-20
    assert abs(lt.metrics.schatten_norm(neg.theta[-1], 1) - 2.0) < 1e-3


@pytest.mark.claim("thm-ch2b-razin", kind="identity", tol="1e-5 abs on rates up to 0.23")
def test_razin_cohen_log_determinant_rate_from_a_balanced_start():
    """The proof of the box: from a balanced start, d/dt log|det theta| = -L sum_r sigma_r^(1-2/L) (U^T grad V)_rr,
    bounded for L >= 2, so det cannot reach 0. Compared with finite differences of the simulated log|det|."""
    idx, vals = lt.data.razin_cohen_completion()
    loss = lt.SensingLoss.completion(idx, vals, (2, 2))
    net = lt.FullyConnected([2, 2, 2, 2])
    t = np.linspace(0.0, 20.0, 2001)
    run = lt.gradient_flow(net, loss, [0.1 * np.eye(2) for _ in range(3)], t, rtol=1e-11, atol=1e-14)
    U, S, Vt = np.linalg.svd(run.theta)
    coupling = np.einsum("tir,tij,trj->tr", U, loss.grad(run.theta), Vt)
    rate = -3 * np.sum(S ** (1 - 2 / 3) * coupling, axis=1)
    measured = np.gradient(np.log(np.abs(np.linalg.det(run.theta))), t, edge_order=2)
    assert np.abs(rate).max() > 0.1                                   # the determinant does move
    assert np.abs(measured - rate).max() < 1e-5


@pytest.mark.claim("thm-ch2b-razin", kind="sanity", tol="sign of det W changes")
def test_razin_cohen_sign_of_determinant_can_flip_from_an_unbalanced_start():
    """Without balancedness the box fails: from an unbalanced start with det W(0) > 0 (first layer x0.05,
    seed 0), det W_1 crosses zero near t = 0.14 and det W turns negative (found by the review of this chapter)."""
    idx, vals = lt.data.razin_cohen_completion()
    loss = lt.SensingLoss.completion(idx, vals, (2, 2))
    net = lt.FullyConnected([2, 2, 2, 2])
    rng = np.random.default_rng(0)
    params = [rng.standard_normal((2, 2)) * s for s in (0.05, 1.0, 1.0)]
    run = lt.gradient_flow(net, loss, params, np.linspace(0.0, 0.3, 11), rtol=1e-10, atol=1e-13)
    det = np.linalg.det(run.theta)
    assert det[0] > 1e-4 and det[-1] < -1e-3


def test_dual_exponent_refuses_degenerate_programs():
    """A tie for the largest weight leaves a zero reduced cost off the support: no single exponent."""
    with pytest.raises(ValueError, match="degenerate"):
        lt.theory.commuting_dual_exponent(np.array([[1.0, 1.0, 0.5]]), [1.0])
    with pytest.raises(ValueError, match="no PSD interpolator"):
        lt.theory.commuting_dual_exponent(np.array([[1.0, 0.5]]), [-1.0])
