"""The 158 bad and edge inputs of the reliability review (shared/reviews/reliability.md), re-created.

Each case is ``(number, api, description, call, expect)``. ``call()`` runs the input; ``expect`` is

* ``error(Type, pattern)``: lintheory must raise ``Type`` with a message matching ``pattern`` (which
  names the argument);
* ``ok(check)``: a valid input: ``call()`` returns and ``check(result)`` holds;
* ``convention(check)``: a documented convention (e.g. NaN propagating through a pure array map):
  ``call()`` returns, ``check(result)`` holds, and no RuntimeWarning is emitted.

:func:`verdict` classifies a case with the review's vocabulary (CLEAR, VAGUE, OBSCURE, SILENT, OK,
REFUSED, plus CONVENTION for documented conventions). ``tests/test_review_cases.py`` requires every case
to be CLEAR, OK or CONVENTION.
"""

from __future__ import annotations

import re
import traceback
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

import lintheory as lt


@dataclass
class Expect:
    kind: str
    exc: Any = None
    pattern: str = ""
    check: Callable[[Any], bool] | None = None


def error(exc, pattern):
    return Expect("error", exc, pattern)


def ok(check=lambda r: True):
    return Expect("ok", check=check)


def convention(check):
    return Expect("convention", check=check)


# ------------------------------------------------------------------ shared inputs
_rng = np.random.default_rng(0)
X = _rng.standard_normal((10, 5))
Y = _rng.standard_normal((10, 2))
NET = lt.FullyConnected([5, 4, 2])
P = NET.init(0.1, seed=0)
SQ = lt.SquaredLoss(X, Y)
XS, YS = lt.data.separable_classification(10, 5, margin=0.2, seed=0)
XR, YR = lt.data.overdetermined_regression(20, 3, seed=0)
NET_R = lt.FullyConnected([3, 3, 1])
LOSS_R = lt.SquaredLoss(XR, YR)
P_R = NET_R.init(0.5, seed=1)


def _theta(params):
    return NET.end_to_end(P)


def _with(params, k, value):
    out = list(params)
    out[k] = value
    return out


def _nan_params():
    q = [p.copy() for p in P]
    q[0][0, 0] = np.nan
    return q


def _alias_end_to_end():
    net = lt.FullyConnected([5, 2])
    q = net.init(0.1, seed=0)
    theta = net.end_to_end(q)
    before = theta.copy()
    q[0][:] = 7.0
    return np.array_equal(theta, before)


def _alias_loss():
    Xc = X.copy()
    loss = lt.SquaredLoss(Xc, Y)
    theta = NET.end_to_end(P)
    before = float(loss.value(theta))
    Xc *= 3.0
    return float(loss.value(theta)) == before


def _blow_up_time():
    net, loss = lt.Diagonal(1, 1), lt.SquaredLoss(XR[:, :1], YR)
    try:
        lt.gradient_flow(net, loss, [np.array([0.1])], [0.0, 5.0, 20.0], gradient=lambda p: [-(p[0] ** 2)])
    except RuntimeError as err:
        found = re.search(r"t = ([0-9.eE+-]+)", str(err))
        return float(found.group(1)) if found else None
    return None


def _flow_theta_view():
    net = lt.FullyConnected([3, 1])
    run = lt.gradient_flow(net, LOSS_R, net.init(0.3, seed=0), [0, 1.0])
    before = run.theta.copy()
    run.params[0][:] = 5.0
    return np.array_equal(run.theta, before)


def _flow_caller_mutation():
    q = [p.copy() for p in P_R]
    run = lt.gradient_flow(NET_R, LOSS_R, q, [0, 0.5])
    before = run.theta.copy()
    q[0][:] = 9.0
    return np.array_equal(run.theta, before)


def _descent_no_alias():
    q = [p.copy() for p in P_R]
    run = lt.gradient_descent(NET_R, LOSS_R, q, 0.05, 5)
    before = [a.copy() for a in run.params]
    q[0][:] = 9.0
    run.final_params[0][:] = 9.0
    return all(np.array_equal(a, b) for a, b in zip(run.params, before))


def _exact_minimum(normalize):
    Xi = np.array([[1.0, 2.0], [3.0, -1.0], [0.0, 1.0]])
    w = np.array([2.0, -1.0])
    net = lt.FullyConnected([2, 1])
    run = lt.gradient_descent(net, lt.SquaredLoss(Xi, Xi @ w), [w[None, :].copy()], 0.1, 10,
                              normalize=normalize)
    return run


def _underflow_run():
    Xc, yc = lt.data.separable_classification(20, 3, margin=0.3, seed=12)
    net = lt.FullyConnected([3, 1])
    return lt.gradient_descent(net, lt.ExponentialLoss(Xc, yc), [np.zeros((1, 3))], 50.0, 1000,
                               normalize="loss", record_every=100)


def _diverged_at_zero():
    net = lt.FullyConnected([3, 3, 3, 3, 1])
    p0 = [1e110 * b for b in net.init(0.5, seed=3)]
    return lt.gradient_descent(net, LOSS_R, p0, 0.01, 5)


def _sweep_fail(backend, n_jobs):
    def fn(a):
        if a == 2:
            raise ZeroDivisionError("boom")
        return a
    return lambda: lt.sweep(fn, {"a": [1, 2, 3]}, backend=backend, n_jobs=n_jobs)


def _where_arange():
    res = lt.sweep(lambda lr: lr, {"lr": np.arange(0.1, 0.5, 0.1)}, backend="sequential")
    return res.where(lr=0.3)


def _draw(fig, a):
    fig.add_subplot().plot([0, 1], [0, 1])


def _explorer(controls, **kw):
    return lambda: lt.widgets.explorer(_draw, controls, **kw)


V = lt.FullyConnected([5, 4, 2]).init(0.1, seed=1)

CASES = [
    (1, "networks.FullyConnected", "zero width", lambda: lt.FullyConnected([5, 0, 1]), error(ValueError, r"dims\[1\]")),
    (2, "networks.FullyConnected", "negative width", lambda: lt.FullyConnected([5, -3, 1]), error(ValueError, r"dims\[1\]")),
    (3, "networks.FullyConnected", "float width", lambda: lt.FullyConnected([5, 2.0, 1]), error(TypeError, r"dims\[1\]")),
    (4, "networks.FullyConnected", "dims as a string", lambda: lt.FullyConnected("531"), error(TypeError, r"dims")),
    (5, "networks.FullyConnected", "dims as numpy ints", lambda: lt.FullyConnected(np.array([5, 3, 1])), ok(lambda r: r.dims == (5, 3, 1))),
    (6, "networks.FullyConnected", "dims as a generator", lambda: lt.FullyConnected(k for k in [5, 3, 1]), error(TypeError, r"dims")),
    (7, "networks.Diagonal", "d=0", lambda: lt.Diagonal(0, 2), error(ValueError, r"\bd must")),
    (8, "networks.Diagonal", "depth=2.5", lambda: lt.Diagonal(3, 2.5), error(TypeError, r"depth")),
    (9, "networks.Convolutional", "depth=-1", lambda: lt.Convolutional(3, -1), error(ValueError, r"depth")),
    (10, "networks.Residual", "zero output", lambda: lt.Residual(3, 2, output=np.zeros(3)), error(ValueError, r"output")),
    (11, "networks.Residual", "output of wrong length", lambda: lt.Residual(3, 2, output=[1.0, 2.0]), error(ValueError, r"output")),
    (12, "networks.Residual", "output with NaN", lambda: lt.Residual(3, 2, output=[1.0, np.nan, 1.0]), error(ValueError, r"output")),
    (13, "networks.TensorNetwork", "tensor with inf", lambda: lt.TensorNetwork(np.full((3, 2), np.inf)), error(ValueError, r"tensor")),
    (14, "networks.TensorNetwork", "tensor with an empty mode", lambda: lt.TensorNetwork(np.ones((3, 0))), error(ValueError, r"tensor")),
    (15, "networks.DecomposableTensorNetwork", "U = []", lambda: lt.DecomposableTensorNetwork(np.eye(2), []), error(ValueError, r"\bU\b")),
    (16, "networks.TensorNetwork.fully_connected", "non-scalar output", lambda: lt.TensorNetwork.fully_connected([3, 2, 2]), error(ValueError, r"dims")),
    (17, "Network.init", "scale=NaN", lambda: NET.init(np.nan), error(ValueError, r"scale")),
    (18, "Network.init", "scale=inf", lambda: NET.init(np.inf), error(ValueError, r"scale")),
    (19, "Network.init", "scale='0.1'", lambda: NET.init("0.1"), error(TypeError, r"scale")),
    (20, "Network.init", "seed=1.5", lambda: NET.init(0.1, seed=1.5), error(TypeError, r"seed")),
    (21, "Network.init", "seed=-1", lambda: NET.init(0.1, seed=-1), error(TypeError, r"seed")),
    (22, "Network.init", "seed=np.int64(3)", lambda: NET.init(0.1, seed=np.int64(3)), ok(lambda r: np.array_equal(r[0], NET.init(0.1, seed=3)[0]))),
    (23, "Network.init", "batch=0", lambda: NET.init(0.1, batch=0), error(ValueError, r"batch")),
    (24, "Network.init", "batch=2.0", lambda: NET.init(0.1, batch=2.0), error(TypeError, r"batch")),
    (25, "Network.init", "batch=[]", lambda: NET.init(0.1, batch=[]), ok(lambda r: [b.shape for b in r] == [(4, 5), (2, 4)])),
    (26, "Network.init", "balanced init with a bottleneck", lambda: lt.FullyConnected([5, 1, 2]).init(scheme="balanced"), error(ValueError, r"balanced init")),
    (27, "Network.init", "scheme of another network", lambda: lt.Diagonal(3, 2).init(scheme="balanced"), error(ValueError, r"scheme")),
    (28, "Network.end_to_end", "params as a tuple", lambda: NET.end_to_end(tuple(P)), ok(lambda r: np.allclose(r, _theta(P)))),
    (29, "Network.end_to_end", "nested lists", lambda: NET.end_to_end([p.tolist() for p in P]), ok(lambda r: np.allclose(r, _theta(P)))),
    (30, "Network.end_to_end", "float32 params", lambda: NET.end_to_end([p.astype(np.float32) for p in P]), ok(lambda r: r.dtype == np.float64 and np.allclose(r, _theta(P), rtol=1e-6))),
    (31, "Network.end_to_end", "integer params", lambda: NET.end_to_end([np.ones((4, 5), int), np.ones((2, 4), int)]), ok(lambda r: np.all(r == 4.0))),
    (32, "Network.end_to_end", "complex params", lambda: NET.end_to_end([p + 1j for p in P]), error(TypeError, r"params\[0\] must be real")),
    (33, "Network.end_to_end", "NaN in params (convention: NaN propagates)", lambda: NET.end_to_end(_nan_params()), convention(lambda r: np.isnan(r).any() and np.isfinite(r).any())),
    (34, "Network.end_to_end", "string params", lambda: NET.end_to_end([np.full((4, 5), "a"), P[1]]), error(TypeError, r"params\[0\]")),
    (35, "Network.end_to_end", "layers in the wrong order", lambda: NET.end_to_end(P[::-1]), error(ValueError, r"params\[0\]")),
    (36, "Network.end_to_end", "params of another net", lambda: NET.end_to_end(lt.FullyConnected([5, 3, 2]).init(0.1, seed=0)), error(ValueError, r"params\[0\]")),
    (37, "Network.end_to_end", "mismatched batch axes", lambda: NET.end_to_end([P[0][None], P[1]]), error(ValueError, r"batch shape")),
    (38, "Network.end_to_end", "empty list", lambda: NET.end_to_end([]), error(ValueError, r"params must have 2 blocks")),
    (39, "Network.end_to_end", "batch axis of length 0", lambda: NET.end_to_end([np.zeros((0, 4, 5)), np.zeros((0, 2, 4))]), ok(lambda r: r.shape == (0, 5, 2))),
    (40, "Network.end_to_end", "depth 1, then mutate params", _alias_end_to_end, ok(lambda r: r is True)),
    (41, "Network.vjp", "g of the wrong shape", lambda: NET.vjp(P, np.ones(5)), error(ValueError, r"\bg must")),
    (42, "Network.vjp", "NaN in g (convention: NaN propagates)", lambda: NET.vjp(P, np.full((5, 2), np.nan)), convention(lambda r: all(np.isnan(b).all() for b in r))),
    (43, "Network.jvp", "v with another batch shape", lambda: NET.jvp(P, [v[None].repeat(3, 0) for v in V]), ok(lambda r: r.shape == (3, 5, 2))),
    (44, "losses.SquaredLoss", "lists", lambda: lt.SquaredLoss(X.tolist(), Y.tolist()).value(_theta(P)), ok(lambda r: np.isclose(r, SQ.value(_theta(P))))),
    (45, "losses.SquaredLoss", "float32 X", lambda: lt.SquaredLoss(X.astype(np.float32), Y).X.dtype, ok(lambda r: r == np.float64)),
    (46, "losses.SquaredLoss", "integer Y", lambda: lt.SquaredLoss(np.eye(2), np.array([1, 1])).value(np.zeros(2)), ok(lambda r: r == 0.5)),
    (47, "losses.SquaredLoss", "complex X", lambda: lt.SquaredLoss(X + 1j, Y), error(TypeError, r"\bX must be real")),
    (48, "losses.SquaredLoss", "0 samples", lambda: lt.SquaredLoss(np.zeros((0, 5)), np.zeros((0, 2))), error(ValueError, r"\bX must have at least one sample")),
    (49, "losses.SquaredLoss", "Y with inf", lambda: lt.SquaredLoss(X, np.full((10, 2), np.inf)), error(ValueError, r"\bY\b")),
    (50, "losses.SquaredLoss", "X transposed", lambda: lt.SquaredLoss(X.T, Y), error(ValueError, r"\bY\b")),
    (51, "losses.SquaredLoss", "normalization=None", lambda: lt.SquaredLoss(X, Y, normalization=None), error(ValueError, r"normalization")),
    (52, "losses.LogisticLoss", "boolean labels", lambda: lt.LogisticLoss(XS, YS > 0), error(ValueError, r"\by must contain")),
    (53, "losses.LogisticLoss", "2-D labels", lambda: lt.LogisticLoss(XS, YS[:, None]), error(ValueError, r"\by must be 1")),
    (54, "losses.SquaredLoss", "Y with fewer rows", lambda: lt.SquaredLoss(X, Y[:2]), error(ValueError, r"\bY\b")),
    (55, "losses.LogisticLoss", "y of the wrong length", lambda: lt.LogisticLoss(XS, YS[:9]), error(ValueError, r"\by\b")),
    (56, "losses.LogisticLoss", "NaN in X", lambda: lt.LogisticLoss(np.full((10, 5), np.nan), YS), error(ValueError, r"\bX\b")),
    (57, "Loss.value", "theta of the wrong shape", lambda: SQ.value(np.ones(5)), error(ValueError, r"theta")),
    (58, "Loss.hvp", "u of the wrong shape", lambda: SQ.hvp(_theta(P), np.ones(5)), error(ValueError, r"\bu must")),
    (59, "losses.SquaredLoss", "rescale X after building the loss", _alias_loss, ok(lambda r: r is True)),
    (60, "dynamics.gradient_flow", "t_eval=[]", lambda: lt.gradient_flow(NET_R, LOSS_R, P_R, []), error(ValueError, r"t_eval")),
    (61, "dynamics.gradient_flow", "t_eval scalar", lambda: lt.gradient_flow(NET_R, LOSS_R, P_R, 5.0), error(ValueError, r"t_eval")),
    (62, "dynamics.gradient_flow", "t_eval with NaN", lambda: lt.gradient_flow(NET_R, LOSS_R, P_R, [0, np.nan]), error(ValueError, r"t_eval")),
    (63, "dynamics.gradient_flow", "t_eval negative", lambda: lt.gradient_flow(NET_R, LOSS_R, P_R, [-1, 1]), error(ValueError, r"t_eval")),
    (64, "dynamics.gradient_flow", "t_eval repeated", lambda: lt.gradient_flow(NET_R, LOSS_R, P_R, [0, 1, 1]), error(ValueError, r"t_eval")),
    (65, "dynamics.gradient_flow", "t_eval=[0]", lambda: lt.gradient_flow(NET_R, LOSS_R, P_R, [0]), ok(lambda r: len(r) == 1)),
    (66, "dynamics.gradient_flow", "t_eval ints not from 0", lambda: lt.gradient_flow(NET_R, LOSS_R, P_R, [1, 2]), ok(lambda r: list(r.t) == [1.0, 2.0])),
    (67, "dynamics.gradient_flow", "rtol=0", lambda: lt.gradient_flow(NET_R, LOSS_R, P_R, [0, 1], rtol=0), error(ValueError, r"rtol")),
    (68, "dynamics.gradient_flow", "rtol=1e-20", lambda: lt.gradient_flow(NET_R, LOSS_R, P_R, [0, 0.1], rtol=1e-20), ok(lambda r: np.all(np.isfinite(r.loss)))),
    (69, "dynamics.gradient_flow", "method='rk45'", lambda: lt.gradient_flow(NET_R, LOSS_R, P_R, [0, 1], method="rk45"), error(ValueError, r"method")),
    (70, "dynamics.gradient_flow", "params with inf", lambda: lt.gradient_flow(NET_R, LOSS_R, _with(P_R, 1, np.full((1, 3), np.inf)), [0, 1]), error(ValueError, r"params\[1\]")),
    (71, "dynamics.gradient_flow", "complex params", lambda: lt.gradient_flow(NET_R, LOSS_R, [p + 0j for p in P_R], [0, 1]), error((TypeError, ValueError), r"params\[0\] must be real")),
    (72, "dynamics.gradient_flow", "float32 params", lambda: lt.gradient_flow(NET_R, LOSS_R, [p.astype(np.float32) for p in P_R], [0, 1]), ok(lambda r: np.all(np.isfinite(r.loss)))),
    (73, "dynamics.gradient_flow", "custom gradient that blows up", lambda: lt.gradient_flow(NET_R, LOSS_R, P_R, [0, 1e6], gradient=lambda p: [-10 * b ** 3 for b in p]), error(RuntimeError, r"gradient flow")),
    (74, "dynamics.gradient_flow", "custom gradient of the wrong shapes", lambda: lt.gradient_flow(NET_R, LOSS_R, P_R, [0, 1], gradient=lambda p: [b.ravel()[:1] for b in p]), error(ValueError, r"gradient\(params\)")),
    (75, "dynamics.gradient_flow", "mutate caller params after the run", _flow_caller_mutation, ok(lambda r: r is True)),
    (76, "dynamics.gradient_flow", "blow-up at t = 10: the time reported", _blow_up_time, ok(lambda r: r is not None and 9.9 < r <= 10.0)),
    (77, "dynamics.gradient_flow", "depth 1: edit params, look at theta", _flow_theta_view, ok(lambda r: r is True)),
    (78, "dynamics.gradient_descent", "step=-0.1", lambda: lt.gradient_descent(NET_R, LOSS_R, P_R, -0.1, 5), error(ValueError, r"step")),
    (79, "dynamics.gradient_descent", "step=NaN", lambda: lt.gradient_descent(NET_R, LOSS_R, P_R, np.nan, 5), error(ValueError, r"step")),
    (80, "dynamics.gradient_descent", "step=inf", lambda: lt.gradient_descent(NET_R, LOSS_R, P_R, np.inf, 5), error(ValueError, r"step")),
    (81, "dynamics.gradient_descent", "step as an array", lambda: lt.gradient_descent(NET_R, LOSS_R, P_R, np.array([0.1, 0.2]), 5), error(TypeError, r"step")),
    (82, "dynamics.gradient_descent", "step float32", lambda: lt.gradient_descent(NET_R, LOSS_R, P_R, np.float32(0.1), 5), ok(lambda r: np.all(np.isfinite(r.loss)))),
    (83, "dynamics.gradient_descent", "n_steps=10.0", lambda: lt.gradient_descent(NET_R, LOSS_R, P_R, 0.1, 10.0), error(TypeError, r"n_steps")),
    (84, "dynamics.gradient_descent", "n_steps=0", lambda: lt.gradient_descent(NET_R, LOSS_R, P_R, 0.1, 0), ok(lambda r: len(r) == 1)),
    (85, "dynamics.gradient_descent", "record_every > n_steps", lambda: lt.gradient_descent(NET_R, LOSS_R, P_R, 0.1, 5, record_every=9), ok(lambda r: list(r.t) == [0.0, 5.0])),
    (86, "dynamics.gradient_descent", "normalize='Loss'", lambda: lt.gradient_descent(NET_R, LOSS_R, P_R, 0.1, 5, normalize="Loss"), error(ValueError, r"normalize")),
    (87, "dynamics.gradient_descent", "step 1e3 (divergence)", lambda: lt.gradient_descent(NET_R, LOSS_R, P_R, 1e3, 50), ok(lambda r: bool(r.diverged) and np.all(np.isfinite(r.loss)))),
    (88, "dynamics.gradient_descent", "step 1e300", lambda: lt.gradient_descent(NET_R, LOSS_R, P_R, 1e300, 5), ok(lambda r: bool(r.diverged) and all(np.all(np.isfinite(b)) for b in r.final_params))),
    (89, "dynamics.gradient_descent", "normalize='loss' at an exact minimum", lambda: _exact_minimum("loss"), ok(lambda r: r.diverged is False and len(r) == 11)),
    (90, "dynamics.gradient_descent", "normalize='loss', loss underflows", _underflow_run, ok(lambda r: r.diverged is False and r.loss[-1] == 0.0 and len(r) == 11)),
    (91, "dynamics.gradient_descent", "normalize='gradient' at an exact minimum", lambda: _exact_minimum("gradient"), ok(lambda r: r.diverged is False and np.all(r.loss == 0))),
    (92, "dynamics.gradient_descent", "diverged at step 0: if tr.diverged", _diverged_at_zero, ok(lambda r: bool(r.diverged) and r.diverged == 0)),
    (93, "dynamics.gradient_descent", "keep_params='no'", lambda: lt.gradient_descent(NET_R, LOSS_R, P_R, 0.1, 3, keep_params="no"), error(TypeError, r"keep_params")),
    (94, "dynamics.gradient_descent", "loss of another problem", lambda: lt.gradient_descent(NET_R, SQ, P_R, 0.1, 3), error(ValueError, r"end-to-end shape")),
    (95, "dynamics.gradient_descent", "mutate params / final_params after the run", _descent_no_alias, ok(lambda r: r is True)),
    (96, "metrics.sharpness", "tol=0", lambda: lt.metrics.sharpness(NET_R, LOSS_R, P_R, tol=0), error(ValueError, r"tol")),
    (97, "metrics.sharpness", "max_iter=0", lambda: lt.metrics.sharpness(NET_R, LOSS_R, P_R, max_iter=0), error(ValueError, r"max_iter")),
    (98, "metrics.sharpness", "max_iter=2", lambda: lt.metrics.sharpness(NET_R, LOSS_R, P_R, max_iter=2), error(RuntimeError, r"max_iter")),
    (99, "metrics.sharpness", "NaN params", lambda: lt.metrics.sharpness(NET_R, LOSS_R, _with(P_R, 0, np.full((3, 3), np.nan))), error(ValueError, r"params\[0\]")),
    (100, "metrics.sharpness", "loss of another problem", lambda: lt.metrics.sharpness(NET_R, SQ, P_R), error(ValueError, r"end-to-end shape")),
    (101, "metrics.sharpness", "seed='a'", lambda: lt.metrics.sharpness(NET_R, LOSS_R, P_R, seed="a"), error(TypeError, r"seed")),
    (102, "metrics.sharpness", "integer params", lambda: lt.metrics.sharpness(NET_R, LOSS_R, [np.ones((3, 3), int), np.ones((1, 3), int)]), ok(lambda r: np.isfinite(r))),
    (103, "metrics.imbalance", "layers that do not chain", lambda: lt.metrics.imbalance([np.ones((4, 5)), np.ones((2, 3))]), error(ValueError, r"do not chain")),
    (104, "metrics.norm_imbalance", "matrices with core_ndim=1", lambda: lt.metrics.norm_imbalance(P, 1), error(ValueError, r"core_ndim")),
    (105, "metrics.empirical_rate", "NaN loss entry", lambda: lt.metrics.empirical_rate([0, 1, 2], [1.0, np.nan, 0.5]), error(ValueError, r"loss")),
    (106, "metrics.empirical_rate", "t and loss of different lengths", lambda: lt.metrics.empirical_rate([0, 1, 2], [1.0, 0.5]), error(ValueError, r"\bt must")),
    (107, "metrics.distance", "mismatched shapes", lambda: lt.metrics.distance(np.ones(3), np.ones(4)), error(ValueError, r"\ba and b\b")),
    (108, "metrics.angle", "a zero vector (convention: NaN, no warning)", lambda: lt.metrics.angle(np.zeros(3), np.ones(3)), convention(lambda r: np.isnan(r))),
    (109, "metrics.relative_distance", "zero reference", lambda: lt.metrics.relative_distance(np.ones(3), np.zeros(3)), error(ValueError, r"\bb\b")),
    (110, "metrics.effective_rank", "zero matrix", lambda: lt.metrics.effective_rank(np.zeros((3, 3))), error(ValueError, r"\bA must")),
    (111, "metrics.alignment", "vector layers", lambda: lt.metrics.alignment([np.ones(3), np.ones(3)]), error(ValueError, r"params\[0\]")),
    (112, "metrics.jacobian", "batched params", lambda: lt.metrics.jacobian(NET_R, NET_R.init(0.1, batch=2)), error(ValueError, r"params")),
    (113, "theory.sharpness_lower_bound", "underdetermined X", lambda: lt.theory.sharpness_lower_bound(X[:3], X[:3, 0], 2), error(ValueError, r"\bX\b")),
    (114, "theory.sharpness_lower_bound", "depth=0", lambda: lt.theory.sharpness_lower_bound(XR, YR, 0), error(ValueError, r"depth")),
    (115, "theory.sharpness_lower_bound", "2-D y", lambda: lt.theory.sharpness_lower_bound(XR, YR[:, None], 2), error(ValueError, r"\by\b")),
    (116, "theory.imbalance_rate_bound", "overdetermined X", lambda: lt.theory.imbalance_rate_bound(XR, np.ones((2, 3)), np.ones((1, 2))), error(ValueError, r"\bX\b")),
    (117, "theory.saxe_mode", "negative time", lambda: lt.theory.saxe_mode(-1.0, 1.0, 0.1), error(ValueError, r"\bt\b")),
    (118, "theory.reduced_rank_regression", "rank=-1", lambda: lt.theory.reduced_rank_regression(X, Y, -1), error(ValueError, r"rank")),
    (119, "theory.l2_max_margin", "non-separable data", lambda: lt.theory.l2_max_margin(np.array([[1.0], [1.0]]), np.array([1.0, -1.0])), error(ValueError, r"separable")),
    (120, "theory.argmin_Q", "inconsistent constraint", lambda: lt.theory.argmin_Q(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([1.0, 2.0]), 0.1, 2), error(ValueError, r"\b(A|y)\b")),
    (121, "theory.width_scaling_exponent", "alpha=0.1", lambda: lt.theory.width_scaling_exponent(0.1), error(ValueError, r"alpha")),
    (122, "theory.modified_loss", "eta=NaN", lambda: lt.theory.modified_loss(NET_R, LOSS_R, P_R, np.nan), error(ValueError, r"eta")),
    (123, "theory.modified_loss_gradient", "eta float32", lambda: lt.theory.modified_loss_gradient(NET_R, LOSS_R, P_R, np.float32(0.1)), ok(lambda r: all(np.all(np.isfinite(b)) for b in r))),
    (124, "theory.gronwall_bound", "negative loss0", lambda: lt.theory.gronwall_bound([0.0, 1.0], [1.0, 1.0], -1.0), error(ValueError, r"loss0")),
    (125, "theory.plateau_solution", "singular Sigma_x", lambda: lt.theory.plateau_solution(np.zeros((2, 2)), np.eye(2), 1), error(ValueError, r"Sigma_x")),
    (126, "theory.h_L", "tau beyond tau_star", lambda: lt.theory.h_L(2.0, 3), error(ValueError, r"tau")),
    (127, "theory.tau_L", "L=1", lambda: lt.theory.tau_L(0.5, 1), error(ValueError, r"\bL\b")),
    (128, "theory.s_of_t", "NaN t", lambda: lt.theory.s_of_t(np.nan, 2), error(ValueError, r"\bt\b")),
    (129, "theory.linear_model_iterates", "fractional steps", lambda: lt.theory.linear_model_iterates(1.0, 1.0, 0.1, 0.0, [0.5, 1.5]), error((TypeError, ValueError), r"steps")),
    (130, "theory.spectral_init", "negative w0", lambda: lt.theory.spectral_init(np.eye(2), np.eye(2), -1.0), error(ValueError, r"w0")),
    (131, "data.underdetermined_regression", "seed=1.5", lambda: lt.data.underdetermined_regression(3, 5, seed=1.5), error(TypeError, r"seed")),
    (132, "data.underdetermined_regression", "n=0", lambda: lt.data.underdetermined_regression(0, 5), error(ValueError, r"\bn\b")),
    (133, "data.separable_classification", "margin=0", lambda: lt.data.separable_classification(5, 3, margin=0), error(ValueError, r"margin")),
    (134, "data.aligned_regression", "empty lambdas", lambda: lt.data.aligned_regression([], [], n=3), error(ValueError, r"lambdas")),
    (135, "data.aligned_regression", "n < d", lambda: lt.data.aligned_regression([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], n=2), error(ValueError, r"\bn\b")),
    (136, "data.overdetermined_regression", "noise=-1", lambda: lt.data.overdetermined_regression(5, 2, noise=-1), error(ValueError, r"noise")),
    (137, "data.random_orthogonal", "d=np.int64(3)", lambda: lt.data.random_orthogonal(np.int64(3), seed=0), ok(lambda r: np.allclose(r @ r.T, np.eye(3)))),
    (138, "sweeps.sweep", "empty grid", lambda: lt.sweep(lambda a: a, {}), error(ValueError, r"grid")),
    (139, "sweeps.sweep", "empty list of configs", lambda: lt.sweep(lambda a: a, [], backend="sequential"), ok(lambda r: len(r) == 0)),
    (140, "sweeps.sweep", "an empty axis", lambda: lt.sweep(lambda a: a, {"a": []}), error(ValueError, r"grid\['a'\]")),
    (141, "sweeps.sweep", "a 0-d array as an axis", lambda: lt.sweep(lambda a: a, {"a": np.array(3.0)}), error(TypeError, r"grid\['a'\]")),
    (142, "sweeps.sweep", "fn raising for one config (sequential)", _sweep_fail("sequential", 1), error(RuntimeError, r"\{'a': 2\}")),
    (143, "sweeps.sweep", "fn raising for one config (loky)", _sweep_fail("loky", 2), error(RuntimeError, r"\{'a': 2\}")),
    (144, "sweeps.sweep", "a key fn does not accept", lambda: lt.sweep(lambda a: a, {"a": [1], "c": [2]}, backend="sequential"), error((TypeError, RuntimeError), r"'c'")),
    (145, "sweeps.sweep", "n_jobs=2.0", lambda: lt.sweep(lambda a: a, {"a": [1]}, n_jobs=2.0), error(ValueError, r"n_jobs")),
    (146, "sweeps.SweepResult.where", "where(lr=0.3) on an np.arange grid", _where_arange, ok(lambda r: len(r) == 1 and abs(r[0] - 0.3) < 1e-12)),
    (147, "sweeps.sweep", "backend='dask' without a client", lambda: lt.sweep(lambda a: a, {"a": [1]}, backend="dask"), error(RuntimeError, r"dask")),
    (148, "widgets.explorer", "empty controls", _explorer({}), error(ValueError, r"controls")),
    (149, "widgets.explorer", "an empty grid", _explorer({"a": []}), error(ValueError, r"controls\['a'\]")),
    (150, "widgets.explorer", "a scalar instead of values", _explorer({"a": 3}), error(TypeError, r"controls\['a'\]")),
    (151, "widgets.explorer", "a string as the values", _explorer({"a": "abc"}), error(TypeError, r"controls\['a'\]")),
    (152, "widgets.explorer", "initial with an unknown name", _explorer({"a": [1, 2]}, initial={"z": 1}), error(ValueError, r"initial\['z'\]")),
    (153, "widgets.explorer", "draw not callable", lambda: lt.widgets.explorer(3, {"a": [1]}), error(TypeError, r"draw")),
    (154, "widgets.explorer", "duplicate values", _explorer({"a": [1, 1, 2]}), error(ValueError, r"controls\['a'\]")),
    (155, "widgets.explorer", "unhashable values", _explorer({"a": [[1], [2]]}), error(TypeError, r"controls\['a'\]")),
    (156, "widgets.explorer", "a NaN value", _explorer({"a": [1.0, np.nan]}), error(ValueError, r"controls\['a'\]")),
    (157, "widgets.explorer", "draw without that argument", _explorer({"c": [1]}), error(TypeError, r"'c'")),
    (158, "widgets.explorer", "figsize=(-1, 2)", _explorer({"a": [1]}, figsize=(-1, 2)), error(ValueError, r"figsize must be")),
]

# The 2026-12-07 review (issue 28): its table's agreed non-clear cases outside lintheory/theory, the
# new cases N05, N06, N11, and the weak NaN messages of its fault scenarios.
_XC = np.random.default_rng(3).standard_normal((6, 3))
_YC = np.random.default_rng(4).standard_normal(6)


def _per_member_subset(batch):
    net, loss = lt.FullyConnected([3, 2, 1]), lt.SquaredLoss(_XC, _YC)
    member_loss = loss.subset(np.array([[0, 1], [2, 3]]))             # 2 members, 2 samples each
    return lambda: lt.gradient_descent(net, member_loss, net.init(0.5, seed=0, batch=batch), 0.1, 3)


def _sgd_per_member():
    net, loss = lt.FullyConnected([3, 2, 1]), lt.SquaredLoss(_XC, _YC)
    member_loss = loss.subset(np.array([[0, 1], [2, 3]]))
    return lt.stochastic_gradient_descent(net, member_loss, net.init(0.5, seed=0, batch=2), 0.1, 3,
                                          batch_size=1, seed=0)


def _where_nan():
    return lt.sweep(lambda a: 1, {"a": [np.nan, 1.0]}, backend="sequential").where(a=np.nan)


def _locked(a):
    import threading
    return a, threading.Lock()


CASES += [
    (201, "dynamics.stochastic_gradient_descent", "a per-member subset loss", _sgd_per_member, error(ValueError, r"loss must hold one sample set")),
    (202, "sensing.SensingLoss.completion", "values of the wrong length", lambda: lt.SensingLoss.completion([[0, 0], [1, 1]], [1.0], (2, 2)), error(ValueError, r"^values must have one value per observed entry of mask_indices \(2\)")),
    (203, "sensing.SensingLoss.completion", "values with NaN", lambda: lt.SensingLoss.completion([[0, 0]], [np.nan], (2, 2)), error(ValueError, r"^values contains NaN")),
    (204, "sensing.SensingLoss.completion", "no observed entry", lambda: lt.SensingLoss.completion(np.zeros((0, 2), int), [], (2, 2)), error(ValueError, r"mask_indices must list at least one")),
    (205, "metrics.tangent_kernel", "NaN in W1", lambda: lt.metrics.tangent_kernel(_XC, np.full((2, 3), np.nan), np.ones((1, 2))), error(ValueError, r"^W1 contains NaN")),
    (206, "metrics.tangent_kernel", "W1='abc'", lambda: lt.metrics.tangent_kernel(_XC, "abc", np.ones((1, 2))), error(TypeError, r"^W1 must be an array")),
    (207, "metrics.kernel_rate", "NaN in W2", lambda: lt.metrics.kernel_rate(_XC, np.ones((2, 3)), np.full((1, 2), np.nan)), error(ValueError, r"^W2 contains NaN")),
    (208, "display.round_up", "digits=np.int64(2)", lambda: lt.round_up(0.2222, np.int64(2)), ok(lambda r: r == 0.23)),
    (209, "display.round_up", "an array", lambda: lt.round_up(np.array([1.0, 2.0])), error(TypeError, r"x must be a single real number")),
    (210, "display.round_up", "subnormal 5e-324", lambda: lt.round_up(5e-324), ok(lambda r: r == 5e-324)),
    (211, "display.round_down", "subnormal 5e-324", lambda: lt.round_down(5e-324), ok(lambda r: r == 5e-324)),
    (212, "display.round_up", "subnormal 1.234e-320, 2 digits", lambda: lt.round_up(1.234e-320, 2), ok(lambda r: r >= 1.234e-320 and f"{r:.1e}" == "1.3e-320")),
    (213, "display.power_of_ten_bound", "1.5e308 (no float power of ten above)", lambda: lt.power_of_ten_bound(1.5e308), ok(lambda r: r == np.inf)),
    (214, "sweeps.sweep", "grid={1: [1, 2]}", lambda: lt.sweep(lambda a: a, {1: [1, 2]}), error(TypeError, r"grid's keys must be parameter names")),
    (215, "sweeps.sweep", "a config with a non-str key", lambda: lt.sweep(lambda a: a, [{1: 2}], backend="sequential"), error(TypeError, r"grid\[0\]'s keys")),
    (216, "sweeps.SweepResult.where", "where(a=nan) on a NaN grid", _where_nan, ok(lambda r: r == [1])),
    (217, "sweeps.sweep", "fn returns an unpicklable object (loky)", lambda: lt.sweep(_locked, {"a": [1]}, n_jobs=1), error(RuntimeError, r"cannot be sent back from a worker process.*backend='sequential'")),
    (218, "widgets.explorer", "0.30000000000000004 and 0.3", _explorer({"a": [0.1 + 0.2, 0.3]}), error(ValueError, r"controls\['a'\] values .* both show as '0.3'")),
    (219, "widgets.explorer", "figsize=(0, 3)", _explorer({"a": [1]}, figsize=(0, 3)), error(ValueError, r"figsize must be")),
    (220, "dynamics.gradient_descent", "n_steps=10**12 (records of 7 TiB)", lambda: lt.gradient_descent(NET_R, LOSS_R, P_R, 0.1, 10**12), error(ValueError, r"n_steps=1000000000000 with record_every=1 asks for")),
    (221, "dynamics.gradient_descent", "a per-member loss of 2 members, a batch of 3", _per_member_subset(3), error(ValueError, r"per-member subset for a batch of shape \(2,\)")),
    (222, "dynamics.gradient_descent", "a per-member loss of 2 members, a batch of 2", _per_member_subset(2), ok(lambda r: r.loss.shape == (4, 2))),
    (223, "display.round_up", "digits=1.5", lambda: lt.round_up(0.5, 1.5), error(TypeError, r"digits must be an integer")),
    (224, "sensing.SensingLoss", "no measurement matrix", lambda: lt.SensingLoss(np.zeros((0, 2, 2)), []), error(ValueError, r"A must hold at least one")),
]

# Cases in modules owned by other engineers (lintheory/theory/*): re-created here, fixed there.


def _raised_in_lintheory(err: BaseException) -> bool:
    frames = traceback.extract_tb(err.__traceback__)
    return bool(frames) and "lintheory" in frames[-1].filename.replace("\\", "/").split("/site-packages/")[-1]


def verdict(case) -> tuple[str, str]:
    """``(verdict, what happened)`` for one case, in the review's vocabulary."""
    _, _, _, call, expect = case
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = call()
        except Exception as err:  # noqa: BLE001 - classified below
            text = f"{type(err).__name__}: {err}"
            if expect.kind != "error":
                return "REFUSED", text
            if isinstance(err, expect.exc) and re.search(expect.pattern, str(err)):
                return "CLEAR", text
            if _raised_in_lintheory(err) or isinstance(err, (TypeError, ValueError, RuntimeError)) and \
                    "lintheory" in "".join(traceback.format_tb(err.__traceback__)[-1:]):
                return "VAGUE", text
            return "OBSCURE", text
    runtime = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    if expect.kind == "error":
        return "SILENT", f"accepted: {str(result)[:80]}"
    try:
        good = bool(expect.check(result))
    except Exception as err:  # noqa: BLE001
        good, result = False, f"check raised {type(err).__name__}: {err}"
    if not good:
        return "SILENT", f"wrong result: {str(result)[:80]}"
    if expect.kind == "convention":
        return ("CONVENTION", "documented convention") if not runtime else ("SILENT", f"warned: {runtime[0].message}")
    return "OK", "handled"
