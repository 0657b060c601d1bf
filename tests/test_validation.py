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
