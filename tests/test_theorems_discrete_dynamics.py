"""Theorem tests for Chapter 4 (Gidel, Bach, Lacoste-Julien 2019; Barrett & Dherin 2021).

Predictions are computed here from the theorems' own formulas (numpy one-liners) and compared with
gradient descent run by ``lt.gradient_descent`` on the two-layer network ``FullyConnected([d, d, d])``.
"""

import numpy as np
import pytest

import lintheory as lt

SIG = np.array([4.0, 2.0, 1.0, 0.5, 0.25])
LAM = np.array([1.0, 2.0, 0.5, 1.5, 1.0])


def problem(lam, sig, seed):
    X, Y = lt.data.aligned_regression(lam, sig, n=40, seed=seed)
    Sx, Sxy = X.T @ X / len(X), X.T @ Y / len(X)
    U, _, Vt = np.linalg.svd(Sxy)                        # shared singular vectors, decreasing sigma
    return X, Y, Sx, Sxy, U, Vt.T


def spectral_params(U, V, w0):
    a = np.sqrt(w0) * np.ones(U.shape[1])
    return [a[:, None] * U.T, V * a]          # course convention: W1 = diag(a) U^T, W2 = V diag(a)


def half_time_from_recursion(sig, lam, eta, delta, n):
    w = np.full_like(sig, np.exp(-delta))
    k_half = np.full(sig.shape, -1)
    with np.errstate(over="ignore", invalid="ignore"):        # steps eta sigma > 2 may diverge later on
        for k in range(1, n + 1):
            w = w * (1 + eta * (sig - lam * w)) ** 2
            k_half = np.where((k_half < 0) & (w >= sig / lam / 2), k, k_half)
    return k_half


@pytest.fixture(scope="module")
def spectral_run():
    X, Y, Sx, Sxy, U, V = problem(LAM, SIG, seed=3)
    delta, eta = 30.0, 0.05
    net = lt.FullyConnected([5, 5, 5])
    run = lt.gradient_descent(net, lt.SquaredLoss(X, Y), spectral_params(U, V, np.exp(-delta)), eta, 1400)
    return dict(run=run, U=U, V=V, Sx=Sx, Sxy=Sxy, delta=delta, eta=eta)


@pytest.mark.claim("thm-ch4-sequential", kind="identity", tol="1e-10 rel")
def test_spectral_init_stays_aligned_and_balanced(spectral_run):
    r, U, V = spectral_run["run"], spectral_run["U"], spectral_run["V"]
    comps = np.einsum("dq,tdp,pr->tqr", U, r.theta, V)
    off = comps - np.einsum("tqq->tq", comps)[:, :, None] * np.eye(5)
    assert np.abs(off).max() < 1e-10 * np.abs(comps).max()
    D = r.params[1].transpose(0, 2, 1) @ r.params[1] - r.params[0] @ r.params[0].transpose(0, 2, 1)
    assert np.abs(D).max() < 1e-10


@pytest.mark.claim("thm-ch4-sequential", kind="prediction", tol="within 1 step")
def test_half_times_match_scalar_recursion(spectral_run):
    r, U, V = spectral_run["run"], spectral_run["U"], spectral_run["V"]
    comps = np.einsum("dq,tdp,pq->tq", U, r.theta, V)
    measured = (comps >= SIG / LAM / 2).argmax(axis=0)
    predicted = half_time_from_recursion(SIG, LAM, spectral_run["eta"], spectral_run["delta"], 1400)
    assert np.all(np.abs(measured - predicted) <= 1)


@pytest.mark.claim("thm-ch4-sequential", kind="prediction", tol="within 1.5 steps")
def test_jump_iterations_grow_like_delta_over_2_log():
    eta = 0.05
    k20 = half_time_from_recursion(SIG, LAM, eta, 20.0, 4000)
    k60 = half_time_from_recursion(SIG, LAM, eta, 60.0, 4000)
    slope = 40.0 / (2 * np.log1p(eta * SIG))          # the theorem: k = delta / (2 ln(1 + eta sigma)) + O(1)
    assert np.all(np.abs((k60 - k20) - slope) <= 1.5)
    assert np.allclose(lt.theory.jump_time(SIG, 40.0, eta), slope)
    assert np.allclose(lt.theory.jump_time(SIG, 40.0), 40.0 / (2 * SIG))
    assert np.all(lt.theory.jump_time(SIG, 40.0, eta) > lt.theory.jump_time(SIG, 40.0) / eta)


@pytest.mark.claim("thm-ch4-plateaus", kind="prediction", tol="5 % rel at mid-plateau")
def test_plateaus_equal_partial_sums(spectral_run):
    r, U, V, eta, delta = (spectral_run[k] for k in ("run", "U", "V", "eta", "delta"))
    k = delta / (2 * np.log1p(eta * SIG))                 # jump iterations, decreasing sigma order
    for rank in range(1, 5):
        mid = int(np.sqrt(k[rank - 1] * k[rank]))
        partial = (U[:, :rank] * (SIG / LAM)[:rank]) @ V[:, :rank].T
        assert np.linalg.norm(r.theta[mid] - partial) < 0.05 * np.linalg.norm(partial)
        # the rank-r minimiser of ||Sigma_x W - Sigma_xy||_F, by Eckart-Young on Z = Sigma_x W
        P, s, Qt = np.linalg.svd(spectral_run["Sxy"])
        ey = np.linalg.solve(spectral_run["Sx"], (P[:, :rank] * s[:rank]) @ Qt[:rank])
        assert np.allclose(ey, partial, atol=1e-10)
        assert np.allclose(lt.theory.plateau_solution(spectral_run["Sx"], spectral_run["Sxy"], rank), partial,
                           atol=1e-10)


@pytest.mark.claim("thm-ch4-plateaus", kind="prediction", tol="1e-10 abs")
@pytest.mark.parametrize("lam, sig, agree", [([1.0, 1.5, 2.0], [3.0, 2.0, 1.0], True),
                                              ([4.0, 1.0, 0.2], [2.0, 1.5, 1.0], False)])
def test_plateaus_vs_reduced_rank_regression(lam, sig, agree):
    lam, sig = np.array(lam), np.array(sig)
    X, Y, Sx, Sxy, U, V = problem(lam, sig, seed=5)
    plateau = (U[:, :1] * sig[0] / lam[0]) @ V[:, :1].T
    rrr = lt.theory.reduced_rank_regression(X, Y, 1)
    best = np.argmax(sig ** 2 / lam)                      # RRR keeps the largest sigma^2 / lambda
    assert np.allclose(rrr, sig[best] / lam[best] * np.outer(U[:, best], V[:, best]), atol=1e-10)
    assert np.allclose(rrr, plateau, atol=1e-10) == agree
    loss = lt.SquaredLoss(X, Y)
    assert loss.value(rrr) <= loss.value(plateau) + 1e-12


@pytest.mark.claim("thm-ch4-sequential", kind="sanity", tol="generic init, outside the hypotheses")
def test_ordering_by_sigma_from_generic_init():
    lam, sig = np.array([0.5, 2.0, 1.0]), np.array([2.0, 1.0, 0.5])
    X, Y, Sx, Sxy, U, V = problem(lam, sig, seed=7)
    net = lt.FullyConnected([3, 3, 3])
    params = net.init(np.exp(-12.0), seed=11, batch=4)   # four generic (Gaussian) small inits
    run = lt.gradient_descent(net, lt.SquaredLoss(X, Y), params, 0.05, 900, keep_params=False)
    comps = np.einsum("dq,tbdp,pq->tbq", U, run.theta, V)
    k_half = (comps >= sig / lam / 2).argmax(axis=0)
    assert np.all((comps >= sig / lam / 2).any(axis=0))
    assert np.all(np.diff(k_half, axis=-1) > 0)           # learned in decreasing order of sigma
    assert np.allclose(run.theta[-1], np.linalg.solve(Sx, Sxy), atol=1e-6)


@pytest.mark.claim("thm-ch4-linear", kind="prediction", tol="1e-12 abs; half times within 1 step")
def test_linear_model_time_scales_do_not_depend_on_delta():
    lam, sig = np.array([1.5, 1.0, 0.6]), np.array([2.0, 1.0, 0.5])
    X, Y, Sx, Sxy, U, V = problem(lam, sig, seed=2)
    eta, net, loss = 0.05, lt.FullyConnected([3, 3]), lt.SquaredLoss(X, Y)
    halves = []
    for delta in (5.0, 10.0, 20.0, 50.0):
        theta0 = np.exp(-delta) * U @ V.T
        run = lt.gradient_descent(net, loss, [theta0.T], eta, 200, keep_params=False)
        comps = np.einsum("dq,tdp,pq->tq", U, run.theta, V)
        k = np.arange(201)[:, None]
        closed = sig / lam - (sig / lam - np.exp(-delta)) * (1 - eta * lam) ** k
        assert np.allclose(comps, closed, atol=1e-12)
        halves.append((comps >= sig / lam / 2).argmax(axis=0))
    assert np.ptp(np.array(halves), axis=0).max() <= 1


@pytest.mark.claim("thm-ch4-linear", kind="prediction", tol="converges at 0.99 x 2/lambda_max, not at 1.01 x")
def test_linear_model_converges_iff_eta_below_2_over_lambda_max():
    """thm-ch4-linear: gradient descent on the linear model converges iff eta < 2/lambda_max; runs of the real
    model FullyConnected([3, 3]) just below and just above the threshold, computed from Sigma_x before the runs."""
    lam, sig = np.array([1.5, 1.0, 0.6]), np.array([2.0, 1.0, 0.5])
    X, Y, Sx, Sxy, U, V = problem(lam, sig, seed=2)
    threshold = 2 / np.linalg.eigvalsh(Sx).max()           # the theorem's threshold, from the data
    net, loss, ols = lt.FullyConnected([3, 3]), lt.SquaredLoss(X, Y), np.linalg.solve(Sx, Sxy)
    theta0 = np.exp(-5.0) * U @ V.T
    ends = {}
    for factor in (0.99, 1.01):
        run = lt.gradient_descent(net, loss, [theta0.T], factor * threshold, 3000, keep_params=False)
        ends[factor] = np.linalg.norm(run.theta[-1] - ols)
    assert ends[0.99] < 1e-8                               # converged: |1 - eta lambda_max| = 0.99
    assert ends[1.01] > 1e3                                # diverging: |1 - eta lambda_max| = 1.01, 1.01^3000 ~ 1e13


@pytest.mark.claim("thm-ch4-stepsize", kind="prediction", tol="exact thresholds")
def test_step_size_stability_and_overshoot():
    sig, lam = 1.3, 0.7
    etas = np.array([0.2, 0.35, 0.38, 0.5, 0.7, 0.76, 0.8, 0.9])
    w = lt.theory.mode_recursion(sig, lam, 1.0, 1e-3, 1)      # validates the call signature
    assert w.shape == (2,)
    ws = np.stack([lt.theory.mode_recursion(sig, lam, e, 1e-3, 3000) for e in etas], axis=-1)
    target = sig / lam
    converged = np.abs(ws[-1] - target) < 1e-6
    assert np.array_equal(converged, etas < 1 / sig)
    overshoot = (ws > target * (1 + 1e-12)).any(axis=0)
    assert np.array_equal(overshoot[converged], etas[converged] > 1 / (2 * sig))


@pytest.mark.claim("thm-ch4-igr", kind="prediction", tol="fitted orders 1 and 2 within 0.2")
def test_gd_tracks_modified_flow_to_second_order():
    X, Y, *_ = problem(np.array([1.5, 1.0, 0.6]), np.array([2.0, 1.0, 0.5]), seed=1)
    net, loss = lt.FullyConnected([3, 3, 3]), lt.SquaredLoss(X, Y)
    p0, T = net.init(0.3, seed=2), 2.0
    etas = np.array([0.1, 0.05, 0.025, 0.0125])
    def modified_flow(eta):
        field = lambda p: lt.theory.modified_loss_gradient(net, loss, p, eta)
        return lt.gradient_flow(net, loss, p0, [0.0, T], rtol=1e-11, atol=1e-13, gradient=field).theta[-1]

    plain = lt.gradient_flow(net, loss, p0, [0.0, T], rtol=1e-11, atol=1e-13).theta[-1]
    assert np.allclose(modified_flow(0.0), plain, atol=1e-8)
    e_flow, e_mod = [], []
    for eta in etas:
        n = int(round(T / eta))
        gd = lt.gradient_descent(net, loss, p0, eta, n, record_every=n, keep_params=False).theta[-1]
        e_flow.append(np.linalg.norm(gd - plain))
        e_mod.append(np.linalg.norm(gd - modified_flow(eta)))
    assert abs(np.polyfit(np.log(etas), np.log(e_flow), 1)[0] - 1) < 0.2
    assert abs(np.polyfit(np.log(etas), np.log(e_mod), 1)[0] - 2) < 0.2


def test_modified_loss_gradient_matches_finite_differences():
    X, Y, *_ = problem(np.array([1.5, 1.0, 0.6]), np.array([2.0, 1.0, 0.5]), seed=4)
    net, loss = lt.FullyConnected([3, 3, 3]), lt.SquaredLoss(X, Y)
    p, eta, h = net.init(0.5, seed=0), 0.1, 1e-6
    g = lt.theory.modified_loss_gradient(net, loss, p, eta)
    v = net.init(1.0, seed=1)
    fd = (lt.theory.modified_loss(net, loss, [a + h * b for a, b in zip(p, v)], eta)
          - lt.theory.modified_loss(net, loss, [a - h * b for a, b in zip(p, v)], eta)) / (2 * h)
    assert abs(fd - sum(np.sum(a * b) for a, b in zip(g, v))) < 1e-7


@pytest.mark.claim("thm-ch4-sequential", kind="identity", tol="exact staircase")
def test_staircase_and_validation():
    t = np.array([0.1, 0.2, 0.3, 0.6, 1.1, 2.1, 5.0])
    modes = lt.theory.staircase_path(t, SIG, LAM)
    assert np.array_equal((modes > 0).sum(axis=1), (t[:, None] > 1 / (2 * SIG)).sum(axis=1))
    with pytest.raises(ValueError, match="sigma"):
        lt.theory.mode_recursion(-1.0, 1.0, 0.1, 1e-3, 5)
    with pytest.raises(ValueError, match="eta"):
        lt.theory.jump_time(SIG, 10.0, eta=-0.1)
    with pytest.raises(ValueError, match="rank"):
        lt.theory.plateau_solution(np.eye(2), np.eye(2), 3)
    with pytest.raises(ValueError, match="assumption"):
        lt.theory.shared_bases(np.diag([1.0, 2.0]), np.array([[1.0, 1.0], [0.0, 1.0]]))


@pytest.mark.claim("lem-ch4-sharpness", kind="prediction", tol="1e-8 rel")
def test_sharpness_at_minimum_matches_gauss_newton_formula():
    rng = np.random.default_rng(8)
    lam, sig = rng.uniform(0.3, 2.0, 4), np.sort(rng.uniform(0.3, 3.0, 4))[::-1]
    X, Y, Sx, Sxy, U, V = problem(lam, sig, seed=9)
    w = sig / lam
    params = [np.sqrt(w)[:, None] * U.T, V * np.sqrt(w)]
    net, loss = lt.FullyConnected([4, 4, 4]), lt.SquaredLoss(X, Y)
    predicted = np.sort(np.concatenate([(lam[:, None] * (w[:, None] + w[None, :])).ravel(), np.zeros(16)]))
    H = lt.metrics.hessian(net, loss, params)             # lem-ch4-sharpness: the whole spectrum, then its top
    assert np.allclose(np.sort(np.linalg.eigvalsh(H)), predicted, atol=1e-8 * predicted.max())
    assert np.isclose(np.linalg.eigvalsh(H).max(), np.max(lam[:, None] * (w[:, None] + w[None, :])), rtol=1e-8)


@pytest.mark.claim("thm-ch4-sequential", kind="identity", tol="exact")
def test_staircase_discrete_thresholds():
    eta = 0.1
    tau = eta / (2 * np.log1p(eta * SIG))
    modes = lt.theory.staircase_path(np.array([tau[1] * 0.999, tau[1] * 1.001]), SIG, LAM, eta=eta)
    assert np.count_nonzero(modes[0]) == 1 and np.count_nonzero(modes[1]) == 2
    assert np.allclose(modes[1, :2], (SIG / LAM)[:2])


@pytest.mark.claim("thm-ch4-plateaus", kind="identity", tol="gradient < 1e-10")
def test_critical_points_are_stationary_and_contain_plateaus_and_rrr():
    rng = np.random.default_rng(12)
    X = rng.standard_normal((60, 4))
    Y = X @ rng.standard_normal((4, 3)) + 0.3 * rng.standard_normal((60, 3))
    Sx, Sxy = X.T @ X / 60, X.T @ Y / 60
    ols = np.linalg.solve(Sx, Sxy)
    vals, Q = np.linalg.eigh(Sxy.T @ ols)
    Q = Q[:, ::-1]
    net, loss = lt.FullyConnected([4, 3, 3]), lt.SquaredLoss(X, Y)
    for index in ([0], [2], [0, 2], [1, 2]):
        W = lt.theory.critical_point(Sx, Sxy, index)
        W1 = np.zeros((4, 3))
        W1[:, :len(index)] = ols @ Q[:, index]                 # data-matrix factors W1 (d, h), W2 (h, p)
        W2 = np.zeros((3, 3))
        W2[:len(index)] = Q[:, index].T
        assert np.allclose(W1 @ W2, W)
        grads = net.vjp([W1.T, W2.T], loss.grad(W))
        assert max(np.abs(g).max() for g in grads) < 1e-10
    assert np.allclose(lt.theory.critical_point(Sx, Sxy, [0, 1]), lt.theory.reduced_rank_regression(X, Y, 2))
    X, Y, Sx, Sxy, U, V = problem(np.array([4.0, 1.0, 0.2]), np.array([2.0, 1.5, 1.0]), seed=5)
    # sigma^2/lambda = (1, 2.25, 5): mode 1 (largest sigma) is the LAST eigen-direction
    assert np.allclose(lt.theory.critical_point(Sx, Sxy, [2]), lt.theory.plateau_solution(Sx, Sxy, 1), atol=1e-10)


@pytest.mark.claim("thm-ch4-sequential", kind="prediction", tol="inside the bracket")
def test_half_time_bracket_contains_measured_gd_half_times(spectral_run):
    """thm-ch4-sequential (2): A <= k_half < A + 1 + 1/(g ln g), g = 1 + eta sigma, A = (delta + ln(sigma/2lambda))/(2 ln g)."""
    eta, delta = spectral_run["eta"], spectral_run["delta"]
    g = 1 + eta * SIG
    lower = (delta + np.log(SIG / (2 * LAM))) / (2 * np.log(g))       # the theorem's bracket, before looking at GD
    upper = lower + 1 + 1 / (g * np.log(g))
    r, U, V = spectral_run["run"], spectral_run["U"], spectral_run["V"]
    measured = (np.einsum("dq,tdp,pq->tq", U, r.theta, V) >= SIG / LAM / 2).argmax(axis=0)
    assert np.all((lower <= measured) & (measured < upper))
    lo, hi = lt.theory.half_time_bounds(SIG, LAM, eta, delta)
    assert np.allclose(lo, lower) and np.allclose(hi, upper)


@pytest.mark.claim("thm-ch4-sequential", kind="prediction", tol="inside the bracket")
def test_half_time_bracket_for_random_modes_and_large_steps():
    rng = np.random.default_rng(21)
    sig, lam = rng.uniform(0.2, 4.0, 400), rng.uniform(0.2, 4.0, 400)
    eta, delta = rng.uniform(0.005, 2.5, 400) / sig, rng.uniform(3.0, 50.0, 400)   # up to eta sigma = 2.5
    keep = np.exp(-delta) < sig / (2 * lam)
    sig, lam, eta, delta = sig[keep], lam[keep], eta[keep], delta[keep]
    g = 1 + eta * sig
    lower = (delta + np.log(sig / (2 * lam))) / (2 * np.log(g))
    upper = lower + 1 + 1 / (g * np.log(g))
    k = half_time_from_recursion(sig, lam, eta, delta, int(upper.max()) + 2)
    assert np.all(k > 0) and np.all((lower <= k) & (k < upper))


def _mode_map(w, r):
    """The mode map in the rescaled variable u = lambda w / sigma, with r = eta sigma."""
    return w * (1 + r * (1 - w)) ** 2


@pytest.mark.claim("thm-ch4-stepsize", kind="prediction", tol="1e-9 rel")
def test_mode_map_stays_bounded_up_to_eta_sigma_2_from_the_invariant_interval():
    """thm-ch4-stepsize (3), bounded side: [0, 1 + 2/r] is invariant iff 4(1+r)^3/(27 r) <= 1 + 2/r iff r <= 2."""
    threshold = 2.0                                        # the theorem's exact threshold eta * sigma
    for r in (threshold - 1e-3, threshold):
        p = 1 + 2 / r                                      # third fixed point
        assert np.isclose(_mode_map(p, r), p)
        u = np.linspace(0.0, p, 200_001)
        assert _mode_map(u, r).max() <= p * (1 + 1e-12)    # the interval is invariant (checked on a fine grid)
        assert np.isclose(_mode_map(u, r).max(), max(4 * (1 + r) ** 3 / (27 * r), p), rtol=1e-8)
        orbit = lt.theory.mode_recursion(1.0, 1.0, r, np.array([0.01, 0.3, (1 + r) / (3 * r)]), 20_000)
        assert np.all(np.isfinite(orbit)) and orbit.max() <= p * (1 + 1e-9)
        assert lt.theory.mode_peak(1.0, 1.0, r) <= lt.theory.mode_invariant_interval(1.0, 1.0, r) * (1 + 1e-12)
    assert lt.theory.mode_divergence_threshold(1.7) == pytest.approx(threshold / 1.7)


@pytest.mark.claim("thm-ch4-stepsize", kind="prediction", tol="escape past 1e6")
def test_mode_map_diverges_just_above_eta_sigma_2():
    """thm-ch4-stepsize (3), unbounded side: for r > 2 the peak exceeds p and its neighbourhood escapes to infinity."""
    threshold = 2.0
    for eps in (1e-1, 1e-2, 1e-3):
        r = threshold + eps
        p, uc = 1 + 2 / r, (1 + r) / (3 * r)
        assert 0 < uc < 1 and _mode_map(uc, r) > p
        starts = uc + np.array([-1e-3, 0.0, 1e-3]) * eps  # an interval of starting points inside (0, w*)
        orbit = lt.theory.mode_recursion(1.0, 1.0, r, starts, 200)
        assert np.all(~(np.abs(orbit) < 1e6).all(axis=0))
        assert np.allclose(lt.theory.mode_peak(1.0, 1.0, r), 4 * (1 + r) ** 3 / (27 * r))
    # the generic orbit of the chapter, w0 = 0.01, also leaves: (r - 2)(2r + 5)^2 = 4(1+r)^3 - 27(r + 2)
    assert np.allclose(np.polymul([1, -2], np.polymul([2, 5], [2, 5])), np.polysub(4 * np.poly1d([1, 1]) ** 3, [27, 54]))
    w = lt.theory.mode_recursion(1.0, 1.0, threshold + 1e-3, 0.01, 5000)
    assert not np.all(np.abs(w) < 1e6)


def test_generic_init_half_times_follow_effective_mode_sizes():
    """Observed (not proved): from a generic small init, mode i starts at the squared norm of the part of
    s_i = (W1 u_i + W2^T v_i)/2 orthogonal to s_1..s_{i-1}; the exact recursion from there gives its half-time."""
    X, Y, Sx, Sxy, U, V = problem(LAM, SIG, seed=3)
    net, eta = lt.FullyConnected([5, 5, 5]), 0.05
    params = net.init(np.exp(-14.0) / np.sqrt(5), seed=17, batch=4)
    W1, W2 = params
    s = (np.einsum("bhd,dq->bqh", W1, U) + np.einsum("bmh,mq->bqh", W2, V)) / 2
    w_eff = np.empty((4, 5))
    for b in range(4):                                     # Gram-Schmidt, computed here independently
        basis = []
        for i in range(5):
            v = s[b, i] - sum((e @ s[b, i]) * e for e in basis)
            w_eff[b, i] = v @ v
            basis.append(v / np.linalg.norm(v))
    assert np.allclose(lt.theory.effective_mode_sizes(params, U, V), w_eff, rtol=1e-10)
    predicted = np.array([half_time_from_recursion(SIG, LAM, eta, -np.log(w_eff[b]), 2500) for b in range(4)])
    run = lt.gradient_descent(net, lt.SquaredLoss(X, Y), params, eta, 2500, keep_params=False)
    measured = (np.einsum("dq,tbdp,pq->tbq", U, run.theta, V) >= SIG / LAM / 2).argmax(axis=0)
    assert np.all(np.abs(measured - predicted) <= 2)


def test_new_functions_validate_their_arguments():
    with pytest.raises(ValueError, match="delta"):
        lt.theory.half_time_bounds(1.0, 1.0, 0.1, 0.1)          # exp(-0.1) is above the half level 0.5
    with pytest.raises(ValueError, match="eta"):
        lt.theory.mode_peak(1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="sigma"):
        lt.theory.mode_divergence_threshold(-1.0)
    with pytest.raises(ValueError, match="params"):
        lt.theory.effective_mode_sizes([np.eye(2)], np.eye(2), np.eye(2))
    with pytest.raises(ValueError, match="shapes"):
        lt.theory.effective_mode_sizes([np.eye(3), np.eye(3)], np.eye(2), np.eye(2))


@pytest.mark.claim("thm-ch4-plateaus", kind="prediction", tol="1e-10 abs")
@pytest.mark.parametrize("lam, sig", [([1.0, 1.5, 2.0], [3.0, 2.0, 1.0]), ([4.0, 1.0, 0.2], [2.0, 1.5, 1.0]),
                                      ([1.0, 4.0, 0.2], [3.0, 2.0, 1.0])])
def test_plateau_loss_gap_to_rrr(lam, sig):
    """thm-ch4-plateaus (1)-(3): L(W^(r)) = L(0) - (1/2) sum_{i<=r} sigma_i^2/lambda_i, and the gap to rank-r RRR is
    (1/2)(sum of the r largest sigma^2/lambda - sum over the r largest sigma), strictly positive iff the sets differ."""
    lam, sig = np.array(lam), np.array(sig)
    X, Y, Sx, Sxy, U, V = problem(lam, sig, seed=6)
    loss = lt.SquaredLoss(X, Y)
    ratio = sig ** 2 / lam
    for r in (1, 2):
        plateau = lt.theory.plateau_solution(Sx, Sxy, r)
        rrr = lt.theory.reduced_rank_regression(X, Y, r)
        predicted_gap = 0.5 * (np.sort(ratio)[::-1][:r].sum() - ratio[:r].sum())
        assert np.isclose(loss.value(plateau), loss.value(np.zeros_like(plateau)) - 0.5 * ratio[:r].sum())
        assert np.isclose(loss.value(plateau) - loss.value(rrr), predicted_gap, atol=1e-10)
        assert (predicted_gap > 1e-9) == (set(np.argsort(-ratio)[:r]) != set(range(r)))


@pytest.mark.claim("thm-ch4-plateaus", kind="prediction", tol="1e-8 abs")
def test_plateaus_are_strict_saddles_below_full_rank_and_the_minimum_at_full_rank():
    """thm-ch4-plateaus (1): at the balanced factors of W^(r) the gradient vanishes; for r < d the Hessian has an
    eigenvalue <= -sigma_{r+1} (the unused hidden unit turned towards mode r+1), for r = d it is positive semidefinite."""
    lam, sig = np.array([1.0, 1.5, 2.0]), np.array([3.0, 2.0, 1.0])
    X, Y, Sx, Sxy, U, V = problem(lam, sig, seed=0)
    net, loss = lt.FullyConnected([3, 3, 3]), lt.SquaredLoss(X, Y)
    for r in (1, 2, 3):
        w = np.where(np.arange(3) < r, sig / lam, 0.0)
        p = spectral_params(U, V, w)
        grads = net.vjp(p, loss.grad(net.end_to_end(p)))
        assert max(np.abs(g).max() for g in grads) < 1e-10
        bound = -sig[r] if r < 3 else 0.0                   # the proof's direction, before the Hessian is computed
        smallest = np.linalg.eigvalsh(lt.metrics.hessian(net, loss, p)).min()
        assert smallest <= bound + 1e-8 if r < 3 else smallest >= -1e-8
        assert np.isclose(smallest, bound, atol=1e-8)       # observed: the bound is the smallest eigenvalue


def _rescaled_map(z, rho):
    return z * (1 + rho * (1 - z)) ** 2


@pytest.mark.claim("prop-ch4-period-doubling", kind="prediction", tol="1e-9 abs (cycle), 2e-3 abs (exponents)")
def test_two_cycle_closed_form_and_its_loss_of_stability():
    """The 2-cycle z = (1 + rho +- sqrt((rho-1)(rho+3)))/(2 rho), multiplier 7 - 4 rho - 2 rho^2, stable on
    (1, sqrt5 - 1); the fixed point's exponent ln|1 - 2 rho| below 1 and the cycle's half log multiplier above."""
    rho2 = np.sqrt(5.0) - 1                                  # predicted second period doubling
    for rho in (1.05, 1.15, 1.2, 1.23):
        root = np.sqrt((rho - 1) * (rho + 3))
        zm, zp = (1 + rho - root) / (2 * rho), (1 + rho + root) / (2 * rho)
        assert np.isclose(_rescaled_map(zm, rho), zp) and np.isclose(_rescaled_map(zp, rho), zm)
        dF = lambda z: (1 + rho - rho * z) * (1 + rho - 3 * rho * z)
        assert np.isclose(dF(zm) * dF(zp), 7 - 4 * rho - 2 * rho ** 2)
        assert np.allclose(lt.theory.one_mode_two_cycle(rho), (zm, zp, 7 - 4 * rho - 2 * rho ** 2))
    rhos = np.array([0.3, 0.8, 0.95, 1.1, 1.2, 1.23, rho2 + 0.005, rho2 + 0.03])
    points, lyap = lt.theory.one_mode_orbit_diagram(rhos, n_transient=20_000, n_keep=64, n_average=64_000)
    zm, zp, mult = lt.theory.one_mode_two_cycle(np.maximum(rhos, 1.0))
    predicted = np.where(rhos < 1, np.log(np.abs(1 - 2 * rhos)), 0.5 * np.log(np.abs(mult)))
    two = (rhos > 1) & (rhos < rho2)
    assert np.allclose(lyap[~two & (rhos < 1)], predicted[~two & (rhos < 1)], atol=2e-3)
    assert np.allclose(lyap[two], predicted[two], atol=2e-3)
    for j in np.flatnonzero(two):                             # the attractor is the predicted cycle
        assert np.allclose(np.sort(np.unique(points[:, j].round(9))), [zm[j], zp[j]], atol=1e-9)
    for j in np.flatnonzero(rhos > rho2):                     # past sqrt5 - 1 the orbit has period 4, not 2
        assert np.abs(points[2:, j] - points[:-2, j]).max() > 1e-3
        assert np.abs(points[4:, j] - points[:-4, j]).max() < 1e-8


@pytest.mark.claim("prop-ch4-chebyshev", kind="identity", tol="1e-14 abs")
def test_mode_map_at_eta_sigma_2_is_chebyshev_t3():
    x = np.linspace(-1, 1, 4001)
    assert np.abs(1 - _rescaled_map(1 - x, 2.0) - (4 * x ** 3 - 3 * x)).max() < 1e-14
    assert np.abs(1 - lt.theory.one_mode_map(1 - x, 2.0) - np.cos(3 * np.arccos(x))).max() < 1e-13


@pytest.mark.claim("prop-ch4-chebyshev", kind="prediction", tol="1e-3 abs (exponent), 0.01 (KS distance)")
def test_chebyshev_orbit_has_arcsine_statistics_and_exponent_ln3():
    """At eta sigma = 2: a long orbit is distributed with the arcsine density 1/(pi sqrt(1 - x^2)), x = 1 - z, and
    its Lyapunov exponent is ln 3 (computed from the conjugacy before iterating)."""
    points, lyap = lt.theory.one_mode_orbit_diagram(np.array([2.0]), z0=0.01, n_transient=100,
                                                    n_keep=200_000, n_average=200_000)
    assert abs(lyap[0] - np.log(3)) < 1e-3
    x = np.sort(1 - points[:, 0])
    arcsine_cdf = 0.5 + np.arcsin(np.clip(x, -1, 1)) / np.pi
    assert np.abs(arcsine_cdf - np.arange(1, x.size + 1) / x.size).max() < 0.01
    uniform_cdf = (x + 1) / 2                              # a wrong density is rejected by the same check
    assert np.abs(uniform_cdf - np.arange(1, x.size + 1) / x.size).max() > 0.05


@pytest.mark.claim("conj-ch4-escape-law", kind="prediction", tol="8% rel (median over 4000 starts)")
def test_escape_time_law_just_above_eta_sigma_2():
    """Median escape time at eta sigma = 2 + eps is ln 2 * pi sqrt 3 / (2 sqrt eps), predicted from the hole's
    arcsine mass before iterating; 4000 uniform starts in (0, 1) per eps."""
    eps = np.array([1e-3, 1e-4, 1e-5])
    predicted = np.log(2) * np.pi * np.sqrt(3) / (2 * np.sqrt(eps))
    assert np.allclose(lt.theory.one_mode_escape_time_law(eps), predicted)
    starts = np.random.default_rng(0).uniform(0.0, 1.0, 4000)
    times = lt.theory.one_mode_escape_times(2 + eps[:, None], starts[None, :], 100_000)
    assert np.all(times > 0)
    median = np.median(times, axis=1)
    assert np.allclose(median, predicted, rtol=0.08)
    slope = np.polyfit(np.log(eps), np.log(median), 1)[0]
    assert abs(slope + 0.5) < 0.03


def _staircase_gap(delta, sig, eta, t_max):
    n = int(t_max * delta / eta)
    w = lt.theory.mode_recursion(sig, sig, eta, np.exp(-delta), n)
    t = eta * np.arange(n + 1) / delta
    return np.mean(np.abs(w - lt.theory.staircase_path(t, sig, sig, eta=eta)).sum(axis=1))


@pytest.mark.claim("cor-ch4-staircase-rate", kind="prediction", tol="slope -1 +- 0.05")
@pytest.mark.claim("cor-ch4-staircase-rate", kind="sanity", tol="the weak lower bound c_i, about 100x below")
def test_distance_to_staircase_decays_like_one_over_delta():
    sig, eta = np.array([2.0, 1.0, 0.5, 0.25]), 0.02
    deltas = np.array([50.0, 100.0, 200.0, 400.0])
    gaps = np.array([_staircase_gap(dl, sig, eta, 3.0) for dl in deltas])
    slope = np.polyfit(np.log(deltas), np.log(gaps), 1)[0]
    assert abs(slope + 1) < 0.05
    assert np.ptp(gaps * deltas) < 0.1 * (gaps * deltas).mean()
    lower = eta / 3.0 * np.sum(1 / (2 * (1 + eta * sig) ** 2))   # the corollary's c_i, averaged over [0, 3]
    assert np.all(gaps * deltas >= lower)


def test_one_mode_functions_validate_their_arguments():
    with pytest.raises(ValueError, match="rho"):
        lt.theory.one_mode_two_cycle(0.9)
    with pytest.raises(ValueError, match="rho"):
        lt.theory.one_mode_orbit_diagram(np.array([-1.0]))
    with pytest.raises(ValueError, match="z0"):
        lt.theory.one_mode_orbit_diagram(np.array([1.0]), z0=-0.1)
    with pytest.raises(ValueError, match="n_average"):
        lt.theory.one_mode_orbit_diagram(np.array([1.0]), n_keep=10, n_average=5)
    with pytest.raises(ValueError, match="z0"):
        lt.theory.one_mode_escape_times(2.1, -0.5, 10)
    with pytest.raises(ValueError, match="quantile"):
        lt.theory.one_mode_escape_time_law(1e-3, quantile=1.0)
    assert lt.theory.one_mode_escape_times(2.1, 2e3, 10) == 0


@pytest.mark.claim("prop-ch4-staircase-constant", kind="prediction", tol="1% rel (GD at eta = 0.002 for the flow)")
def test_staircase_distance_constant_matches_the_logistic_integral():
    """prop-ch4-staircase-constant: delta * int_0^T |w(tau) - staircase(tau)| dtau -> (1/lambda) ln(sqrt(s/l) + sqrt(l/s)),
    computed before the recursions; gradient descent with a small step stands in for the flow (it is O(eta) away).
    Modes with sigma != lambda test the ln cosh term: ln 2 / sigma alone would be 24% off for (2, 0.5)."""
    sig, lam = np.array([2.0, 0.5, 1.0, 3.0]), np.array([0.5, 2.0, 1.0, 1.0])
    predicted = np.log(np.sqrt(sig / lam) + np.sqrt(lam / sig)) / lam
    assert np.allclose(lt.theory.staircase_distance_constant(sig, lam), predicted)
    assert np.allclose(lt.theory.staircase_distance_constant(sig, sig), np.log(2) / sig)
    eta, delta, T = 0.002, 100.0, 1.5                      # T > max_i 1/(2 sigma_i) = 1
    n = int(T * delta / eta)
    w = lt.theory.mode_recursion(sig, lam, eta, np.exp(-delta), n)
    steps = lt.theory.staircase_path(eta * np.arange(n + 1) / delta, sig, lam, eta=eta)
    measured = eta * np.abs(w - steps).sum(axis=0)          # delta * integral: each iteration lasts eta/delta
    assert np.allclose(measured, predicted, rtol=0.01)
    # the autoencoder of Figure 2 at its own step eta = 0.02: the flow's constant, to within the finite-step effect
    sig_ae = np.array([2.0, 1.0, 0.5, 0.25])
    gap = _staircase_gap(400.0, sig_ae, 0.02, 3.0) * 400.0
    assert np.isclose(gap, np.sum(np.log(2) / sig_ae) / 3.0, rtol=0.01)
