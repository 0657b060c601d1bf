"""Unit tests of section 2d's closed forms (lintheory.theory.classification_scale) and of the log-domain
flow (lintheory.logflow)."""

import numpy as np
import pytest
from scipy.optimize import minimize

import lintheory as lt
from lintheory.logflow import last_crossing, log_inv_loss, log_loss_flow
from lintheory.theory import classification_scale as cs


def _data(n=8, d=12, seed=0):
    X, y = lt.data.separable_classification(n, d, margin=0.5, seed=seed)
    return X / np.linalg.norm(X, axis=1, keepdims=True), y


@pytest.mark.parametrize("L", [2, 3, 4])
def test_dual_map_is_chapter_3s_h_L_and_the_inverse_hessian_of_Q(L):
    """phi(nu) = alpha^L h_L(alpha^(L-2) nu) (chapter 3's bisection h_L) and phi' = 1/Q'' at phi(nu)."""
    alpha = 0.7
    nu = np.linspace(-0.9, 0.9, 7) * (1.2 if L == 2 else 1.0) * alpha ** (2 - L)
    theta, dtheta = cs.dual_map(nu, alpha, L)
    assert np.allclose(theta, alpha ** L * lt.theory.h_L(alpha ** (L - 2) * nu, L), rtol=1e-10, atol=1e-14)
    assert np.allclose(dtheta, 1.0 / lt.theory.Q_hess(theta, alpha, L), rtol=1e-9)
    h = 1e-6
    fd = (cs.dual_map(nu + h, alpha, L)[0] - cs.dual_map(nu - h, alpha, L)[0]) / (2 * h)
    assert np.allclose(dtheta, fd, rtol=1e-7)
    d2theta = cs.dual_map(nu, alpha, L, second=True)[2]
    fd2 = (cs.dual_map(nu + h, alpha, L)[1] - cs.dual_map(nu - h, alpha, L)[1]) / (2 * h)
    assert np.allclose(d2theta, fd2, rtol=1e-6, atol=1e-8 * np.max(np.abs(fd2)))


def test_dual_map_outside_its_domain_and_bad_arguments():
    assert np.isinf(cs.dual_map(2.0, 1.0, 3)[0]) and np.isinf(cs.dual_map(-1.5, 1.0, 4)[0])
    theta, dtheta = cs.dual_map([0.3, -2.0], 5.0, 1)
    assert np.array_equal(theta, [0.3, -2.0]) and np.array_equal(dtheta, [1.0, 1.0])
    with pytest.raises(ValueError, match="L must be one of"):
        cs.dual_map(0.1, 1.0, 5)
    with pytest.raises(ValueError, match="alpha"):
        cs.dual_map(0.1, -1.0, 2)


@pytest.mark.parametrize("L", [2, 3])
@pytest.mark.parametrize("c", [0.3, 4.0, 60.0])
def test_potential_direction_matches_a_primal_solver(L, c):
    """The dual projected-Newton solution against SLSQP on the primal min Q(b) s.t. Zb >= c."""
    X, y = _data()
    Z = y[:, None] * X
    b = cs.potential_direction(X, y, c, L)
    assert np.min(Z @ b) >= c * (1 - 1e-10)
    res = minimize(lambda w: float(lt.theory.Q(w, 1.0, L)), b * 1.05, jac=lambda w: lt.theory.Q_grad(w, 1.0, L),
                   method="SLSQP", constraints=[{"type": "ineq", "fun": lambda w: Z @ w - c, "jac": lambda w: Z}],
                   options={"ftol": 1e-15, "maxiter": 2000})
    assert lt.theory.Q(b, 1.0, L) <= lt.theory.Q(res.x, 1.0, L) * (1 + 1e-9)
    assert np.linalg.norm(res.x - b) <= 1e-5 * np.linalg.norm(b)


def test_potential_direction_arguments():
    X, y = _data()
    with pytest.raises(ValueError, match="c"):
        cs.potential_direction(X, y, 0.0, 2)
    with pytest.raises(ValueError, match="at least 2"):
        cs.potential_direction(X, y, 1.0, 1)
    with pytest.raises(ValueError, match="do not cross"):
        cs.transition_constant(X, y, 2, bracket=(1e-3, 1e-2))


def test_predicted_log_inv_loss_is_about_c_alpha_L():
    """s = log N - logsumexp(-alpha^L Z b(c)) lies between c alpha^L and c alpha^L + log N (margins >= c alpha^L)."""
    X, y = _data()
    for alpha, L, c in [(2.0, 2, 3.0), (30.0, 3, 0.5)]:
        s = cs.predicted_log_inv_loss(X, y, alpha, L, c)
        assert c * alpha ** L - 1e-9 <= s <= c * alpha ** L + np.log(len(y))


def test_log_loss_flow_clock_is_the_log_of_the_loss_it_reaches():
    """Identity: the recorded theta has log(1/loss) equal to the clock s, including where loss < 1e-300."""
    X, y = _data()
    s = np.geomspace(0.4, 3e4, 12)
    for L, alpha, loss in [(1, 1.0, "exponential"), (2, 0.5, "exponential"), (3, 2.0, "exponential"),
                           (2, 2.0, "logistic")]:
        run = log_loss_flow(X, y, alpha, L, s, loss=loss)
        assert np.allclose(log_inv_loss(X, y, run.theta, loss=loss), s, rtol=1e-7)
        assert run.theta.shape == (12, X.shape[1]) and run.lam.shape == (12, X.shape[0])
        assert np.all(np.diff(run.lam, axis=0) >= -1e-12 * run.lam.max())   # cumulative losses never shrink


@pytest.mark.claim("prop-ch2d-logflow", kind="prediction", tol="1e-6 rel on theta")
@pytest.mark.parametrize("loss", ["exponential", "logistic"])
@pytest.mark.parametrize("L", [1, 2, 3])
def test_log_loss_flow_follows_gradient_flow_on_the_parameters(L, loss):
    """Against the course's gradient flow on the network parameters (lt.gradient_flow, DOP853, on
    lt.ExponentialLoss), compared at equal loss: the reparametrized clock and the dual map of
    lintheory.theory.dual_map must reproduce the ordinary flow from v_l = alpha (l < L), v_L = 0."""
    X, y = _data()
    alpha, d = 0.8, X.shape[1]
    net = lt.Diagonal(d, L)
    objective = lt.ExponentialLoss(X, y) if loss == "exponential" else lt.LogisticLoss(X, y)
    params = [np.full(d, alpha) for _ in range(L - 1)] + [np.zeros(d)]
    ref = lt.gradient_flow(net, objective, params, np.linspace(0.0, 60.0, 13)[1:], rtol=1e-12, atol=1e-14)
    s = -np.log(ref.loss)
    run = log_loss_flow(X, y, alpha, L, s, loss=loss, rtol=1e-12, atol=1e-14)
    assert np.allclose(run.theta, ref.theta, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("loss", ["exponential", "logistic"])
@pytest.mark.parametrize("L", [1, 2, 3])
def test_the_flow_jacobian_is_the_derivative_of_its_field(L, loss):
    """The exact Jacobian handed to BDF against central differences of the field, at a state with margins
    of both signs (small lam) and one deep in training."""
    from lintheory.logflow import _vector_field
    X, y = _data()
    Z = y[:, None] * X
    rhs, jac = _vector_field(Z, 0.8, L, loss)
    rng = np.random.default_rng(3)
    for lam in (0.05 * rng.random(8), log_loss_flow(X, y, 0.8, L, [30.0], loss=loss).lam[0]):
        h = 1e-7 * max(1.0, np.max(lam))
        fd = np.array([(rhs(0, lam + h * e) - rhs(0, lam - h * e)) / (2 * h) for e in np.eye(8)]).T
        assert np.allclose(jac(0, lam), fd, rtol=1e-5, atol=1e-7 * np.max(np.abs(fd)))


def test_log_loss_flow_arguments():
    X, y = _data()
    with pytest.raises(ValueError, match="s_eval"):
        log_loss_flow(X, y, 1.0, 2, [0.0, 1.0])
    with pytest.raises(ValueError, match="s_eval"):
        log_loss_flow(X, y, 1.0, 2, [2.0, 1.0])
    with pytest.raises(ValueError, match="L must be one of"):
        log_loss_flow(X, y, 1.0, 7, [1.0])
    with pytest.raises(ValueError, match="above 0.366"):
        log_loss_flow(X, y, 1.0, 2, [0.3, 1.0], loss="logistic")
    with pytest.raises(ValueError, match="loss must be one of"):
        log_loss_flow(X, y, 1.0, 2, [1.0], loss="hinge")


def test_logistic_log_terms_are_accurate_where_the_loss_underflows():
    """log log(1 + e^-m) and -log(1 + e^m), against mpmath-free references: the exact values at moderate m and
    the asymptote -m at m = 1e4, where e^-m is not a float."""
    from lintheory.logflow import _log_loss_terms
    m = np.array([-50.0, -1.0, 0.0, 2.0, 29.0, 31.0, 1e4])
    log_ell, log_slope = _log_loss_terms(m, "logistic")
    with np.errstate(under="ignore"):
        assert np.allclose(log_ell[:6], np.log(np.log1p(np.exp(-m[:6]))), rtol=1e-12)
    assert log_ell[-1] == -1e4 and np.allclose(log_slope, -np.logaddexp(0.0, m), rtol=1e-15)


def test_last_crossing():
    s = np.array([1.0, 10.0, 100.0, 1000.0])
    assert last_crossing(s, [1.0, -1.0, 1.0, 3.0]) == pytest.approx(np.sqrt(10.0) * 10)
    assert np.isnan(last_crossing(s, [1.0, 2.0, 3.0, 4.0]))
    with pytest.raises(ValueError):
        last_crossing(s, [1.0, 2.0])


def test_flow_and_closed_forms_refuse_what_they_cannot_do():
    """Non-separable data (the loss has a positive minimum, so the clock s cannot run), too few Newton
    iterations, and mismatched quadrature arguments."""
    for X_bad, y_bad in [([[1.0, 0.0], [1.0, 0.0]], [1.0, -1.0]), ([[1.0], [-0.5]], [1.0, 1.0])]:
        with pytest.raises(ValueError, match="not linearly separable"):
            log_loss_flow(np.array(X_bad), np.array(y_bad), 1.0, 2, [1.0])
    X, y = _data()
    with pytest.raises(RuntimeError, match="did not converge"):
        cs.potential_direction(X, y, 10.0, 2, max_iter=1)
    with pytest.raises(ValueError, match="same shape"):
        cs.orthogonal_log_time([1.0, 2.0], [0.5], 1.0, 2)


def test_l1_approach_exponent_on_hand_solved_cases():
    """One sample z = (1, 1/2): the l1 solution is e_1/1, the certificate mu = 1 gives Z^T mu = (1, 1/2), so
    rho = 1/2 (b(c) = phi(lam z) has b_2/b_1 ~ e^-lam ~ c^-1/2). Orthogonal samples: full support, rho = 1."""
    assert lt.theory.l1_approach_exponent(np.array([[1.0, 0.5]]), np.array([1.0])) == pytest.approx(0.5, abs=1e-9)
    assert lt.theory.l1_approach_exponent(np.array([[-1.0, -0.5]]), np.array([-1.0])) == pytest.approx(0.5, abs=1e-9)
    assert lt.theory.l1_approach_exponent(np.diag([1.0, -0.5]), np.array([1.0, -1.0])) == 1.0
    with pytest.raises(ValueError, match="not linearly separable"):
        lt.theory.l1_approach_exponent(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([1.0, -1.0]))


def test_lp_at_unit_margin():
    """p = 1 at the l1 max-margin solution (unit minimum margin) is its l1 norm; scale invariance; a
    non-positive minimum margin gives inf."""
    X, y = _data()
    w1 = lt.theory.l1_max_margin(X, y)
    assert cs.lp_at_unit_margin(X, y, w1, 1.0) == pytest.approx(np.abs(w1).sum(), rel=1e-8)
    both = cs.lp_at_unit_margin(X, y, np.stack([w1, 7.0 * w1, -w1]), 2 / 3)
    assert both[0] == pytest.approx(both[1], rel=1e-12) and both[2] == np.inf
    with pytest.raises(ValueError, match="p"):
        cs.lp_at_unit_margin(X, y, w1, 0.0)
