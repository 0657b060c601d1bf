"""Theorem tests of section 2d (initialization scale against training accuracy in classification).

Every prediction is computed before the flow is run, from the initial state or the data alone, and each
would fail for a wrong clock, a wrong dual map or a wrong potential (see the comments).
"""

import numpy as np
import pytest
from scipy.optimize import minimize

import lintheory as lt
from lintheory.logflow import last_crossing, log_loss_flow
from lintheory.theory import classification_scale as cs


def _data(n=10, d=20, seed=0):
    X, y = lt.data.separable_classification(n, d, margin=0.5, seed=seed)
    return X / np.linalg.norm(X, axis=1, keepdims=True), y


@pytest.mark.claim("prop-ch2d-logflow", kind="prediction", tol="1e-9 rel on log t, down to loss 1e-13000")
@pytest.mark.parametrize("L", [2, 3])
def test_log_domain_flow_on_orthogonal_data_reaches_every_sample_at_the_same_time(L):
    """Orthogonal samples z_n = c_n e_n decouple in time: t = N int_0^lam_n exp(c_n phi(c_n k)) dk for each n
    (lintheory.theory.orthogonal_log_time, by quadrature, in the log domain). The log-domain flow never sees
    t; at each recorded loss its dual variables must give one and the same log t for all samples. A wrong
    clock (e.g. dropping the denominator of dlam/ds) or a wrong phi gives different times per sample."""
    scales = np.array([1.0, 0.7, 0.4])
    X, y = np.diag(scales), np.ones(3)
    s = np.array([1.0, 10.0, 1e2, 1e3, 1e4, 3e4])             # loss down to e^-30000 = 10^-13029
    run = log_loss_flow(X, y, 1.5, L, s, rtol=1e-12, atol=1e-14)
    for lam in run.lam:
        log_t = cs.orthogonal_log_time(scales, lam, 1.5, L)
        assert np.ptp(log_t) <= 1e-9 * np.max(np.abs(log_t)), log_t
    assert run.s[-1] / np.log(10) > 13000


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
    c -> infinity: the angle to the l1 max-margin solution decreases to 0 (slowly, like 1/log c, for L = 2)."""
    X, y = _data()
    small = np.array([1e-3, 1e-4])
    to_l2 = cs.potential_angles(X, y, small, L)[0]
    assert to_l2[0] < 1e-3 and to_l2[0] / to_l2[1] == pytest.approx(100.0, rel=0.05)
    big = np.geomspace(1e2, 1e8, 4)
    to_l1 = cs.potential_angles(X, y, big, L)[1]
    assert np.all(np.diff(to_l1) < 0)
    assert to_l1[-1] < (0.05 if L == 2 else 1e-3)


@pytest.mark.claim("thm-ch2d-moroshko", kind="prediction", tol="log(1/eps*) grows like alpha^L: within 2% at the "
                   "largest scale")
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
