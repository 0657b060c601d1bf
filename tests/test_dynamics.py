"""Simulators against closed forms, conservation laws and exact per-step identities."""

import numpy as np
import pytest

import lintheory as lt


def test_gradient_flow_matches_saxe_modes():
    s = np.array([3.0, 1.5, 0.5])
    X, Y = lt.data.aligned_regression(np.ones(3), s, n=8, rotate=False, seed=0)
    net = lt.FullyConnected([3, 3, 3])
    a0 = np.array([1e-3, 2e-3, 5e-3])
    params = [np.diag(np.sqrt(a0)), np.diag(np.sqrt(a0))]          # balanced, decoupled
    t = np.linspace(0, 12, 49)
    tr = lt.gradient_flow(net, lt.SquaredLoss(X, Y), params, t, rtol=1e-12, atol=1e-14)
    modes = np.diagonal(tr.theta, axis1=1, axis2=2)
    expected = lt.theory.saxe_mode(t[:, None], s, a0)
    assert np.max(np.abs(modes - expected)) < 1e-8
    off = tr.theta - modes[:, :, None] * np.eye(3)
    assert np.max(np.abs(off)) < 1e-10


@pytest.mark.claim("thm-intro-example", kind="prediction", tol="1e-8 abs")
def test_imbalance_conserved_along_long_gradient_flow():
    X, Y = lt.data.underdetermined_regression(5, 12, 3, seed=1)
    net = lt.FullyConnected([12, 8, 6, 3])
    params = net.init(0.6, seed=2)
    tr = lt.gradient_flow(net, lt.SquaredLoss(X, Y), params, np.geomspace(1e-2, 200, 40))
    assert tr.loss[-1] < 1e-6 * tr.loss[0]
    D0 = lt.metrics.imbalance(params)
    for k, Dk in enumerate(lt.metrics.imbalance(tr.params)):
        assert np.max(np.abs(Dk - D0[k])) < 1e-8


@pytest.mark.claim("thm-ch3-balance", kind="prediction", tol="1e-8 abs")
def test_norm_imbalance_conserved_for_diagonal_and_convolutional():
    for net in (lt.Diagonal(6, 3), lt.Convolutional(6, 3)):
        X, y = lt.data.underdetermined_regression(3, 6, seed=3)
        p0 = net.init(0.5, seed=4)
        tr = lt.gradient_flow(net, lt.SquaredLoss(X, y), p0, np.linspace(0, 30, 7))
        drift = lt.metrics.norm_imbalance(tr.params, 1) - lt.metrics.norm_imbalance(p0, 1)
        assert np.max(np.abs(drift)) < 1e-8


def test_gradient_descent_imbalance_drift_is_exactly_eta_squared_term():
    X, Y = lt.data.underdetermined_regression(4, 7, 2, seed=5)
    net, loss, eta = lt.FullyConnected([7, 5, 4, 2]), lt.SquaredLoss(X, Y), 0.05
    params = net.init(0.5, seed=6)
    tr = lt.gradient_descent(net, loss, params, eta, 30)
    for k in range(30):
        p = [w[k] for w in tr.params]
        G = net.vjp(p, loss.grad(net.end_to_end(p)))
        before = lt.metrics.imbalance(p)
        after = lt.metrics.imbalance([w[k + 1] for w in tr.params])
        for j in range(len(G) - 1):
            predicted = eta ** 2 * (G[j + 1].T @ G[j + 1] - G[j] @ G[j].T)
            assert np.max(np.abs(after[j] - before[j] - predicted)) < 1e-13 * max(1.0, np.abs(before[j]).max())
            assert np.abs(predicted).max() > 1e-8      # the drift itself is not negligible


def test_gradient_descent_converges_at_the_linear_rate_for_depth_one():
    X, y = lt.data.overdetermined_regression(20, 4, seed=7)
    net, loss = lt.FullyConnected([4, 1]), lt.SquaredLoss(X, y)
    tr = lt.gradient_descent(net, loss, [np.zeros((1, 4))], 0.1, 200, record_every=50)
    w_star = lt.theory.min_norm_solution(X, y)
    lam = np.linalg.eigvalsh(X.T @ X / 20)
    bound = np.max(np.abs(1 - 0.1 * lam)) ** 200 * np.linalg.norm(w_star)
    assert np.linalg.norm(tr.theta[-1] - w_star) <= bound * (1 + 1e-9)
    assert list(tr.t) == [0, 50, 100, 150, 200]


def test_divergence_is_reported_with_finite_history():
    X, y = lt.data.overdetermined_regression(30, 3, seed=8)
    net, loss = lt.FullyConnected([3, 3, 1]), lt.SquaredLoss(X, y)
    params = net.init(0.5, seed=9)
    S = lt.metrics.sharpness(net, loss, params)
    tr = lt.gradient_descent(net, loss, params, 20 / S, 1000)
    assert tr.diverged is not False and 0 < tr.diverged < 1000
    assert np.all(np.isfinite(tr.loss)) and np.all(np.isfinite(tr.theta))
    assert tr.t[-1] == tr.diverged - 1 and "non-finite" in tr.message
    assert all(np.all(np.isfinite(p)) for p in tr.final_params)
    for final, rec in zip(tr.final_params, tr.params):     # rolled back to the state before the step
        np.testing.assert_array_equal(final, rec[-1])      # that diverged: the last record


def test_batched_descent_equals_separate_runs_and_isolates_divergence():
    X, y = lt.data.overdetermined_regression(30, 3, seed=10)
    net, loss = lt.FullyConnected([3, 3, 1]), lt.SquaredLoss(X, y)
    batch = net.init(0.5, seed=11, batch=3)
    batch[0][2] *= 30                       # one member starts far out and diverges
    tr = lt.gradient_descent(net, loss, batch, 0.05, 200, record_every=10)
    assert list(tr.diverged) == [False, False, True]
    for i in range(2):
        one = lt.gradient_descent(net, loss, [p[i] for p in batch], 0.05, 200, record_every=10)
        assert np.allclose(one.loss, tr.loss[:, i], rtol=1e-12)
    assert np.all(np.isnan(tr.loss[-1, 2]))


@pytest.mark.parametrize("normalize", [None, "loss", "gradient"])
@pytest.mark.parametrize("net", [lt.FullyConnected([3, 4, 4, 1]), lt.Residual(3, 3), lt.Diagonal(3, 3)],
                         ids=["fully-connected", "residual", "diagonal"])
def test_gradient_descent_iterates_equal_the_textbook_update(net, normalize):
    """The fused simulator (buffers, step folded into the loss gradient) against p <- p - eta_k grad,
    step by step (over many steps, round-off differences are amplified by the dynamics itself)."""
    X, y = lt.data.separable_classification(12, 3, margin=0.2, seed=5)
    loss = lt.LogisticLoss(X, y)
    params = net.init(0.4, seed=6, batch=2)
    run = lt.gradient_descent(net, loss, params, 0.05, 25, normalize=normalize)
    for k in range(25):                     # each recorded step from the one before it
        p = [rec[k] for rec in run.params]
        theta = net.end_to_end(p)
        grads = net.vjp(p, loss.grad(theta))
        eta = np.full(2, 0.05)
        if normalize == "loss":
            eta = eta / loss.value(theta)
        elif normalize == "gradient":
            eta = eta / np.sqrt(sum(np.sum(g.reshape(2, -1) ** 2, axis=-1) for g in grads))
        p = [a - eta.reshape((2,) + (1,) * (a.ndim - 1)) * g for a, g in zip(p, grads)]
        for rec, a in zip(run.params, p):
            np.testing.assert_allclose(rec[k + 1], a, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("normalize", [None, "loss", "gradient"])
def test_a_member_with_an_infinite_gradient_keeps_finite_parameters(normalize):
    X, y = lt.data.separable_classification(10, 2, margin=0.2, seed=3)
    net, loss = lt.FullyConnected([2, 1]), lt.ExponentialLoss(X, y)
    w = lt.theory.l2_max_margin(X, y)
    params = [np.stack([0.1 * w, -800.0 * w])[:, None, :]]     # member 1: exp(800 * margin) overflows
    run = lt.gradient_descent(net, loss, params, 0.1, 20, normalize=normalize)
    assert list(run.diverged_step) == [-1, 0]
    np.testing.assert_array_equal(run.final_params[0][1], params[0][1])   # never moved, still finite
    assert np.isfinite(run.loss[-1, 0]) and np.isnan(run.loss[-1, 1])


def test_normalized_gradient_descent_on_separable_data_drives_loss_to_zero():
    X, y = lt.data.separable_classification(20, 3, margin=0.3, seed=12)
    net = lt.FullyConnected([3, 1])
    tr = lt.gradient_descent(net, lt.ExponentialLoss(X, y), [np.zeros((1, 3))], 0.5, 2000,
                             normalize="loss", record_every=500)
    assert np.all(np.diff(tr.loss) < 0) and tr.loss[-1] < 1e-6


def test_gradient_flow_reports_where_the_gradient_stops_being_finite():
    class Broken(lt.SquaredLoss):
        """A loss whose gradient turns NaN once the predictor is large."""
        def value_and_grad(self, theta):
            value, g = super().value_and_grad(theta)
            return value, np.where(np.linalg.norm(theta) > 0.5, np.nan, g)

    X, y = lt.data.overdetermined_regression(10, 2, seed=13)
    net = lt.FullyConnected([2, 2, 1])
    with pytest.raises(RuntimeError, match="stopped being finite at t = "):
        lt.gradient_flow(net, Broken(X, y), net.init(0.1, seed=0), [0, 50])


def _stiff_regression(scales):
    """Depth-1 least squares with columns scaled by ``scales`` and its exact flow (issue 28, N10)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3)) * np.asarray(scales)
    y = X @ np.array([1.0, -1.0, 0.5]) + 0.1 * rng.standard_normal(20)
    net, loss = lt.FullyConnected([3, 1]), lt.SquaredLoss(X, y)
    p = net.init(0.5, seed=0)
    sigma = X.T @ X / 20                         # half-mean loss: theta' = -sigma (theta - w*)
    w = np.linalg.solve(sigma, X.T @ y / 20)
    lam, U = np.linalg.eigh(sigma)
    theta0 = net.end_to_end(p)
    exact = lambda t: w + U @ (np.exp(-lam * t) * (U.T @ (theta0 - w)))
    return net, loss, p, lam, exact


def test_a_stiff_flow_with_an_explicit_method_recommends_an_implicit_one(monkeypatch):
    """Rates from 6e-5 to 1.3e4: DOP853's steps are held by stability. The hint is checked from 500
    evaluations here (50,000 by default), and the recommended LSODA needs far fewer evaluations on the
    same problem, both accurate against the closed form."""
    from lintheory.dynamics import flow

    monkeypatch.setattr(flow, "_STIFF_NFEV", 500)
    net, loss, p, lam, exact = _stiff_regression([1e2, 1.0, 1e-2])
    assert lam[-1] / lam[0] > 1e8
    t_eval = np.array([0.0, 1.0])
    with pytest.warns(RuntimeWarning, match=r"explicit method 'DOP853': the problem is stiff.*method='LSODA'"):
        slow = lt.gradient_flow(net, loss, p, t_eval)
    assert "stiff" in slow.message
    fast = lt.gradient_flow(net, loss, p, t_eval, method="LSODA")
    assert fast.stats["nfev"] * 10 < slow.stats["nfev"]
    for run in (slow, fast):
        np.testing.assert_allclose(run.theta[-1], exact(1.0), rtol=1e-7)


def test_a_well_conditioned_flow_gets_no_stiffness_hint(monkeypatch):
    from lintheory.dynamics import flow

    monkeypatch.setattr(flow, "_STIFF_NFEV", 1)                # checked, and found not stiff
    net, loss, p, _, exact = _stiff_regression([1.0, 1.0, 1.0])
    run = lt.gradient_flow(net, loss, p, [0.0, 1.0])
    assert "stiff" not in run.message
    np.testing.assert_allclose(run.theta[-1], exact(1.0), rtol=1e-8)


def test_records_that_cannot_fit_in_memory_are_refused_before_any_allocation():
    net, loss, p, _, _ = _stiff_regression([1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"n_steps=1000000000000 with record_every=10 asks for "
                                         r"100,000,000,001 records of 7 numbers"):
        lt.gradient_descent(net, loss, p, 0.1, 10**12, record_every=10)
    with pytest.raises(ValueError, match=r"records of 4 numbers"):    # theta and loss only
        lt.stochastic_gradient_descent(net, loss, p, 0.1, 10**12, batch_size=2, seed=0, keep_params=False)
