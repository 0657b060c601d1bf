"""lintheory.sweep: grid expansion, and the same results in grid order on every backend."""

import numpy as np
import pytest

import lintheory as lt


def make_experiment():
    """A small but real experiment: final losses of batched gradient descent, seeded by the grid."""
    X, y = lt.data.underdetermined_regression(3, 4, seed=0)
    loss = lt.SquaredLoss(X, y)
    net = lt.FullyConnected([4, 3, 1])

    def experiment(lr, scale, seed):
        params = net.init(scale, seed=seed, batch=3)
        run = lt.gradient_descent(net, loss, params, lr, 50, record_every=50, keep_params=False)
        return run.loss[-1]

    return experiment


GRID = {"lr": [0.01, 0.05], "scale": [0.1, 0.5, 1.0], "seed": [0, 1]}


def test_grid_points_is_the_product_in_order():
    points = lt.sweeps.grid_points({"a": [1, 2], "b": ["xy", "z"]})
    assert points == [{"a": 1, "b": "xy"}, {"a": 1, "b": "z"}, {"a": 2, "b": "xy"}, {"a": 2, "b": "z"}]
    assert lt.sweeps.grid_points([{"a": 1}, {"a": 3}]) == [{"a": 1}, {"a": 3}]


@pytest.mark.parametrize("grid, error", [({}, ValueError), ({"a": []}, ValueError), ({"a": 3}, TypeError),
                                         ({"a": "abc"}, TypeError), ([1, 2], TypeError), (5, TypeError)])
def test_grid_points_rejects_bad_grids(grid, error):
    with pytest.raises(error, match="grid"):
        lt.sweeps.grid_points(grid)


def test_sweep_rejects_bad_arguments():
    with pytest.raises(TypeError, match="fn must be callable"):
        lt.sweep(3, GRID)
    with pytest.raises(ValueError, match="backend"):
        lt.sweep(make_experiment(), GRID, backend="spark")
    with pytest.raises(ValueError, match="n_jobs"):
        lt.sweep(make_experiment(), GRID, n_jobs=0)


@pytest.fixture(scope="module")
def reference():
    experiment = make_experiment()
    expected = [experiment(**c) for c in lt.sweeps.grid_points(GRID)]
    return experiment, expected


@pytest.mark.parametrize("backend", ["sequential", "threading", "loky"])
def test_sweep_returns_results_in_grid_order(reference, backend):
    experiment, expected = reference
    result = lt.sweep(experiment, GRID, n_jobs=2, backend=backend)
    assert result.configs == lt.sweeps.grid_points(GRID) and result.backend == backend
    assert len(result) == len(expected)
    for got, want in zip(result.results, expected):
        np.testing.assert_array_equal(got, want)     # same arithmetic in every worker: bit for bit
    assert result.seconds > 0


def test_where_selects_by_value(reference):
    experiment, expected = reference
    result = lt.sweep(experiment, GRID, backend="sequential")
    picked = result.where(lr=0.05, seed=1)
    assert len(picked) == 3
    np.testing.assert_array_equal(picked[0], experiment(lr=0.05, scale=0.1, seed=1))
    with pytest.raises(KeyError, match="sweep parameter"):
        result.where(depth=3)


def test_progress_bar_goes_to_stderr(reference, capsys):
    lt.sweep(reference[0], GRID, backend="sequential", progress=True, desc="grid")
    assert "grid" in capsys.readouterr().err
    lt.sweep(reference[0], GRID, backend="sequential", progress=False)
    assert capsys.readouterr().err == ""


def test_dask_backend_needs_a_client(reference):
    with pytest.raises(RuntimeError, match="Dask client"):
        lt.sweep(reference[0], GRID, backend="dask")


def test_dask_backend_on_a_local_two_worker_cluster(reference):
    distributed = pytest.importorskip("distributed")
    experiment, expected = reference
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        result = lt.sweep(experiment, GRID, backend="dask")
    for got, want in zip(result.results, expected):
        np.testing.assert_array_equal(got, want)
