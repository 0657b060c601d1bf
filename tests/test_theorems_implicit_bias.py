"""Chapter 2 (implicit bias): each theorem checked against its own formula, computed here independently."""

import numpy as np
import pytest
from scipy.optimize import minimize

import lintheory as lt


def _null_projector(X):
    """I - X^T (X X^T)^{-1} X, written out (not via pinv) for full-row-rank X."""
    return np.eye(X.shape[1]) - X.T @ np.linalg.solve(X @ X.T, X)


def _min_norm(X, Y):
    return X.T @ np.linalg.solve(X @ X.T, Y)


@pytest.mark.parametrize("seed, n, d, m, h, scale", [(0, 5, 20, 2, 16, 0.5), (1, 3, 8, 1, 6, 0.8),
                                                     (2, 4, 12, 3, 40, 0.3)])
def test_bias_formula_two_layer_gradient_flow(seed, n, d, m, h, scale):
    """Min et al. C3: theta(inf) - theta_hat = (I - X^+X) U(0) V(inf)^T, U = W_1^T, V = W_2, to 1e-6."""
    X, Y = lt.data.underdetermined_regression(n, d, m, seed=seed)
    net = lt.FullyConnected([d, h, m])
    p0 = net.init(scale, seed=seed + 10)
    flow = lt.gradient_flow(net, lt.SquaredLoss(X, Y), p0, np.array([0.0, 1.0, 10.0, 400.0]))
    assert flow.loss[-1] < 1e-16
    U0, V_inf = p0[0].T, flow.final_params[1]
    rhs = _null_projector(X) @ U0 @ V_inf.T
    lhs = flow.theta[-1].reshape(d, m) - _min_norm(X, Y).reshape(d, m)
    assert np.linalg.norm(lhs) > 1e-2            # the error is not trivially zero ...
    np.testing.assert_allclose(lhs, rhs, atol=1e-6, rtol=0)   # ... and the formula gives it
    # the library helpers agree with the formula written out here
    np.testing.assert_allclose(lt.theory.bias_term(X, p0[0], lt.theory.head_product(flow.final_params[1:])),
                               rhs, atol=1e-12)


def test_invariant_init_reaches_min_norm_and_generic_does_not():
    """Min et al. C4: W_1(0)(I - X^+X) = 0 stays so, and the limit is X^+Y to 1e-8."""
    X, Y = lt.data.underdetermined_regression(5, 20, 2, seed=3)
    loss, net = lt.SquaredLoss(X, Y), lt.FullyConnected([20, 16, 2])
    P = _null_projector(X)
    inv0 = lt.theory.invariant_init(X, 16, 2, 0.5, seed=4)
    assert np.abs(inv0[0] @ P).max() < 1e-12
    t = np.array([0.0, 5.0, 300.0])
    inv = lt.gradient_flow(net, loss, inv0, t)
    gen = lt.gradient_flow(net, loss, net.init(0.5, seed=4), t)
    theta_hat = _min_norm(X, Y)
    assert inv.loss[-1] < 1e-16 and gen.loss[-1] < 1e-16
    assert np.linalg.norm(inv.theta[-1] - theta_hat) < 1e-8
    assert np.abs(inv.final_params[0] @ P).max() < 1e-10
    assert np.linalg.norm(gen.theta[-1] - theta_hat) > 0.1


def test_width_scaling_exponent_at_ntk_scaling():
    """Min et al. C5: ||theta(inf) - theta_hat||_2 ~ h^{-(4 alpha - 1)/2}; fitted slope within 0.15 at alpha = 1/2."""
    alpha = 0.5
    predicted = -(4 * alpha - 1) / 2
    assert lt.theory.width_scaling_exponent(alpha) == pytest.approx(predicted)
    X, Y = lt.data.underdetermined_regression(5, 20, 2, seed=0)
    loss, theta_hat = lt.SquaredLoss(X, Y), _min_norm(X, Y)
    lam = np.linalg.eigvalsh(X.T @ X / 5).max()
    widths = 2 ** np.arange(4, 12)
    dists = []
    for i, h in enumerate(widths):
        net = lt.FullyConnected([20, int(h), 2])
        p0 = net.init(float(h) ** -alpha, seed=50 + i, batch=6 if h <= 256 else 3)
        curv = sum(np.linalg.norm(b, 2, axis=(-2, -1)).max() ** 2 for b in p0)
        run = lt.gradient_descent(net, loss, p0, step=0.5 / (lam * curv), n_steps=800, record_every=800,
                                  keep_params=False)
        assert np.all(run.loss[-1] < 1e-10)
        dists.append(np.linalg.norm(run.theta[-1] - theta_hat, 2, axis=(-2, -1)).mean())
    slope = np.polyfit(np.log(widths), np.log(dists), 1)[0]
    assert abs(slope - predicted) < 0.15, slope


def test_deep_fc_error_term():
    """Yun et al. C5: beta(inf) = beta_minl2 + (I - X^+X) W_1(0)^T p(inf), p = (W_3 W_2)^T; error -> 0 with scale."""
    X, y = lt.data.underdetermined_regression(4, 10, 1, seed=5)
    net = lt.FullyConnected([10, 8, 8, 1])
    scales = np.array([0.02, 0.1, 0.3])
    p0 = [scales[:, None, None] * b for b in net.init(1.0, seed=6, batch=3)]
    run = lt.gradient_descent(net, lt.SquaredLoss(X, y), p0, step=0.01, n_steps=8000, record_every=8000,
                              keep_params=False)
    assert np.all(run.loss[-1] < 1e-20)
    W1, W2, W3 = p0[0], run.final_params[1], run.final_params[2]
    p_inf = np.swapaxes(W3 @ W2, -1, -2)[..., 0]                     # (batch, 8)
    expected = _min_norm(X, y) + np.einsum("ij,bkj,bk->bi", _null_projector(X), W1, p_inf)
    np.testing.assert_allclose(run.theta[-1], expected, atol=1e-9)
    np.testing.assert_allclose(lt.theory.predicted_limit(X, y, p0, run.final_params), expected, atol=1e-10)
    errs = np.linalg.norm(run.theta[-1] - _min_norm(X, y), axis=-1)
    assert np.all(np.diff(errs) > 0) and errs[0] < errs[-1] / 10


def _svm_dual(X, y):
    """Hard-margin SVM via its dual: max 1^T a - |Z^T a|^2/2, a >= 0; w = Z^T a."""
    Z = y[:, None] * X
    K = Z @ Z.T
    res = minimize(lambda a: 0.5 * a @ K @ a - a.sum(), np.zeros(len(y)), jac=lambda a: K @ a - 1,
                   method="L-BFGS-B", bounds=[(0, None)] * len(y), options={"ftol": 1e-15, "gtol": 1e-12})
    return Z.T @ res.x


def test_logistic_gd_converges_in_direction_to_svm():
    """Soudry et al.: angle(theta(t), w_svm) decreases; < 0.1 rad after 30000 steps; loss -> 0; margin -> SVM's."""
    X, y = lt.data.separable_classification(20, 5, margin=0.1, seed=1)
    w = _svm_dual(X, y)
    assert np.min(y * (X @ w)) > 1 - 1e-4
    np.testing.assert_allclose(lt.theory.l2_max_margin(X, y), w, atol=1e-4)
    net = lt.FullyConnected([5, 1])
    run = lt.gradient_descent(net, lt.LogisticLoss(X, y), net.init(0.1, seed=0),
                              step=20 / np.linalg.norm(X, 2) ** 2, n_steps=30000, record_every=30,
                              keep_params=False)
    checkpoints = [10, 100, 300, 1000]                               # steps 300, 3000, 9000, 30000
    cosines = run.theta[checkpoints] @ w / (np.linalg.norm(run.theta[checkpoints], axis=1) * np.linalg.norm(w))
    angles = np.arccos(np.clip(cosines, -1, 1))
    assert np.all(np.diff(angles) < 0), angles
    assert angles[-1] < 0.1
    assert np.all(np.diff(run.loss) <= 0) and run.loss[-1] < 2e-3
    margins = np.min(y * (run.theta[checkpoints] @ X.T), axis=1) / np.linalg.norm(run.theta[checkpoints], axis=1)
    gamma = 1 / np.linalg.norm(w)
    assert np.all(np.diff(margins) > 0) and np.all(margins < gamma + 1e-9) and margins[-1] > 0.9 * gamma


def test_helpers_validate_and_project():
    X = np.random.default_rng(0).standard_normal((3, 7))
    P = lt.theory.null_space_projector(X)
    np.testing.assert_allclose(P, _null_projector(X), atol=1e-12)
    np.testing.assert_allclose(P @ P, P, atol=1e-12)
    np.testing.assert_allclose(lt.theory.row_space_projector(X) + P, np.eye(7), atol=1e-12)
    with pytest.raises(ValueError, match="W1_init"):
        lt.theory.bias_term(X, np.zeros((4, 6)), np.zeros((4, 1)))
    with pytest.raises(ValueError, match="head"):
        lt.theory.bias_term(X, np.zeros((4, 7)), np.zeros((5, 1)))
    with pytest.raises(TypeError, match="layers"):
        lt.theory.head_product(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="alpha"):
        lt.theory.width_scaling_exponent(float("nan"))
    beta = lt.theory.l1_interpolator(X, np.ones(3))
    np.testing.assert_allclose(X @ beta, np.ones(3), atol=1e-9)
    assert np.abs(beta).sum() <= np.abs(lt.theory.min_norm_solution(X, np.ones(3))).sum() + 1e-9
