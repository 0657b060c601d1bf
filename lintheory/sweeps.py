"""Parameter sweeps: run a function over a grid of configurations on every core, or on a cluster.

:func:`lintheory.sweep` expands a grid (initialisation scales x learning rates x seeds, say) into
configurations, calls ``fn(**config)`` for each through joblib, and returns the results in grid
order. The same call runs on a laptop's cores (``backend="loky"``, the default), in one process
(``"sequential"``), or on a Dask cluster (``"dask"``, through joblib's Dask backend, with a
``dask.distributed.Client`` connected beforehand)::

    from dask.distributed import Client, LocalCluster
    client = Client(LocalCluster(n_workers=4))          # or Client("tcp://scheduler:8786")
    result = lt.sweep(run_one, {"lr": lrs, "scale": scales, "seed": range(20)}, backend="dask")

Inside each call, batch what can be batched (all repetitions of one configuration in one
``gradient_descent`` call over a leading batch axis): the simulators are fastest that way, and the
sweep then spreads the configurations over the workers.
"""

from __future__ import annotations

import itertools
import math
import numbers
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

from ._validation import check_choice

__all__ = ["sweep", "grid_points", "SweepResult", "SweepError"]

_BACKENDS = ("loky", "sequential", "threading", "dask")


@dataclass(frozen=True)
class SweepResult:
    """The configurations of a sweep and the results, in the same (grid) order.

    Attributes
    ----------
    configs : list of dict
        The keyword arguments of every call.
    results : list
        What ``fn(**config)`` returned, for every configuration.
    seconds : float
        Wall time of the whole sweep.
    backend : str
        The joblib backend that ran it.
    """

    configs: list[dict[str, Any]]
    results: list[Any]
    seconds: float
    backend: str

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[tuple[dict[str, Any], Any]]:
        """Pairs ``(config, result)``."""
        return iter(zip(self.configs, self.results))

    def where(self, *, rel_tol: float = 1e-9, **values: Any) -> list[Any]:
        """The results whose configuration has the given values, e.g. ``where(lr=0.02)``.

        Real numbers match within ``rel_tol`` (relative, with an absolute floor of ``rel_tol * 1e-3``),
        so ``where(lr=0.3)`` finds the grid value ``0.30000000000000004`` of ``np.arange(0.1, 0.4, 0.1)``;
        NaN matches NaN; other values match by ``==``.
        """
        for name in values:
            if self.configs and name not in self.configs[0]:
                raise KeyError(f"{name!r} is not a sweep parameter; these are: {list(self.configs[0])}")
        return [r for c, r in self if all(_same(c[k], v, rel_tol) for k, v in values.items())]


class SweepError(RuntimeError):
    """Some configurations of a sweep raised; the message names the first, and nothing is lost.

    Attributes
    ----------
    failures : list of (dict, BaseException)
        Every failing configuration and the exception it raised, in grid order.
    result : SweepResult
        The configurations that finished and their results, in grid order.
    """

    def __init__(self, failures: list[tuple[dict[str, Any], BaseException]], result: SweepResult):
        config, err = failures[0]
        super().__init__(f"{len(failures)} of {len(failures) + len(result)} configurations failed; the first, "
                         f"{config}, raised {type(err).__name__}: {err} (the finished results are in "
                         "this exception's .result, the failures in .failures)")
        self.failures, self.result = failures, result


def _same(a: Any, b: Any, rel_tol: float) -> bool:
    real = lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool)
    if real(a) and real(b):
        if math.isnan(a) and math.isnan(b):     # a NaN configuration is selected by NaN
            return True
        return math.isclose(float(a), float(b), rel_tol=rel_tol, abs_tol=rel_tol * 1e-3)
    return bool(a == b)


class _Failed:
    """What a failing call returns to the parent process: the exception, pickled."""

    def __init__(self, error: BaseException):
        self.error = error


class _Guarded:
    """``fn`` with its exceptions caught, so that one failure does not lose the other results. With
    ``ship`` (worker processes), a result that cannot be pickled back to the parent is such a failure."""

    def __init__(self, fn: Callable[..., Any], ship: bool = False):
        self.fn, self.ship = fn, ship

    def __call__(self, **config: Any) -> Any:
        try:
            result = self.fn(**config)
        except Exception as err:            # noqa: BLE001 - reported by sweep() with its configuration
            return _Failed(err)
        if self.ship:
            try:                            # what the workers send results back with (loky, dask)
                import cloudpickle as pickler
            except ImportError:             # pragma: no cover - joblib's loky then uses pickle
                import pickle as pickler
            try:
                pickler.dumps(result)
            except Exception as err:        # noqa: BLE001 - TypeError, PicklingError, ...
                return _Failed(TypeError(
                    f"fn returned an object that cannot be sent back from a worker process "
                    f"({type(err).__name__}: {err}): return plain data (numbers, arrays, lists, dicts), "
                    "or use backend='sequential' or 'threading'"))
        return result


def grid_points(grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Expand a grid into a list of configurations.

    Parameters
    ----------
    grid : mapping of str to sequence, or sequence of mappings
        ``{"lr": [...], "scale": [...]}`` gives the Cartesian product, the last name varying
        fastest (as in ``itertools.product``); a list of dicts is taken as the configurations
        themselves.

    Returns
    -------
    list of dict
    """
    if isinstance(grid, Mapping):
        if not grid:
            raise ValueError("grid must name at least one parameter")
        names, axes = list(grid), []
        for name in names:
            if not isinstance(name, str):
                raise TypeError(f"grid's keys must be parameter names (str), got {name!r}")
            values = grid[name]
            if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__") or getattr(values, "ndim", 1) == 0:
                raise TypeError(f"grid[{name!r}] must be a sequence of values, got {values!r}")
            axes.append(list(values))
            if not axes[-1]:
                raise ValueError(f"grid[{name!r}] is empty")
        return [dict(zip(names, combo)) for combo in itertools.product(*axes)]
    if isinstance(grid, (str, bytes)) or not hasattr(grid, "__iter__"):
        raise TypeError(f"grid must be a mapping of parameter names to values or a list of dicts, got {grid!r}")
    configs = list(grid)
    for k, config in enumerate(configs):
        if not isinstance(config, Mapping):
            raise TypeError(f"grid[{k}] must be a dict of keyword arguments, got {type(config).__name__}")
        bad = next((key for key in config if not isinstance(key, str)), None)
        if bad is not None:
            raise TypeError(f"grid[{k}]'s keys must be parameter names (str), got {bad!r}")
    return [dict(c) for c in configs]


def sweep(fn: Callable[..., Any], grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]], *,
          n_jobs: int = -1, backend: str = "loky", progress: bool | None = None,
          desc: str | None = None) -> SweepResult:
    """Call ``fn(**config)`` for every configuration of ``grid``, in parallel.

    Parameters
    ----------
    fn : callable
        One experiment; it must be picklable for the process and Dask backends (a module-level
        function, or a closure or lambda, which joblib ships with cloudpickle) and should seed its
        own randomness from its arguments, so that the results do not depend on the backend.
    grid : mapping of str to sequence, or sequence of mappings
        See :func:`lintheory.sweeps.grid_points`.
    n_jobs : int
        Number of workers; -1 (default) uses every core (for ``"dask"``: every worker thread).
    backend : {"loky", "sequential", "threading", "dask"}
        ``"loky"``: worker processes on this machine (NumPy's own threads are capped so that the
        workers do not oversubscribe the cores); ``"sequential"``: in this process;
        ``"threading"``: threads; ``"dask"``: the ``dask.distributed.Client`` connected in this
        process.
    progress : bool or None
        Show a progress bar (tqdm, on standard error). ``None`` (default) shows it only when
        standard error is a terminal, so notebooks and logs stay clean.
    desc : str, optional
        Label of the progress bar.

    Returns
    -------
    SweepResult
        ``configs`` and ``results`` in grid order, and the wall time.

    Raises
    ------
    SweepError
        If ``fn`` raised for some configurations: every configuration is still run, and the error
        names the first failing one and carries the finished results (``.result``).
    RuntimeError
        For ``backend="dask"`` when no Dask client is connected.
    """
    import joblib
    from tqdm import tqdm

    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    check_choice("backend", backend, _BACKENDS)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive int or -1 (all cores), got {n_jobs!r}")
    configs = grid_points(grid)
    if backend == "dask":
        _require_dask_client()
    start = time.perf_counter()
    with joblib.parallel_config(backend=backend, n_jobs=n_jobs):
        guarded = _Guarded(fn, ship=backend in ("loky", "dask"))
        calls = joblib.Parallel(return_as="generator")(joblib.delayed(guarded)(**c) for c in configs)
        bar = tqdm(calls, total=len(configs), desc=desc, disable=None if progress is None else not progress)
        results = list(bar)
    seconds = time.perf_counter() - start
    failures = [(c, r.error) for c, r in zip(configs, results) if isinstance(r, _Failed)]
    if failures:
        done = [(c, r) for c, r in zip(configs, results) if not isinstance(r, _Failed)]
        raise SweepError(failures, SweepResult([c for c, _ in done], [r for _, r in done], seconds, backend)
                         ) from failures[0][1]
    return SweepResult(configs, results, seconds, backend)


def _require_dask_client() -> None:
    try:
        from distributed import get_client
    except ImportError as err:  # pragma: no cover - distributed is in requirements.txt
        raise RuntimeError("backend='dask' needs the 'distributed' package") from err
    try:
        get_client()
    except ValueError as err:
        raise RuntimeError("backend='dask' needs a connected Dask client: start one first, e.g. "
                           "`from dask.distributed import Client; client = Client(n_workers=2)`") from err
