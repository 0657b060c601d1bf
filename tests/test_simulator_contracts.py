"""The simulators never lie (issue 17): loss 0, divergence, records, failure times and aliasing.

Each test here failed on the package before the fix it pins (see the report of issue 17).
"""

import itertools

import numpy as np
import pytest
from scipy.special import softmax

import lintheory as lt


# ------------------------------------------------------------------ loss-normalized GD at loss 0
def test_loss_normalized_descent_started_at_an_exact_minimum_stays_put():
    X = np.array([[1.0, 2.0], [3.0, -1.0], [0.0, 1.0]])          # integer data: X @ w is exact
    w = np.array([2.0, -1.0])
    net, loss = lt.FullyConnected([2, 1]), lt.SquaredLoss(X, X @ w)
    p0 = [w[None, :].copy()]
    assert loss.value(net.end_to_end(p0)) == 0.0
    run = lt.gradient_descent(net, loss, p0, 0.1, 20, normalize="loss")
    assert run.diverged is False and run.message == "finished"
    assert len(run) == 21 and np.all(run.loss == 0.0)
    np.testing.assert_array_equal(run.final_params[0], p0[0])


@pytest.mark.parametrize("Loss", [lt.ExponentialLoss, lt.LogisticLoss])
def test_loss_normalized_descent_keeps_converging_after_the_loss_underflows(Loss):
    X, y = lt.data.separable_classification(20, 3, margin=0.3, seed=12)
    net, loss = lt.FullyConnected([3, 1]), Loss(X, y)
    w_svm = lt.theory.l2_max_margin(X, y)
    run = lt.gradient_descent(net, loss, [np.zeros((1, 3))], 50.0, 1500, normalize="loss", record_every=100)
    assert run.diverged is False and len(run) == 16 and run.message == "finished"
    assert run.loss[-1] == 0.0                                     # it did underflow...
    assert np.all(np.diff(run.loss) <= 0)
    margins = np.min((run.theta @ X.T) * y, axis=1)
    assert np.all(np.diff(margins[1:]) > 0)                        # ...and the margin kept growing
    angles = lt.metrics.angle(run.theta[1:], w_svm)
    assert angles[-1] < angles[0]


@pytest.mark.parametrize("Loss", [lt.ExponentialLoss, lt.LogisticLoss])
def test_normalized_grad_is_grad_over_value_and_stays_exact_in_the_tail(Loss):
    X, y = lt.data.separable_classification(15, 4, margin=0.2, seed=2)
    loss = Loss(X, y)
    theta = np.random.default_rng(3).standard_normal((5, 4))
    value, ratio = loss.normalized_grad(theta)
    np.testing.assert_allclose(ratio, loss.grad(theta) / loss.value(theta)[:, None], rtol=1e-12)
    np.testing.assert_array_equal(value, loss.value(theta))
    w = lt.theory.l2_max_margin(X, y)                              # min_i y_i x_i.w = 1
    for s in (20, 200, 2000):                                      # exp(-2000) == 0 in float64
        z = s * (X @ w) * y
        weights = softmax(-z)      # exp(-z_i) / sum_j exp(-z_j); the logistic tail agrees to e^-20
        expected = -(weights * y) @ X
        value, ratio = loss.normalized_grad(s * w)
        np.testing.assert_allclose(ratio, expected, rtol=1e-7)
        assert (value == 0.0) == (s == 2000)


def test_generic_normalized_grad_is_zero_where_the_loss_is_zero():
    X = np.eye(2)
    loss = lt.SquaredLoss(X, np.array([1.0, 2.0]))
    value, ratio = loss.normalized_grad(np.array([[1.0, 2.0], [0.0, 0.0]]))
    np.testing.assert_array_equal(value, [0.0, 1.25])
    np.testing.assert_array_equal(ratio[0], [0.0, 0.0])
    np.testing.assert_allclose(ratio[1], loss.grad(np.zeros(2)) / 1.25)


# ------------------------------------------------------------------ divergence and rollback
def _deep_problem(depth=4):
    X, y = lt.data.overdetermined_regression(30, 3, seed=8)
    return lt.FullyConnected([3] * depth + [1]), lt.SquaredLoss(X, y)


def test_a_batch_member_that_diverges_with_finite_weights_keeps_its_last_finite_state():
    net, loss = _deep_problem(6)
    p0 = net.init(0.5, seed=1, batch=3)
    for b in p0:
        b[1] *= 2.0          # member 1 is unstable at this step: its end-to-end product and partial
                             # products overflow (the weights stay finite), so its pull-back is 0 * inf
    run = lt.gradient_descent(net, loss, p0, 0.2, 200)
    k = int(run.diverged_step[1])
    assert run.diverged_step[0] == -1 and k > 0
    last = [rec[k - 1, 1] for rec in run.params]           # the last recorded finite state
    assert all(np.all(np.isfinite(b)) for b in last)
    for fin, ref in zip(run.final_params, last):
        np.testing.assert_array_equal(fin[1], ref)        # frozen there, not NaN
    alone = lt.gradient_descent(net, loss, [b[1] for b in p0], 0.2, 200)
    assert alone.diverged == k
    for fin, ref in zip(run.final_params, alone.final_params):
        np.testing.assert_allclose(fin[1], ref, rtol=1e-12)     # batched matmuls round differently


def test_a_batch_member_whose_product_overflows_at_step_0_keeps_its_initial_weights():
    net, loss = _deep_problem()
    p0 = net.init(0.5, seed=2, batch=2)
    for b in p0:
        b[1] *= 1e110        # weights finite (1e110); products of 3 or 4 layers overflow (1e330)
    for normalize in (None, "loss", "gradient"):
        run = lt.gradient_descent(net, loss, p0, 0.01, 5, normalize=normalize)
        assert list(run.diverged_step) == [-1, 0]
        for fin, ref in zip(run.final_params, p0):
            np.testing.assert_array_equal(fin[1], ref[1])


@pytest.mark.parametrize("batched", [False, True])
def test_rollback_when_the_parameters_themselves_overflow(batched):
    X, y = lt.data.overdetermined_regression(10, 2, seed=4)
    net, loss = lt.FullyConnected([2, 1]), lt.SquaredLoss(X, y)
    w0 = np.array([[3.0, -2.0]])
    step = 1e308
    grad = net.vjp([w0], loss.grad(net.end_to_end([w0])))[0]
    with np.errstate(over="ignore"):
        assert np.any(np.isinf(w0 - step * grad))          # the first step overflows the weights
    if batched:
        run = lt.gradient_descent(net, loss, [np.stack([w0, w0])], [1e-3, step][1], 6)
        assert list(run.diverged_step) == [1, 1]
        finals = list(run.final_params[0])
    else:
        run = lt.gradient_descent(net, loss, [w0], step, 6)
        assert run.diverged == 1 and list(run.t) == [0.0]
        finals = [run.final_params[0]]
    for final in finals:
        np.testing.assert_array_equal(final, w0)         # rolled back to the last finite state


def test_diverged_is_truthy_for_a_run_that_diverges_at_step_0():
    net, loss = _deep_problem()
    p0 = [1e80 * b for b in net.init(0.5, seed=3)]
    run = lt.gradient_descent(net, loss, p0, 0.01, 5)
    assert run.diverged == 0 and bool(run.diverged) is True
    assert isinstance(run.diverged, lt.dynamics.DivergenceStep) and f"{run.diverged}" == "0"
    assert len(run) == 0 and "non-finite at step 0" in run.message
    ok = lt.gradient_descent(net, loss, net.init(0.5, seed=3), 0.01, 5)
    assert ok.diverged is False


# ------------------------------------------------------------------ records
@pytest.mark.parametrize("n_steps, every", [(10, 3), (7, 2), (5, 5), (4, 9)])
def test_record_every_that_does_not_divide_n_steps(n_steps, every):
    X, Y = lt.data.underdetermined_regression(4, 6, 2, seed=5)
    net, loss = lt.FullyConnected([6, 3, 2]), lt.SquaredLoss(X, Y)
    p0 = net.init(0.5, seed=6)
    full = lt.gradient_descent(net, loss, p0, 0.05, n_steps)
    part = lt.gradient_descent(net, loss, p0, 0.05, n_steps, record_every=every)
    expected = sorted(set(range(0, n_steps + 1, every)) | {n_steps})
    assert list(part.t) == expected and part.stats["n_steps"] == n_steps
    idx = np.array(expected)
    np.testing.assert_array_equal(part.loss, full.loss[idx])
    np.testing.assert_array_equal(part.theta, full.theta[idx])
    for a, b in zip(part.params, full.params):
        np.testing.assert_array_equal(a, b[idx])
    for a, b in zip(part.final_params, full.final_params):
        np.testing.assert_array_equal(a, b)


def test_keep_params_false_keeps_only_the_final_state():
    X, Y = lt.data.underdetermined_regression(4, 6, 2, seed=5)
    net, loss = lt.FullyConnected([6, 3, 2]), lt.SquaredLoss(X, Y)
    p0 = net.init(0.5, seed=6)
    run = lt.gradient_descent(net, loss, p0, 0.05, 9, record_every=4, keep_params=False)
    full = lt.gradient_descent(net, loss, p0, 0.05, 9, record_every=4)
    assert run.params is None
    np.testing.assert_array_equal(run.loss, full.loss)
    for a, b in zip(run.final_params, full.final_params):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ gradient flow failures
def _blow_up_field(params):
    """d/dt p = p^2: from p(0) = 0.1 it blows up at t = 10 exactly."""
    return [-(params[0] ** 2)]


def test_gradient_flow_reports_the_time_the_integrator_failed():
    X, y = lt.data.overdetermined_regression(5, 1, seed=0)
    net, loss = lt.Diagonal(1, 1), lt.SquaredLoss(X, y)
    with pytest.raises(RuntimeError) as info:
        lt.gradient_flow(net, loss, [np.array([0.1])], [0.0, 5.0, 20.0], gradient=_blow_up_field)
    text = str(info.value)
    t_fail = float(text.split("t = ")[1].split(":")[0].split(";")[0])
    assert 9.9 < t_fail <= 10.0, text          # not 5.0, the last recorded time
    run = lt.gradient_flow(net, loss, [np.array([0.1])], [0.0, 5.0, 9.0], gradient=_blow_up_field)
    np.testing.assert_allclose(run.params[0][:, 0], 0.1 / (1 - 0.1 * run.t), rtol=1e-8)


def test_gradient_flow_on_failure_return_gives_the_partial_run_and_the_failure_time():
    X, y = lt.data.overdetermined_regression(5, 1, seed=0)
    net, loss = lt.Diagonal(1, 1), lt.SquaredLoss(X, y)

    def field(params):                     # finite everywhere, but the solution leaves every scale
        return [-(params[0] ** 2)]

    run = lt.gradient_flow(net, loss, [np.array([0.1])], [0.0, 5.0, 20.0], gradient=field,
                           on_failure="return", method="RK45")
    assert list(run.t) == [0.0, 5.0] or len(run.t) == 2
    assert "failed at t = " in run.message
    t_fail = float(run.message.split("t = ")[1].split(":")[0])
    assert 9.9 < t_fail <= 10.0
    assert np.shares_memory(run.final_params[0], run.params[0]) is False


def test_gradient_flow_with_only_the_initial_time():
    X, y = lt.data.overdetermined_regression(6, 2, seed=1)
    net, loss = lt.FullyConnected([2, 2, 1]), lt.SquaredLoss(X, y)
    p0 = net.init(0.3, seed=2)
    run = lt.gradient_flow(net, loss, p0, [0])
    assert list(run.t) == [0.0] and run.stats["nfev"] == 0
    np.testing.assert_array_equal(run.theta[0], net.end_to_end(p0))
    np.testing.assert_array_equal(run.loss, [loss.value(net.end_to_end(p0))])
    for a, b in zip(run.final_params, p0):
        np.testing.assert_array_equal(a, b)
        assert not np.shares_memory(a, b)


def test_gradient_flow_custom_gradient_of_the_wrong_shape_is_refused():
    X, y = lt.data.overdetermined_regression(6, 2, seed=1)
    net, loss = lt.FullyConnected([2, 2, 1]), lt.SquaredLoss(X, y)
    p0 = net.init(0.3, seed=2)
    with pytest.raises(ValueError, match=r"gradient\(params\)\[1\] must have the shape of params\[1\]"):
        lt.gradient_flow(net, loss, p0, [0, 1], gradient=lambda p: [p[0], p[1].ravel()])
    with pytest.raises(ValueError, match=r"must return a list of 2 arrays"):
        lt.gradient_flow(net, loss, p0, [0, 1], gradient=lambda p: p[0])
    with pytest.raises(TypeError, match="gradient must be callable"):
        lt.gradient_flow(net, loss, p0, [0, 1], gradient=3)


def test_gradient_flow_blow_up_in_the_chain_rule_gradient_is_reported():
    X, y = lt.data.overdetermined_regression(6, 2, seed=1)
    net, loss = lt.FullyConnected([2, 2, 2, 1]), lt.SquaredLoss(X, y)

    class Ascent(lt.SquaredLoss):          # gradient ascent on a depth-3 net: finite-time blow-up
        def value_and_grad(self, theta):
            value, g = super().value_and_grad(theta)
            return value, -g

    with pytest.raises(RuntimeError, match=r"gradient flow (blew up|failed at t = )"):
        lt.gradient_flow(net, Ascent(X, y), net.init(1.0, seed=0), [0, 1e6], method="RK45")


# ------------------------------------------------------------------ no aliasing
def _all_arrays(run):
    arrays = {"t": run.t, "theta": run.theta, "loss": run.loss}
    arrays.update({f"params[{k}]": a for k, a in enumerate(run.params or [])})
    arrays.update({f"final_params[{k}]": a for k, a in enumerate(run.final_params)})
    return arrays


@pytest.mark.parametrize("simulator", ["flow", "descent"])
@pytest.mark.parametrize("net", [lt.FullyConnected([3, 1]), lt.FullyConnected([3, 2]),
                                 lt.FullyConnected([3, 4, 1]), lt.Diagonal(3, 1)], ids=str)
def test_trajectory_arrays_share_no_memory_with_each_other_or_the_inputs(simulator, net):
    X, Y = lt.data.overdetermined_regression(8, 3, seed=3)
    if net.theta_shape != (3,):
        Y = np.stack([Y, -Y], axis=1)
    loss = lt.SquaredLoss(X, Y)
    p0 = net.init(0.3, seed=4)
    run = (lt.gradient_flow(net, loss, p0, [0, 0.5, 1.0]) if simulator == "flow"
           else lt.gradient_descent(net, loss, p0, 0.05, 4))
    arrays = _all_arrays(run)
    inputs = {f"p0[{k}]": a for k, a in enumerate(p0)}
    inputs.update(X=X, Y=Y, loss_X=loss.X)
    for (n1, a), (n2, b) in itertools.combinations(list(arrays.items()) + list(inputs.items()), 2):
        if n1 in arrays or n2 in arrays:
            assert not np.shares_memory(a, b), f"{n1} shares memory with {n2}"


def test_losses_and_networks_copy_the_callers_arrays():
    X, y = lt.data.separable_classification(6, 3, seed=5)
    theta = np.array([0.3, -0.2, 0.5])
    losses = [lt.SquaredLoss(X, y), lt.LogisticLoss(X, y), lt.ExponentialLoss(X, y)]
    before = [float(loss.value(theta)) for loss in losses]
    X *= 10.0
    y *= -1.0
    assert [float(loss.value(theta)) for loss in losses] == before
    T = np.ones((2, 3, 2))
    tn = lt.TensorNetwork(T)
    T[:] = 0.0
    assert np.all(tn.tensor == 1.0)
    w = np.array([1.0, 2.0, 2.0])
    res = lt.Residual(3, 2, output=w)
    w[:] = 0.0
    np.testing.assert_allclose(res.output, [1 / 3, 2 / 3, 2 / 3])


@pytest.mark.parametrize("net", [lt.FullyConnected([4, 1]), lt.FullyConnected([4, 3]), lt.Diagonal(4, 1),
                                 lt.Convolutional(4, 1), lt.Residual(4, 1), lt.TensorNetwork(np.ones((4, 2)))],
                         ids=str)
def test_end_to_end_and_vjp_return_new_arrays(net):
    p = net.init(0.5, seed=6)
    theta = net.end_to_end(p)
    assert not any(np.shares_memory(theta, b) for b in p)
    g = np.ones(net.theta_shape)
    for grad in net.vjp(p, g):
        assert not np.shares_memory(grad, g) and not any(np.shares_memory(grad, b) for b in p)
        grad += 1.0                                                  # writable, and g is untouched
    assert np.all(g == 1.0)
