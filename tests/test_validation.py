"""Bad input raises ValueError/TypeError whose message names the argument."""

import numpy as np
import pytest

import lintheory as lt

X, Y = lt.data.underdetermined_regression(3, 5, 2, seed=0)
NET = lt.FullyConnected([5, 4, 2])
LOSS = lt.SquaredLoss(X, Y)
P = NET.init(0.1, seed=0)

CASES = [
    ("depth below one", lambda: lt.Diagonal(4, 0), ValueError, "depth"),
    ("dims too short", lambda: lt.FullyConnected([3]), ValueError, "dims"),
    ("dims not a list", lambda: lt.FullyConnected(3), TypeError, "dims"),
    ("non-integer width", lambda: lt.FullyConnected([3, 2.5, 1]), TypeError, "dims[1]"),
    ("negative scale", lambda: NET.init(-1.0), ValueError, "scale"),
    ("unknown scheme", lambda: NET.init(0.1, scheme="orthogonal"), ValueError, "scheme"),
    ("bad seed", lambda: NET.init(0.1, seed="abc"), TypeError, "seed"),
    ("labels not +-1", lambda: lt.LogisticLoss(X, np.array([0.0, 1.0, 1.0])), ValueError, "y"),
    ("NaN in X", lambda: lt.SquaredLoss(np.full((3, 5), np.nan), Y), ValueError, "X"),
    ("X not a matrix", lambda: lt.SquaredLoss(np.ones(5), Y), ValueError, "X"),
    ("Y rows mismatch", lambda: lt.SquaredLoss(X, np.ones((4, 2))), ValueError, "Y"),
    ("wrong number of layers", lambda: NET.end_to_end(P[:1]), ValueError, "params"),
    ("wrong layer shape", lambda: NET.end_to_end([P[0].T, P[1]]), ValueError, "params[0]"),
    ("params not a list", lambda: NET.end_to_end(P[0]), TypeError, "params"),
    ("non-positive step", lambda: lt.gradient_descent(NET, LOSS, P, 0.0, 10), ValueError, "step"),
    ("negative n_steps", lambda: lt.gradient_descent(NET, LOSS, P, 0.1, -1), ValueError, "n_steps"),
    ("record_every zero", lambda: lt.gradient_descent(NET, LOSS, P, 0.1, 5, record_every=0), ValueError, "record_every"),
    ("net/loss mismatch", lambda: lt.gradient_descent(lt.FullyConnected([5, 1]), LOSS, [np.ones((1, 5))], 0.1, 1), ValueError, "theta shape"),
    ("t_eval decreasing", lambda: lt.gradient_flow(NET, LOSS, P, [0, 2, 1]), ValueError, "t_eval"),
    ("NaN in params", lambda: lt.gradient_flow(NET, LOSS, [P[0] * np.nan, P[1]], [0, 1]), ValueError, "params[0]"),
    ("NaN in params (jacobian)", lambda: lt.metrics.jacobian(NET, [P[0], P[1] * np.inf]), ValueError, "params[1]"),
    ("NaN in params (gauss_newton)", lambda: lt.metrics.gauss_newton(lt.FullyConnected([5, 1]), lt.SquaredLoss(X, Y[:, 0]),
                                                                     [np.full((1, 5), np.nan)]), ValueError, "params[0]"),
    ("loss not a Loss", lambda: lt.gradient_flow(NET, "squared", P, [0, 1]), TypeError, "loss"),
    ("rank too large", lambda: lt.theory.reduced_rank_regression(X, Y, 3), ValueError, "rank"),
    ("bad normalization", lambda: lt.SquaredLoss(X, Y, normalization="avg"), ValueError, "normalization"),
    ("not underdetermined", lambda: lt.data.underdetermined_regression(5, 3), ValueError, "n"),
    ("negative mode strength", lambda: lt.theory.saxe_mode(1.0, -1.0, 0.1), ValueError, "s"),
]


@pytest.mark.parametrize("name,call,error,argument", CASES, ids=[c[0] for c in CASES])
def test_bad_input_names_the_argument(name, call, error, argument):
    with pytest.raises(error) as info:
        call()
    assert argument in str(info.value)


# ------------------------------------------------------------------ issue 17: every guard raises what it says
_X3 = np.random.default_rng(0).standard_normal((3, 5))
_XR, _YR = lt.data.overdetermined_regression(12, 3, seed=0)
_net = lt.FullyConnected([3, 1])

GUARDS = [
    (lambda: lt.theory.reduced_imbalance(np.zeros((3, 5)), np.ones((2, 5)), np.ones((1, 2))), ValueError, "X must have full row rank"),
    (lambda: lt.theory.reduced_imbalance(_X3, np.ones((2, 4)), np.ones((1, 2))), ValueError, "W1 must have shape"),
    (lambda: lt.theory.gronwall_bound([0.0, 1.0], [1.0, 1.0, 1.0], 1.0), ValueError, "t must be increasing"),
    (lambda: lt.theory.deficiency_margin(_X3, np.ones((2, 1)), np.ones((2, 5)), np.ones((1, 2))), ValueError, "Y must have one row per sample of X"),
    (lambda: lt.theory.deficiency_margin(_X3, np.ones((3, 2)), np.ones((2, 5)), np.ones((1, 2))), ValueError, "W2 must have 2 rows"),
    (lambda: lt.theory.random_init_rate(_X3, 0, 0.5), ValueError, "h must be positive"),
    (lambda: lt.theory.gd_imbalance_increment([np.ones((2, 2))], 0.1), ValueError, "grads must hold the two"),
    (lambda: lt.theory.plateau_solution(np.eye(3), np.eye(2), 1), ValueError, "Sigma_x must be"),
    (lambda: lt.theory.mode_recursion(1.0, 1.0, 0.1, -1.0, 3), ValueError, "w0 must be non-negative"),
    (lambda: lt.theory.linear_model_iterates(1.0, 1.0, 0.1, 0.0, [-1]), ValueError, "steps must be non-negative"),
    (lambda: lt.theory.staircase_path([0.0, 1.0], [1.0, 2.0], [1.0]), ValueError, "lambdas must have the shape"),
    (lambda: lt.theory.critical_point(np.eye(2), np.eye(2), [0, 0]), ValueError, "index must list distinct"),
    (lambda: lt.theory.shared_bases(np.diag([1.0, 2.0]), np.array([[0.0, 1.0], [1.0, 1.0]])), ValueError, "do not share"),
    (lambda: lt.theory.modified_loss(_net, lt.SquaredLoss(_XR, _YR), _net.init(0.1, seed=0), -1.0), ValueError, "eta must be"),
    (lambda: lt.theory.l2_max_margin(np.eye(2), [1.0]), ValueError, "y must have one label"),
    (lambda: lt.theory.l2_max_margin(np.eye(2), [1.0, 2.0]), ValueError, "labels -1 and \\+1"),
    (lambda: lt.theory.l1_max_margin(np.array([[1.0], [1.0]]), np.array([1.0, -1.0])), ValueError, "not linearly separable"),
    (lambda: lt.theory.min_norm_solution(_X3, np.ones(2)), ValueError, "Y must have one row per sample"),
    (lambda: lt.theory.reduced_rank_regression(_X3, np.ones(3), 1), ValueError, "Y must be 2-dimensional"),
    (lambda: lt.theory.argmin_Q(np.eye(2), np.ones(3), 0.1, 2), ValueError, "y must have 2 entries"),
    (lambda: lt.theory.l1_interpolator(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([1.0, 2.0])), ValueError, "no solution"),
    (lambda: lt.theory.lp_kkt_residual(np.eye(2), np.array([1.0, -1.0]), np.array([-1.0, 1.0]), 2), ValueError, "positive margin"),
    (lambda: lt.theory.regression_constants(_XR, np.zeros(12)), ValueError, "w\\* = 0"),
    (lambda: lt.theory.rescaled_minimizer([np.ones((2, 2))]), TypeError, "at least two layer arrays"),
    (lambda: lt.theory.predicted_limit(_X3, np.ones(3), [np.ones((2, 5))], [np.ones((2, 5))]), ValueError, "init_params and final_params"),
    (lambda: lt.data.overdetermined_regression(2, 3), ValueError, "n must be at least d"),
    (lambda: lt.data.aligned_regression([1.0, 1.0], [1.0], n=3), ValueError, "sigmas must have the shape"),
    (lambda: lt.data.aligned_regression([1.0, 0.0], [1.0, 1.0], n=3), ValueError, "lambdas must be positive"),
    (lambda: lt.data.aligned_regression([1.0, 1.0], [1.0, -1.0], n=3), ValueError, "sigmas must be non-negative"),
    (lambda: lt.SquaredLoss(None, [1.0]), TypeError, "X must be an array of numbers"),
    (lambda: lt.SquaredLoss([[1.0], [1.0, 2.0]], [1.0, 1.0]), TypeError, "X must be an array of numbers"),
    (lambda: lt.SquaredLoss([[{}, 1.0]], [1.0]), TypeError, "X must be an array of numbers"),
    (lambda: lt.gradient_descent("net", lt.SquaredLoss(_XR, _YR), [np.ones((1, 3))], 0.1, 1), TypeError, "net must be a lintheory Network"),
    (lambda: lt.gradient_descent(_net, "loss", [np.ones((1, 3))], 0.1, 1), TypeError, "loss must be a lintheory Loss"),
    (lambda: lt.TensorNetwork(np.ones((2,) + (1,) * 52)), ValueError, "tensor order 52 is too large"),
]


@pytest.mark.parametrize("call, exc, pattern", GUARDS, ids=[g[2][:30] for g in GUARDS])
def test_guard_raises_a_clear_error(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_sweep_where_matches_non_numbers_exactly():
    res = lt.sweep(lambda kind, lr: lr, {"kind": ["a", "b"], "lr": np.arange(0.1, 0.4, 0.1)}, backend="sequential")
    found = res.where(kind="b", lr=0.3)            # the grid holds 0.30000000000000004
    assert len(found) == 1 and found[0] != 0.3 and found[0] == pytest.approx(0.3)
    assert res.where(kind="c") == []
