"""The compiled path degrades, never crashes (issue 28, item 2).

A numba cache that cannot be read (the 5 kinds of damage of the 2026-12-07 reliability review) is
detected when the kernel is loaded, cleared and recompiled; if that fails the kernel is compiled in
memory; if that fails too the run falls back to the NumPy loop with a warning naming the cache
directory and how to clear it. A numba that is installed but fails to import counts as absent
(``available()`` imports it), so ``backend="auto"`` runs NumPy with a warning instead of crashing.

The 5 kinds are applied to a tiny numba function (each recompilation of the real kernel costs several
seconds) through the same recovery code, and two of them to the real kernel, end to end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import lintheory as lt
from lintheory import _compiled

pytestmark = pytest.mark.skipif(not _compiled.available(), reason="numba is not installed")

numba = pytest.importorskip("numba")


def _tiny(x):
    return 2.0 * x + 1.0


def _damage(cache_dir: Path, kind: str) -> None:
    """Damage the cache files (one .nbi index, one or more .nbc data files) as the review did."""
    rng = np.random.default_rng(7)
    index = sorted(cache_dir.rglob("*.nbi"))
    data = sorted(cache_dir.rglob("*.nbc"))
    assert index and data, f"nothing cached in {cache_dir}"
    targets = {"random_both": index + data, "random_index": index, "random_data": data,
               "truncated": index + data, "empty_index": index}[kind]
    for path in targets:
        size = path.stat().st_size
        if kind == "truncated":
            path.write_bytes(path.read_bytes()[:size // 3])
        elif kind == "empty_index":
            path.write_bytes(b"")
        else:
            path.write_bytes(rng.integers(0, 256, size, dtype=np.uint8).tobytes())


KINDS = ["random_both", "truncated", "empty_index", "random_index", "random_data"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_damaged_cache_is_detected_cleared_and_recompiled(kind, tmp_path, monkeypatch):
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    sig = (numba.float64,)
    numba.njit(cache=True)(_tiny).compile(sig)            # writes the cache
    _damage(tmp_path, kind)
    with pytest.raises(Exception):                         # what numba alone does: the crash of the review
        numba.njit(cache=True)(_tiny).compile(sig)
    kernel = numba.njit(cache=True)(_tiny)
    with pytest.warns(RuntimeWarning, match=r"could not be loaded from numba's cache in .*cleared and the "
                                            r"loop recompiled"):
        got, in_memory = _compiled._load_or_recompile(kernel, sig, lambda: pytest.fail("not needed"))
    assert got is kernel and in_memory is False and got(3.0) == 7.0
    again = numba.njit(cache=True)(_tiny)                  # the repaired cache loads, without a warning
    assert _compiled._load_or_recompile(again, sig, lambda: None)[0] is again
    assert again.stats.cache_hits and again(1.0) == 3.0


class _Unloadable:
    """A dispatcher whose cache cannot be read nor written."""

    class _cache:
        cache_path = "/some/cache/dir"

        class _cache_file:
            _index_name = "compiled._kernel_py-9.py311.nbi"

        @staticmethod
        def flush():
            raise PermissionError("read-only")

    @staticmethod
    def compile(sig):
        raise EOFError("Ran out of input")


def test_an_unwritable_damaged_cache_compiles_in_memory_then_falls_back():
    sig = (numba.float64,)
    with pytest.warns(RuntimeWarning, match=r"cache in /some/cache/dir \(EOFError: Ran out of input\), nor "
                                            r"recompiled into it \(PermissionError: read-only\); the loop "
                                            r"was compiled in memory.*delete compiled._kernel_py-9.py311.nbi "
                                            r"and the compiled._kernel_py-9.py311.\*.nbc files in /some/cache/dir"):
        got, in_memory = _compiled._load_or_recompile(_Unloadable(), sig, lambda: numba.njit(_tiny))
    assert in_memory is True and got(0.0) == 1.0
    got, message = _compiled._load_or_recompile(_Unloadable(), sig, _Unloadable)
    assert got is None and "runs use the NumPy loop" in message and "NUMBA_CACHE_DIR" in message


def _problem():
    X, y = lt.data.overdetermined_regression(10, 3, noise=0.5, seed=0)
    net = lt.FullyConnected([3, 2, 1])
    return net, lt.SquaredLoss(X, y), net.init(0.5, seed=0)


def test_a_kernel_that_cannot_be_built_falls_back_to_numpy(monkeypatch):
    """Every recovery failed: both backends run the NumPy loop (the same numbers), with the warning;
    later runs do not try again."""
    monkeypatch.setattr(_compiled, "_KERNEL", None)
    monkeypatch.setattr(_compiled, "_FAILED", None)
    tries = []
    monkeypatch.setattr(_compiled, "_load_or_recompile",
                        lambda *a: tries.append(1) or (None, "lintheory: cannot load (test); runs use the NumPy loop"))
    net, loss, p = _problem()
    ref = lt.gradient_descent(net, loss, p, 0.1, 2000, backend="numpy", record_every=100)
    for backend in ("compiled", "auto"):
        with pytest.warns(RuntimeWarning, match=r"cannot load \(test\); runs use the NumPy loop"):
            run = lt.gradient_descent(net, loss, p, 0.1, 2000, backend=backend, record_every=100)
        np.testing.assert_array_equal(run.loss, ref.loss)
    gen = np.random.default_rng(3)                        # SGD: the same minibatches (the seed used once)
    with pytest.warns(RuntimeWarning, match="NumPy loop"):
        sgd = lt.stochastic_gradient_descent(net, loss, p, 0.05, 600, batch_size=2, seed=gen, backend="compiled")
    ref = lt.stochastic_gradient_descent(net, loss, p, 0.05, 600, batch_size=2, seed=np.random.default_rng(3),
                                         backend="numpy")
    np.testing.assert_array_equal(sgd.loss, ref.loss)
    assert tries == [1]


def _fresh_kernel_cache(tmp_path: Path, monkeypatch) -> Path:
    """A new dispatcher of the real kernel whose cache lives in ``tmp_path``, filled with a copy of the
    in-tree cache (the same index and data files) when there is one, else by compiling."""
    net, loss, p = _problem()
    lt.gradient_descent(net, loss, p, 0.1, 5, backend="compiled")      # the process's kernel, loaded
    source = Path(_compiled._KERNEL._cache.cache_path)
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_compiled, "_KERNEL", None)                    # as in a new process
    monkeypatch.setattr(_compiled, "_CACHED", None)
    target = Path(_compiled._build()._cache.cache_path)
    target.mkdir(parents=True, exist_ok=True)
    for f in source.glob("compiled._kernel_py-*"):
        shutil.copy2(f, target / f.name)
    if not any(target.glob("*.nbc")):
        lt.gradient_descent(net, loss, p, 0.1, 5, backend="compiled")
    monkeypatch.setattr(_compiled, "_KERNEL", None)
    return target


@pytest.mark.parametrize("kind, backend", [("random_both", "auto"), ("random_data", "compiled")])
def test_a_damaged_cache_of_the_real_kernel_gives_a_warning_and_the_right_result(kind, backend, tmp_path,
                                                                                 monkeypatch):
    target = _fresh_kernel_cache(tmp_path, monkeypatch)
    _damage(target, kind)
    net, loss, p = _problem()
    with pytest.warns(RuntimeWarning, match=r"could not be loaded from numba's cache in .*(Unpickling|EOF)"):
        run = lt.gradient_descent(net, loss, p, 0.1, 2000, backend=backend)    # auto: compiled (2000 steps)
    assert _compiled._KERNEL is not None and _compiled._KERNEL._cache.cache_path == str(target)
    ref = lt.gradient_descent(net, loss, p, 0.1, 2000, backend="numpy")
    np.testing.assert_allclose(run.loss, ref.loss, rtol=1e-12, atol=0)


def test_a_numba_that_fails_to_import_is_absent_with_a_warning(tmp_path):
    """The review's numba_broken: a numba package whose import raises. "auto" runs NumPy, with a
    warning; "compiled" refuses with numba's reason."""
    fake = tmp_path / "fake" / "numba"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('raise ImportError("Numba needs NumPy 2.2 or less. Got NumPy 2.3.")\n')
    script = textwrap.dedent("""
        import warnings
        import numpy as np, lintheory as lt, lintheory._compiled as c
        X, y = lt.data.overdetermined_regression(10, 3, noise=0.5, seed=0)
        net, loss = lt.FullyConnected([3, 2, 1]), lt.SquaredLoss(X, y)
        p = net.init(0.5, seed=0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            a = lt.gradient_descent(net, loss, p, 0.1, 2000)
        b = lt.gradient_descent(net, loss, p, 0.1, 2000, backend="numpy")
        assert np.array_equal(a.loss, b.loss) and not c.available()
        print("WARN", [str(w.message) for w in caught])
        try:
            lt.gradient_descent(net, loss, p, 0.1, 5, backend="compiled")
        except ValueError as e:
            print("REFUSED", e)
    """)
    root = Path(lt.__file__).parent.parent
    out = _run_with_path(script, [tmp_path / "fake", root])
    assert out.returncode == 0, out.stderr
    assert "WARN" in out.stdout and "numba is installed but does not import (ImportError: Numba needs NumPy" \
        in out.stdout and "every run uses the NumPy loop" in out.stdout
    assert "REFUSED backend='compiled' cannot run this problem: numba is installed but does not import" in out.stdout


def _run_with_path(script: str, path: list[Path]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in path)
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          timeout=300)


def test_available_imports_numba(monkeypatch):
    """In process: a numba that is found but whose import fails makes available() False, with a warning
    (once: the answer is kept for the process)."""
    import importlib.util

    monkeypatch.setattr(_compiled, "_NUMBA", None)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())   # found ...
    monkeypatch.setitem(sys.modules, "numba", None)                          # ... but its import fails
    with pytest.warns(RuntimeWarning, match=r"numba is installed but does not import \(ModuleNotFoundError"):
        assert _compiled.available() is False
    assert _compiled.available() is False                                    # no second warning
    net, loss, p = _problem()
    assert not _compiled.worth_it(net, loss, p, 2000, None)
    assert "does not import" in _compiled.reason_not_applicable(net, loss)


def test_a_kernel_compiled_in_memory_is_kept_for_the_process(monkeypatch):
    net, loss, p = _problem()
    lt.gradient_descent(net, loss, p, 0.1, 5, backend="compiled")
    loaded = _compiled._KERNEL
    monkeypatch.setattr(_compiled, "_CACHED", True)
    monkeypatch.setattr(_compiled, "_load_or_recompile", lambda kernel, sig, fresh: (loaded, True))
    run = lt.gradient_descent(net, loss, p, 0.1, 50, backend="compiled")
    assert _compiled._KERNEL is loaded and _compiled._CACHED is False
    ref = lt.gradient_descent(net, loss, p, 0.1, 50, backend="numpy")
    np.testing.assert_allclose(run.loss, ref.loss, rtol=1e-12, atol=0)
