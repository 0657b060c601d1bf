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
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

from ._validation import check_choice

__all__ = ["sweep", "grid_points", "SweepResult"]

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

    def where(self, **values: Any) -> list[Any]:
        """The results whose configuration has the given values, e.g. ``where(lr=0.02)``."""
        for name in values:
            if self.configs and name not in self.configs[0]:
                raise KeyError(f"{name!r} is not a sweep parameter; these are: {list(self.configs[0])}")
        return [r for c, r in self if all(c[k] == v for k, v in values.items())]


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
            values = grid[name]
            if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
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
        calls = joblib.Parallel(return_as="generator")(joblib.delayed(fn)(**c) for c in configs)
        bar = tqdm(calls, total=len(configs), desc=desc, disable=None if progress is None else not progress)
        results = list(bar)
    return SweepResult(configs, results, time.perf_counter() - start, backend)


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
