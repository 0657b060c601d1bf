"""Theorem tests of section 2d (initialization scale against training accuracy in classification).

Every prediction is computed before the flow is run, from the initial state or the data alone. Which check
catches a wrong clock, wrong labels, a wrong field direction or a wrong dual map is tested by
test_each_orthogonal_check_catches_its_own_mutant.
"""

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import logsumexp

import lintheory as lt
from lintheory.logflow import last_crossing, log_loss_flow
from lintheory.theory import classification_scale as cs


def _data(n=10, d=20, seed=0):
    X, y = lt.data.separable_classification(n, d, margin=0.5, seed=seed)
    return X / np.linalg.norm(X, axis=1, keepdims=True), y


def _orthogonal_run(L, s, alpha=1.5):
    """Orthogonal samples z_i = c_i e_i with labels of both signs (x_i = y_i c_i e_i), run to the losses e^-s."""
    scales, y = np.array([1.0, 0.7, 0.4]), np.array([1.0, -1.0, 1.0])
    X = np.diag(y * scales)
    return X, y, scales, log_loss_flow(X, y, alpha, L, s, rtol=1e-12, atol=1e-14)


def _orthogonal_checks(X, y, scales, run, L, alpha=1.5):
    """The two checks of the orthogonal case, each with what it can catch.

    spread: the largest absolute spread of log t across samples (lintheory.theory.orthogonal_log_time, by
    quadrature). It tests the integrator and the direction of the field dlam/ds (the ratios
    dlam_i/dlam_j = e^-c_i phi(c_i lam_i) / e^-c_j phi(c_j lam_j)); it is blind to a positive factor on the
    field (that only re-times the path) and to a wrong phi (the flow and the quadrature share dual_map).
    clock: the largest |log(1/L(theta))/s - 1|, with the loss written out here from X and y (not through
    lintheory's signed inputs): it tests the denominator of dlam/ds, i.e. that s is log(1/loss), and the
    handling of the labels. The dual map phi itself is pinned by the comparison with lt.gradient_flow
    (tests/test_classification_scale.py::test_log_loss_flow_follows_gradient_flow_on_the_parameters)."""
    spread = max(np.ptp(cs.orthogonal_log_time(scales, lam, alpha, L)) for lam in run.lam)
    margins = y[:, None] * (X @ run.theta.T)                        # (n, T)
    log_inv = np.log(len(y)) - logsumexp(-margins, axis=0)
    return spread, np.max(np.abs(log_inv / run.s - 1))


@pytest.mark.claim("prop-ch2d-logflow", kind="prediction", tol="absolute spread of log t < 1e-7, down to loss 1e-13000")
@pytest.mark.claim("prop-ch2d-logflow", kind="identity", tol="|log(1/L(theta))/s - 1| < 1e-8")
@pytest.mark.parametrize("L", [2, 3])
def test_log_domain_flow_on_orthogonal_data_reaches_every_sample_at_the_same_time(L):
    """Orthogonal samples decouple in time: t = n int_0^lam_i exp(c_i phi(c_i k)) dk for each i (quadrature, in
    the log domain). The log-domain flow never sees t; at each recorded loss its dual variables must give one
    and the same log t for all samples (prediction: the quadrature's relative accuracy 1e-10 on the integral
    is 1e-10 absolute on log t; the bound 1e-7 leaves room for the integrator's rtol 1e-12 on lam, which
    f'(lam) ~ 2 c s amplifies). The recorded theta must have log(1/loss) = s (identity of item 2: holds for
    the correct field along any run). See _orthogonal_checks for what each check can and cannot catch, and
    test_each_orthogonal_check_catches_its_own_mutant for the proof that they can fail."""
    s = np.array([1.0, 10.0, 1e2, 1e3, 1e4, 3e4])             # loss down to e^-30000 = 10^-13029
    X, y, scales, run = _orthogonal_run(L, s)
    spread, clock = _orthogonal_checks(X, y, scales, run, L)
    assert spread < 1e-7, spread
    assert clock < 1e-8, clock
    assert run.s[-1] / np.log(10) > 13000


@pytest.mark.claim("prop-ch2d-logflow", kind="sanity", tol="each mutant fails its own check by >= 1e4 x its tolerance")
@pytest.mark.parametrize("mutant", ["clock x 2", "labels ignored", "field direction", "phi -> 3 phi(2 nu)"])
def test_each_orthogonal_check_catches_its_own_mutant(mutant, monkeypatch):
    """The checks can fail. Mutants of lintheory.logflow: the field halved ('clock x 2': dlam/ds off by a
    positive factor) fails the clock only; the labels dropped from Z = diag(y) X fails the clock only; the
    field's direction tilted (dlam_i/ds multiplied by 1 + i/2) fails the spread (and the clock); a wrong dual map
    (phi -> 3 phi(2 nu), consistently in the flow and the quadrature) passes both orthogonal checks and fails
    the comparison with lt.gradient_flow on the network parameters."""
    import lintheory.logflow as lf
    from lintheory.theory import max_margin
    L, s = 2, np.array([1.0, 10.0, 1e2, 1e3])
    if mutant in ("clock x 2", "field direction"):
        field = lf._vector_field
        factor = 0.5 if mutant == "clock x 2" else 1.0 + 0.5 * np.arange(3)

        def mutated(Z, alpha, depth, loss):
            rhs, jac = field(Z, alpha, depth, loss)
            return (lambda t, lam: factor * rhs(t, lam)), (lambda t, lam: factor[:, None] * jac(t, lam)
                                                          if np.ndim(factor) else factor * jac(t, lam))
        monkeypatch.setattr(lf, "_vector_field", mutated)
    elif mutant == "labels ignored":
        monkeypatch.setattr(lf, "_signed_inputs", lambda X, y: np.asarray(X, dtype=float))
        monkeypatch.setattr(max_margin, "_signed_inputs", lambda X, y: np.asarray(X, dtype=float))
    else:
        true = cs.dual_map

        def wrong(nu, alpha, L, second=False):
            out = true(2 * np.asarray(nu, dtype=float), alpha, L, second=second)
            return tuple(k * o for k, o in zip((3.0, 6.0, 12.0), out))
        monkeypatch.setattr(cs, "dual_map", wrong)
        monkeypatch.setattr(lf, "dual_map", wrong)
    X, y, scales, run = _orthogonal_run(L, s)
    spread, clock = _orthogonal_checks(X, y, scales, run, L)
    if mutant == "field direction":
        assert spread > 1e-3, (spread, clock)                         # (the clock fails as well)
    elif mutant == "phi -> 3 phi(2 nu)":
        assert spread < 1e-7 and clock < 1e-8, (spread, clock)       # blind to phi: the next check is not
        Xg, yg = _data(8, 12)
        params = [np.full(12, 0.8), np.zeros(12)]
        ref = lt.gradient_flow(lt.Diagonal(12, 2), lt.ExponentialLoss(Xg, yg), params, [5.0, 20.0],
                               rtol=1e-12, atol=1e-14)
        mutated = log_loss_flow(Xg, yg, 0.8, 2, -np.log(ref.loss), rtol=1e-12, atol=1e-14)
        assert np.max(np.abs(mutated.theta - ref.theta)) > 1e-2 * np.max(np.abs(ref.theta))
    else:
        assert spread < 1e-7 and clock > 1e-4, (spread, clock)


@pytest.mark.claim("prop-ch2d-scaling", kind="identity", tol="1e-5 rel")
@pytest.mark.parametrize("alpha, L", [(0.5, 2), (3.0, 2), (2.0, 3)])
def test_the_margin_constrained_minimiser_of_Q_alpha_is_alpha_L_times_b(alpha, L):
    """Q_alpha(theta) = alpha^2 Q_1(theta / alpha^L): argmin Q_alpha s.t. Z theta >= gamma is alpha^L b(gamma/alpha^L),
    solved here directly (SLSQP on chapter 3's Q at scale alpha) against the scaled dual solution."""
    X, y = _data(8, 12)
    Z, gamma = y[:, None] * X, 5.0
    expect = alpha ** L * cs.potential_direction(X, y, gamma / alpha ** L, L)
    f0 = float(lt.theory.Q(expect, alpha, L))
    res = minimize(lambda w: float(lt.theory.Q(w, alpha, L)) / f0, 1.1 * expect,
                   jac=lambda w: lt.theory.Q_grad(w, alpha, L) / f0, method="SLSQP",
                   constraints=[{"type": "ineq", "fun": lambda w: Z @ w - gamma, "jac": lambda w: Z}],
                   options={"ftol": 1e-15, "maxiter": 3000})
    assert np.linalg.norm(res.x - expect) <= 1e-5 * np.linalg.norm(expect)


@pytest.mark.claim("prop-ch2d-scaling", kind="prediction", tol="angle to l2 ~ c^2 at 0 (5%); to l1 decreasing to < 0.05 rad")
@pytest.mark.parametrize("L", [2, 3, 4])
def test_b_of_c_goes_from_the_l2_to_the_l1_max_margin_direction(L):
    """c -> 0: the angle of b(c) to the l2 max-margin solution vanishes like c^2 (Q = |b|^2/2 + O(b^4), so the
    stationarity condition b + O(b^3) = Z^T lambda perturbs the l2 solution by a relative O(c^2));
    c -> infinity: the angle to the l1 max-margin solution decreases to 0 (for L = 2 slowly, like c^-rho: see
    test_b_of_c_approaches_the_l1_direction_like_c_to_the_minus_rho)."""
    X, y = _data()
    small = np.array([1e-3, 1e-4])
    to_l2 = cs.potential_angles(X, y, small, L)[0]
    assert to_l2[0] < 1e-3 and to_l2[0] / to_l2[1] == pytest.approx(100.0, rel=0.05)
    big = np.geomspace(1e2, 1e8, 4)
    to_l1 = cs.potential_angles(X, y, big, L)[1]
    assert np.all(np.diff(to_l1) < 0)
    assert to_l1[-1] < (0.05 if L == 2 else 1e-3)


@pytest.mark.claim("conj-ch2d-l1-rate", kind="prediction", tol="local log-log slope within 5% of -rho")
def test_b_of_c_approaches_the_l1_direction_like_c_to_the_minus_rho():
    """L = 2: rho = 1 - max off-support |Z^T mu| (mu the dual certificate of the l1 max-margin LP,
    lt.theory.l1_approach_exponent) is computed first, from the data alone; then the log-log slope of the angle
    of b(c) to the l1 max-margin direction between c = 1e12 and 1e14 must be -rho within 5%. On these data
    rho = 0.094; the candidates it must beat fail: 1/log c would give a slope -0.03 there, the second-largest
    off-support |Z^T mu| a slope -0.12."""
    X, y = _data()
    rho = lt.theory.l1_approach_exponent(X, y)
    assert 0.0 < rho < 1.0
    c = np.array([1e12, 1e14])
    to_l1 = cs.potential_angles(X, y, c, 2)[1]
    slope = np.diff(np.log(to_l1))[0] / np.diff(np.log(c))[0]
    assert slope == pytest.approx(-rho, rel=0.05)


@pytest.mark.claim("conj-ch2d-transition", kind="prediction", tol="measured/predicted within 6% at the two "
                   "largest scales, improving with alpha")
@pytest.mark.parametrize("L, alphas, loss", [(2, (8.0, 16.0), "exponential"), (3, (4.0, 8.0), "exponential"),
                                             (2, (8.0, 16.0), "logistic")])
def test_predicted_transition_loss_matches_the_flow_at_large_scale(L, alphas, loss):
    """The loss at which the direction is as far from the l2 as from the l1 max-margin direction,
    log(1/eps*) = predicted_log_inv_loss(alpha, L, c*), computed from the data before any run, against the
    crossing measured on the log-domain flow. The prediction assumes all margins equal at leading order,
    which becomes exact as alpha grows: the relative error must be small and shrink with alpha. A wrong
    exponent of alpha (alpha^2 instead of alpha^L at L = 3) misses by a factor alpha. The logistic loss, whose
    tail is the exponential one, is held to the same prediction."""
    X, y = _data()
    c_star = cs.transition_constant(X, y, L)
    predicted = [cs.predicted_log_inv_loss(X, y, a, L, c_star) for a in alphas]
    w2, w1 = lt.theory.l2_max_margin(X, y), lt.theory.l1_max_margin(X, y)
    errors = []
    for a, pred in zip(alphas, predicted):
        s = np.geomspace(pred / 4, pred * 4, 60)
        run = log_loss_flow(X, y, a, L, s, loss=loss)
        gap = lt.metrics.angle(run.theta, w2) - lt.metrics.angle(run.theta, w1)
        errors.append(abs(last_crossing(run.s, gap) / pred - 1))
    assert errors[0] < 0.08 and errors[1] < 0.02 and errors[1] < errors[0]
