"""Every public function of lintheory is called by a unit test, with a check of what it returns
(issue 17: before, several were exercised only by a chapter or by nothing)."""

import sys

import numpy as np
import pytest

import lintheory as lt
from conftest import central_difference


# ------------------------------------------------------------------ display and plotting
def test_glue_records_with_myst_nb_and_falls_back_to_display_without_it(monkeypatch, capsys):
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)   # IPython warns when a foreign venv is active
    lt.glue("api_test_value", 1.5, display=False)           # myst_nb is installed: no error, no output
    with pytest.raises(TypeError, match="name must be a non-empty str"):
        lt.glue("", 1.0)
    shown = []
    monkeypatch.setitem(sys.modules, "myst_nb", None)        # as in JupyterLite or Colab
    import IPython.display
    monkeypatch.setattr(IPython.display, "display", lambda value: shown.append(value))
    lt.glue("x", 2.5, display=False)
    assert shown == []
    lt.glue("x", 2.5)
    assert shown == [2.5]


def test_use_style_and_reference_slope():
    import matplotlib as mpl
    from matplotlib.figure import Figure

    with mpl.rc_context():
        lt.plotting.use_style()
        assert mpl.rcParams["axes.spines.top"] is False and mpl.rcParams["lines.linewidth"] == 1.8
    ax = Figure().add_subplot()
    x = np.array([1.0, 10.0, 100.0])
    lt.plotting.reference_slope(ax, x, -2.0, anchor=(10.0, 3.0), label="slope -2")
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), 3.0 * (x / 10.0) ** -2.0)
    assert line.get_linestyle() == "--" and line.get_label() == "slope -2"
    with pytest.raises(ValueError, match="colors must be an int from 2 to 256"):
        lt.plotting.figure_png(Figure(), colors=1)
    assert lt.plotting.figure_png(Figure(figsize=(1, 1)), dpi=20).startswith(b"\x89PNG")


# ------------------------------------------------------------------ networks and losses
@pytest.mark.parametrize("net", [lt.FullyConnected([3, 2, 2]), lt.Residual(3, 2), lt.Diagonal(3, 2),
                                 lt.Convolutional(3, 2), lt.TensorNetwork.convolutional(3, 2)], ids=str)
def test_every_init_scheme_gives_the_declared_shapes(net):
    for scheme in net.init_schemes:
        p = net.init(0.5, seed=0, scheme=scheme, batch=(2, 1))
        assert [b.shape for b in p] == [(2, 1) + s for s in net.shapes]
        assert net.batch_shape(p) == (2, 1)
        theta, pullback = net.linearize(p)
        np.testing.assert_array_equal(theta, net.end_to_end(p))
        g = np.ones((2, 1) + net.theta_shape)
        for a, b in zip(pullback(g), net.vjp(p, g)):
            np.testing.assert_array_equal(a, b)
    assert net.n_params == sum(int(np.prod(s)) for s in net.shapes) and net.input_dim == 3


def test_constant_init_and_check_params():
    net = lt.Diagonal(3, 4)
    np.testing.assert_allclose(net.end_to_end(net.init(0.5, scheme="constant")), 0.5 ** 4)
    p = net.check_params([[1, 2, 3]] * 4)
    assert all(b.dtype == np.float64 for b in p)
    with pytest.raises(TypeError, match="params must be a list of 4 arrays"):
        net.check_params(np.ones((4, 3)))
    with pytest.raises(TypeError, match=r"v\[0\] must be real"):
        net.jvp(p, [np.ones(3) * 1j] * 4)
    with pytest.raises(TypeError, match="g must be a real array"):
        net.vjp(p, np.ones(3) * 1j)


def test_decomposable_network_coordinates():
    rng = np.random.default_rng(0)
    U = [np.linalg.qr(rng.standard_normal((k, 2)))[0] for k in (2, 3, 4)]
    S = rng.standard_normal((2, 3))
    net = lt.DecomposableTensorNetwork(S, U)
    coords = [rng.standard_normal(2) for _ in range(3)]
    p = net.params_from_coordinates(coords)
    for c, back in zip(coords, net.coordinates(p)):
        np.testing.assert_allclose(back, c, rtol=1e-12, atol=1e-14)
    rho = net.rho(p)
    np.testing.assert_allclose(rho, coords[0] * coords[1] * coords[2], rtol=1e-12)
    np.testing.assert_allclose(net.end_to_end(p), rho @ S, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="coords must have 3 arrays"):
        net.params_from_coordinates(coords[:2])
    with pytest.raises(ValueError, match=r"U\[0\] must have 2 orthonormal columns"):
        lt.DecomposableTensorNetwork(S, [2 * U[0]])
    assert "TensorNetwork" in repr(lt.TensorNetwork(np.ones((2, 3))))
    with pytest.raises(ValueError, match="tensor must have shape"):
        lt.TensorNetwork(np.ones(3))


def test_loss_helpers():
    X = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    Y = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    loss = lt.SquaredLoss(X, Y)
    theta = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert loss.n == 3 and loss.theta_shape == (2, 2)
    np.testing.assert_array_equal(loss.predict(theta), X @ theta)
    np.testing.assert_array_equal(loss.residual(theta), X @ theta - Y)
    assert loss.value(theta) == pytest.approx(np.sum((X @ theta - Y) ** 2) / 6)
    cls = lt.LogisticLoss(X, [1, -1, 1])
    np.testing.assert_array_equal(cls.margins(np.array([1.0, -1.0])), [1.0, 2.0, 0.0])


# ------------------------------------------------------------------ metrics
def test_spectra_and_distances():
    A = np.diag([3.0, 2.0, 0.0])
    np.testing.assert_allclose(lt.metrics.singular_values(A), [3.0, 2.0, 0.0])
    with pytest.raises(ValueError, match="A must be a matrix"):
        lt.metrics.singular_values(np.ones(3))
    assert lt.metrics.effective_rank(np.eye(4)) == pytest.approx(4.0)
    assert lt.metrics.effective_rank(np.outer([1.0, 2.0], [3.0, 1.0])) == pytest.approx(1.0)
    layers = [np.diag([2.0, 1.0]), np.ones((1, 2))]
    np.testing.assert_allclose(lt.metrics.rank_one_ratio(layers), [0.5, 0.0])
    np.testing.assert_allclose(lt.metrics.alignment([np.diag([2.0, 1.0]), np.array([[1.0, 0.0]])]), [1.0])
    with pytest.raises(ValueError, match="do not chain"):
        lt.metrics.alignment([np.ones((2, 3)), np.ones((1, 3))])
    a, b = np.array([[3.0, 4.0], [0.0, 1.0]]), np.array([0.0, 1.0])
    np.testing.assert_allclose(lt.metrics.distance(a, b), [np.hypot(3, 3), 0.0])
    np.testing.assert_allclose(lt.metrics.relative_distance(a, 2 * b), [np.hypot(3, 2) / 2, 0.5])
    np.testing.assert_allclose(lt.metrics.distance(a, b, core_ndim=0), np.abs(a - b))
    np.testing.assert_allclose(lt.metrics.angle(a, b), [np.arccos(4 / 5), 0.0], atol=1e-12)
    with pytest.raises(ValueError, match="core_ndim must be at least 1"):
        lt.metrics.angle(a, b, core_ndim=0)
    with pytest.raises(ValueError, match="core_ndim must be an int"):
        lt.metrics.distance(a, b, core_ndim=3)
    with pytest.raises(ValueError, match="b .the reference. must be non-zero"):
        lt.metrics.angle(a, 0 * b)
    X, y = np.array([[1.0, 0.0], [0.0, -1.0]]), np.array([1.0, -1.0])
    np.testing.assert_allclose(lt.metrics.normalized_margin(X, y, np.array([[1.0, 1.0], [2.0, 0.0]])),
                               [1 / np.sqrt(2), 0.0])
    with pytest.raises(ValueError, match="theta must be non-zero"):
        lt.metrics.normalized_margin(X, y, np.zeros(2))
    with pytest.raises(ValueError, match=r"need X of shape \(n, d\)"):
        lt.metrics.normalized_margin(X, y[:1], np.ones(2))


def test_balance_metrics_edge_cases():
    v = [np.array([1.0, 2.0]), np.array([3.0, 1.0])]
    np.testing.assert_array_equal(lt.metrics.imbalance(v, vector_layers=True)[0], [8.0, -3.0])
    with pytest.raises(ValueError, match="vector layers must all have one shape"):
        lt.metrics.imbalance([np.ones(2), np.ones(3)], vector_layers=True)
    with pytest.raises(ValueError, match=r"params\[0\] must be a matrix"):
        lt.metrics.imbalance(v)
    with pytest.raises(ValueError, match="core_ndim must be an int or one int per block"):
        lt.metrics.norm_imbalance(v, [1])
    np.testing.assert_array_equal(lt.metrics.norm_imbalance(v, [1, 1]), [5.0])
    assert lt.metrics.norm_imbalance([np.ones((2, 3))], 2).shape == (0,)


def test_empirical_rate_local_and_average():
    t = np.linspace(0, 2, 21)
    loss = 3.0 * np.exp(-2 * 0.7 * t)
    avg = lt.metrics.empirical_rate(t, loss)
    assert np.isnan(avg[0]) and np.allclose(avg[1:], 0.7)
    np.testing.assert_allclose(lt.metrics.empirical_rate(t, loss, kind="local"), 0.7, rtol=1e-2)


# ------------------------------------------------------------------ theory functions not covered elsewhere
def test_linear_model_iterates_and_half_times_against_the_recursions():
    sigma, lam, eta, w0 = np.array([2.0, 0.5]), np.array([1.0, 0.25]), 0.3, np.array([0.1, 0.0])
    w, expected = w0.copy(), [w0.copy()]
    for _ in range(6):
        w = w + eta * (sigma - lam * w)                    # GD on (lam w^2/2 - sigma w), per component
        expected.append(w.copy())
    np.testing.assert_allclose(lt.theory.linear_model_iterates(sigma, lam, eta, w0, np.arange(7)),
                               np.array(expected), rtol=1e-12)
    rec = lt.theory.mode_recursion(2.0, 1.0, 0.05, np.exp(-8.0), 400)
    first = int(np.argmax(rec >= 1.0))
    assert lt.theory.half_times(2.0, 1.0, 0.05, 8.0, 400) == first > 0
    assert lt.theory.half_times(2.0, 1.0, 0.05, 8.0, first - 1) == -1


def test_spectral_init_gives_the_requested_balanced_product():
    rng = np.random.default_rng(1)
    U = np.linalg.qr(rng.standard_normal((4, 2)))[0]
    V = np.linalg.qr(rng.standard_normal((3, 2)))[0]
    w0 = np.array([0.5, 0.02])
    params = lt.theory.spectral_init(U, V, w0)
    net = lt.FullyConnected([4, 2, 3])
    np.testing.assert_allclose(net.end_to_end(params), U @ np.diag(w0) @ V.T, rtol=1e-12, atol=1e-15)
    assert np.max(np.abs(lt.metrics.imbalance(params)[0])) < 1e-15


def test_row_space_split_and_its_null_part_frozen_under_gradient_flow():
    X, Y = lt.data.underdetermined_regression(3, 6, 2, seed=2)
    net = lt.FullyConnected([6, 4, 2])
    p0 = net.init(0.4, seed=3)
    U1, U2 = lt.theory.row_space_split(X, p0[0])
    assert U1.shape == (3, 4) and U2.shape == (3, 4)
    assert np.linalg.norm(U1) ** 2 + np.linalg.norm(U2) ** 2 == pytest.approx(np.linalg.norm(p0[0]) ** 2)
    run = lt.gradient_flow(net, lt.SquaredLoss(X, Y), p0, [0.0, 5.0])
    _, U2_t = lt.theory.row_space_split(X, run.final_params[0])
    np.testing.assert_allclose(U2_t, U2, atol=1e-9)
    with pytest.raises(ValueError, match="W1 must have shape"):
        lt.theory.row_space_split(X, np.ones((4, 5)))


def test_woodworth_q_is_the_potential_with_derivative_arcsinh():
    z = np.linspace(-3, 3, 13)
    assert lt.theory.woodworth_q(0.0) == 0.0
    np.testing.assert_allclose(np.diag(central_difference(lt.theory.woodworth_q, z, 1e-6)), np.arcsinh(z / 2),
                               atol=1e-8)


# ------------------------------------------------------------------ sweeps and simulators' small parts
def test_sweep_error_carries_the_failures_and_the_finished_results():
    def fn(a, b):
        if a * b == 4:
            raise ZeroDivisionError("boom")
        return a * b

    with pytest.raises(lt.sweeps.SweepError, match=r"2 of 6 configurations failed; the first, \{'a': 1, 'b': 4\}") as info:
        lt.sweep(fn, {"a": [1, 2], "b": [2, 4, 5]}, backend="sequential")
    err = info.value
    assert [c for c, _ in err.failures] == [{"a": 1, "b": 4}, {"a": 2, "b": 2}]
    assert isinstance(err.__cause__, ZeroDivisionError)
    assert err.result.results == [2, 5, 8, 10] and err.result.where(a=2, b=5) == [10]
    assert err.result.where(b=5.0000000001) == [5, 10] and err.result.where(b=5.001) == []
    assert err.result.where(a=1, rel_tol=0) == [2, 5]


def test_trajectory_len_and_message():
    X, y = lt.data.overdetermined_regression(6, 2, seed=1)
    net = lt.FullyConnected([2, 1])
    run = lt.gradient_descent(net, lt.SquaredLoss(X, y), [np.zeros((1, 2))], 0.1, 4)
    assert isinstance(run, lt.Trajectory) and len(run) == 5 and run.message == "finished"
    assert run.stats == {"n_steps": 4, "n_grad": 5}


def test_power_of_ten_bound_is_the_smallest_power_of_ten_at_least_x():
    for x in [2.85e-9, 1e-9, 0.99, 1.0, 7.0, 3e-17, np.float64(4.2e-13)]:
        b = lt.power_of_ten_bound(x)
        assert b >= x and b / 10 < x                  # at least x, and the next power down is not
        assert np.isclose(np.log10(b), round(np.log10(b)))
    assert lt.power_of_ten_bound(0) == 1e-300
    for bad in [-1e-9, np.nan, np.inf]:
        with pytest.raises(ValueError, match="non-negative finite"):
            lt.power_of_ten_bound(bad)
    for bad in ["1e-9", None, True]:
        with pytest.raises(TypeError, match="real number"):
            lt.power_of_ten_bound(bad)


def test_round_up_and_down_give_bounds_with_the_requested_digits():
    rng = np.random.default_rng(0)
    for x in np.concatenate([10.0 ** rng.uniform(-20, 5, 500), [2.3e-4, 1e-9, 0.1, 7.0, 9.99e-3]]):
        for digits in (1, 2, 3):
            r = lt.round_up(x, digits)
            assert r >= x                                            # an upper bound ...
            assert float(f"{r:.{digits - 1}e}") == r                 # ... that prints exactly ...
            step = 10.0 ** (np.floor(np.log10(r)) - digits + 1)
            assert r - x < step * (1 + 1e-9)                         # ... and is the smallest such
    for x in 10.0 ** rng.uniform(-20, 5, 500):
        for digits in (1, 2, 3):
            r = lt.round_down(x, digits)
            step = 10.0 ** (np.floor(np.log10(x)) - digits + 1)
            assert r <= x and x - r < step * (1 + 1e-9) and float(f"{r:.{digits - 1}e}") == r
    assert lt.round_up(2.22e-4, 2) == 2.3e-4 and lt.round_up(2.3e-4, 2) == 2.3e-4
    assert lt.round_down(0.0107, 2) == 0.010 and lt.round_down(0.01, 1) == 0.01
    assert lt.round_up(0.0) == 0.0
    with pytest.raises(ValueError, match="digits"):
        lt.round_up(1.0, 0)
    with pytest.raises(ValueError, match="non-negative finite"):
        lt.round_up(-1.0)


def test_tight_rate_example_is_whitened_with_disjoint_hidden_units_and_checks_its_sizes():
    X, Y, (W1, W2) = lt.data.tight_rate_example(3, 8, 2, 7, 0.7, 1.3, seed=4)
    assert np.allclose(X @ X.T, 3 * np.eye(3), atol=1e-12) and Y.shape == (3, 2)
    assert W1.shape == (7, 8) and W2.shape == (2, 7)
    used1 = np.abs(W1).sum(axis=1) > 0                 # hidden units read by the first layer ...
    used2 = np.abs(W2).sum(axis=0) > 0                 # ... and by the second: disjoint
    assert used1.sum() == 3 and used2.sum() == 2 and not np.any(used1 & used2)
    assert np.allclose(W1 @ np.linalg.pinv(X) @ X, W1)  # W1's rows lie in the row space of X (U2 = 0)
    with pytest.raises(ValueError, match="h >= n \\+ m"):
        lt.data.tight_rate_example(3, 8, 2, 4, 0.7, 1.3)
