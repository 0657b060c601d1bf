"""A compiled (numba) gradient-descent and SGD loop for the network/loss pairs the course uses most.

A backend of :mod:`lintheory.dynamics.descent`: it imports the trajectory and minibatch layers below
it, never the loops that call it. ``lintheory._compiled`` (its former name) is the same module object.

:func:`lintheory.gradient_descent` and :func:`lintheory.stochastic_gradient_descent` hand a run to
:func:`descend` below when it applies (``backend="auto"``, the default) or when asked to
(``backend="compiled"``). It applies to

- networks: :class:`~lintheory.FullyConnected`, :class:`~lintheory.Residual` and
  :class:`~lintheory.Diagonal` (exactly these classes, not subclasses);
- loss: :class:`~lintheory.SquaredLoss` (every normalization), and for gradient descent (not SGD)
  :class:`~lintheory.LogisticLoss` and :class:`~lintheory.ExponentialLoss`: their formulas term by
  term, the margins :math:`z_s = y_s x_s^\\top\\theta` and the loss at every step (it costs what the
  margins cost), the gradient :math:`\\frac1n X^\\top(\\ell'(z)\\odot y)`, and with
  ``normalize="loss"`` below a loss of ``1e-280`` the log-domain ratio of
  :meth:`lintheory.Loss.normalized_grad` (exact when every :math:`\\ell(z_s)` underflows, the loss 0
  included), as the NumPy loop does;
- step: constant, ``normalize="loss"`` and ``normalize="gradient"``;
- any batch shape, any record interval, with or without parameter snapshots;
- for SGD, minibatches with or without replacement: the indices are drawn by NumPy, from the same
  streams and in the same chunks as the NumPy loop (:func:`lintheory.dynamics.minibatch._minibatch_blocks`), so
  both paths follow the same minibatches; the loop runs one chunk of indices per call.

Everything else runs on the NumPy reference loop of :mod:`lintheory.dynamics.descent`. The compiled loop does
the same update as the reference, member by member of the batch (they are independent), with the same
records, the same divergence handling (a member whose loss stops being finite is frozen at its last
finite state) and the same :class:`~lintheory.dynamics.Trajectory`; ``tests/test_compiled.py`` checks
that both paths agree to 1e-12 on every recorded step.

What one step computes (``h`` widths, ``L`` layers, ``m`` outputs, ``n`` samples)
-------------------------------------------------------------------------------
- diagonal networks: the prefix and suffix products of the layers, coordinate by coordinate
  (:math:`O(Ld)`, loops over coordinates innermost so that they vectorise);
- chains: the suffix products :math:`S_k = T W_L\\cdots W_{k+1}` (``m`` rows, :math:`O(Lh^2m)`), the
  end-to-end :math:`\\theta = S_0^\\top`, and in the pull-back the products
  :math:`B_k = W_k\\cdots W_1 G^\\top` and the outer products :math:`S_k^\\top B_{k-1}^\\top`;
- the loss gradient (gradient descent) in its covariance form :math:`2c(\\Sigma\\theta - X^\\top Y)` with
  :math:`\\Sigma = X^\\top X` precomputed (:math:`O(d^2m)` instead of :math:`O(ndm)`) when
  :math:`d \\le 2n`; the residual form :math:`2cX^\\top(X\\theta - Y)` of the reference is used
  instead when :math:`d > 2n` (then it is the cheaper one), when :math:`\\theta` is huge
  (``max|θ| > 1e100``: no cancellation of overflowed terms) or when the residual is small
  (:math:`\\|X\\theta - Y\\|^2 < 10^{-6}\\|Y\\|^2`, estimated from the covariance form): near an
  interpolating minimum the covariance form cancels, and the residual form reaches the reference's
  round-off floor of the loss;
- the loss value in the residual form :math:`c\\|X\\theta - Y\\|^2` (exact near 0, unlike the
  covariance form), but only where it is needed: at record steps, with ``normalize="loss"``, and when a
  cheap bound :math:`c\\,n\\,m\\,(\\max_s\\|x_s\\|_1\\max|\\theta| + \\max|Y|)^2 < 10^{300}` does not
  already prove it finite. The reference declares divergence when the value is not finite; the bound
  certifies finiteness, so both paths see divergence at the same step.

On-disk cache
-------------
The kernel is compiled on first use with ``cache=True``: numba stores it in ``$NUMBA_CACHE_DIR`` if
that is set, else in ``lintheory/dynamics/__pycache__`` next to this file when that directory is writable, else
in its user-wide cache directory (``~/.cache/numba``). If no cache location is writable (a read-only
install and a read-only home), the kernel is compiled in memory, once per process. Compiling takes a few
seconds; loading from the cache a fraction of a second. A cache numba cannot read (damaged, truncated)
never crashes a run: the kernel's cache entry is cleared and the kernel recompiled, else compiled in
memory, else the run takes the NumPy loop, each time with a ``RuntimeWarning`` naming the cache
directory (:func:`_load_or_recompile`). A numba that fails to import counts as absent (:func:`available`).

SGD's step uses the residual form on the minibatch, :math:`2c_BX_B^\\top(X_B\\theta - Y_B)` with
:math:`c_B` the factor of :meth:`lintheory.Loss.subset` (:math:`O(bdm)`), and evaluates the full loss at
the record steps only, as the NumPy loop does.
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Any, Callable

import numpy as np

from . import minibatch
from .trajectory import _TINY_LOSS, _descent_trajectory, _record_steps

__all__ = ["available", "reason_not_applicable", "descend", "worth_it", "step_work"]

_KERNEL: Any = None
_CACHED: bool | None = None          # whether the loaded kernel uses numba's on-disk cache
_NUMBA: str | None = None            # "" once numba imported, else why it did not ("not installed", ...)
_FAILED: str | None = None           # the warning of a kernel that could not be built (then NumPy runs)

_NORMALIZE_CODE = {None: 0, "loss": 1, "gradient": 2}


def available() -> bool:
    """Whether numba imports. It is imported on the first call (once per process). An installed numba
    that fails to import (e.g. built for another NumPy) counts as absent, with a ``RuntimeWarning``
    saying why: ``backend="auto"`` then runs NumPy instead of crashing."""
    global _NUMBA
    if _NUMBA is None:
        if importlib.util.find_spec("numba") is None:
            _NUMBA = "numba is not installed (pip install 'lintheory[fast]' or numba)"
        else:
            try:
                import numba  # noqa: F401
                _NUMBA = ""
            except Exception as err:    # ImportError, or anything its import raises
                _NUMBA = (f"numba is installed but does not import ({type(err).__name__}: {err}); "
                          "reinstall a numba built for this NumPy (pip install -U numba) or uninstall it")
                warnings.warn(f"lintheory: {_NUMBA}. The compiled loop is off: every run uses the NumPy "
                              "loop", RuntimeWarning, stacklevel=2)
    return _NUMBA == ""


def _loss_code(loss: Any) -> int | None:
    """The kernel's ``lossk``: 0 squared, 1 logistic, 2 exponential loss (exactly these classes), else
    ``None``."""
    from ..losses import ExponentialLoss, LogisticLoss, SquaredLoss

    return {SquaredLoss: 0, LogisticLoss: 1, ExponentialLoss: 2}.get(type(loss))


def _reason_by_type(net: Any, loss: Any, normalize: Any, sgd: bool = False) -> str | None:
    from ..networks import Diagonal, FullyConnected, Residual

    if type(net) not in (FullyConnected, Residual, Diagonal):
        return (f"the compiled loop supports FullyConnected, Residual and Diagonal networks, "
                f"not {type(net).__name__}")
    code = _loss_code(loss)
    if code is None:
        return (f"the compiled loop supports SquaredLoss, LogisticLoss and ExponentialLoss only, "
                f"not {type(loss).__name__}")
    if sgd and code != 0:
        return f"the compiled SGD loop supports SquaredLoss only, not {type(loss).__name__}"
    if normalize not in _NORMALIZE_CODE:
        return f"the compiled loop does not support normalize={normalize!r}"
    return None


def reason_not_applicable(net: Any, loss: Any, normalize: Any = None) -> str | None:
    """Why the compiled loop cannot run this problem, or ``None`` when it can."""
    reason = _reason_by_type(net, loss, normalize)
    if reason is None and not available():
        return _NUMBA
    return reason


def _build() -> Any:
    """The kernel's numba dispatcher (compiled or loaded from numba's cache at its first call); once
    per process."""
    global _KERNEL, _CACHED
    if _KERNEL is not None:
        return _KERNEL
    import numba

    try:
        kernel = numba.njit(cache=True, nogil=True)(_kernel_py)
        _CACHED = True
    except RuntimeError:                # no writable cache location: compile in memory
        kernel = numba.njit(cache=False, nogil=True)(_kernel_py)
        _CACHED = False
    _KERNEL = kernel
    return kernel


def _ready(args: tuple) -> Any:
    """The kernel, compiled or loaded for the types of ``args``; ``None`` when it cannot be built (a
    warning says why, and the caller runs NumPy). Later calls with the same types reuse it."""
    global _KERNEL, _CACHED, _FAILED
    if _FAILED is not None:
        warnings.warn(_FAILED, RuntimeWarning, stacklevel=3)
        return None
    import numba

    sig = tuple(numba.typeof(a) for a in args)
    kernel, in_memory = _load_or_recompile(_build(), sig, lambda: numba.njit(cache=False, nogil=True)(_kernel_py))
    if kernel is None:
        _KERNEL, _FAILED = None, in_memory
        warnings.warn(_FAILED, RuntimeWarning, stacklevel=3)
        return None
    if in_memory:
        _KERNEL, _CACHED = kernel, False
    return kernel


def _load_or_recompile(kernel: Any, sig: tuple, fresh: Callable[[], Any]) -> tuple[Any, Any]:
    """Compile ``kernel`` (a numba dispatcher with ``cache=True``) for ``sig``, loading it from numba's
    on-disk cache when there. A cache that cannot be read (damaged, truncated, written by something
    else: numba raises ``UnpicklingError``, ``EOFError``, ...) must not crash the run. Then

    1. this kernel's cache index is cleared (numba's ``flush``, which writes an empty index) and the
       kernel recompiled, which writes a fresh cache entry: returns ``(kernel, False)``;
    2. failing that (e.g. the cache cannot be written), ``fresh()``, a dispatcher without cache, is
       compiled in memory: returns ``(that dispatcher, True)``;
    3. failing that: returns ``(None, message)``.

    Every case but the first try warns (``RuntimeWarning``), naming the cache directory and how to
    clear it.
    """
    try:
        kernel.compile(sig)
        return kernel, False
    except Exception as err:            # numba's cache loader and compiler raise many kinds
        first = f"{type(err).__name__}: {err}"
    cache = getattr(kernel, "_cache", None)
    where = getattr(cache, "cache_path", None) or "numba's cache directory"
    index = getattr(getattr(cache, "_cache_file", None), "_index_name", "")
    files = (f"{index} and the {index[:-len('.nbi')]}.*.nbc files" if index.endswith(".nbi")
             else "lintheory's .nbi and .nbc files")
    clear = (f"To clear the cache, delete {files} in {where} (or set NUMBA_CACHE_DIR to an empty "
             "directory)")
    head = f"lintheory: the compiled loop could not be loaded from numba's cache in {where} ({first})"
    try:
        cache.flush()
        kernel.compile(sig)
        warnings.warn(f"{head}; its cache entry was cleared and the loop recompiled into it",
                      RuntimeWarning, stacklevel=4)
        return kernel, False
    except Exception as err:
        second = f"{type(err).__name__}: {err}"
    try:
        kernel = fresh()
        kernel.compile(sig)
        warnings.warn(f"{head}, nor recompiled into it ({second}); the loop was compiled in memory for "
                      f"this process. {clear}", RuntimeWarning, stacklevel=4)
        return kernel, True
    except Exception as err:
        third = f"{type(err).__name__}: {err}"
    return None, (f"{head}, nor recompiled ({second}; in memory: {third}): runs use the NumPy loop "
                  f"(the same results to round-off, slower). {clear}")


# Coverage: numba runs the kernel below as machine code, which coverage.py cannot trace, so it is
# excluded from the line and branch figures; tests/test_compiled.py checks every record it produces
# against the NumPy loop of lintheory.dynamics.descent (hypothesis over shapes, depths, batches and steps).
def _kernel_py(P, Pprev, kind, off, rows, cols, T, X, Y, Sig, XtY, yy, c, xnorm, ymax, eta, normalize,
               lossk, tiny_loss, n_steps, k0, k1, ri0, idx, cB, rec_steps, keep, rec_theta, rec_loss, rec_params,
               diverged, last_step):  # pragma: no cover (compiled)
    """Run steps ``k0 .. k1`` of every batch member that has not diverged (rows of ``P``, updated in place).

    ``kind`` 0: chain ``T W_L ... W_1`` (block k stored row-major, shape ``rows[k] x cols[k]``);
    ``kind`` 1: diagonal (every block a vector of length d). ``lossk`` 0: the squared loss
    :math:`c\\|X\\theta - Y\\|^2`; 1 and 2: the logistic and exponential losses
    :math:`\\frac1n\\sum_s\\ell(z_s)`, :math:`z_s = y_s x_s^\\top\\theta` with the labels ``y_s = Y[s, 0]``
    (gradient descent only, ``m = 1``), the formulas of :class:`lintheory.LogisticLoss` and
    :class:`lintheory.ExponentialLoss` term by term. A call evaluates the steps
    ``k0 <= k < k1`` (loss, record, update) and, when ``k1 == n_steps``, the last state; ``P`` holds the
    state at ``k0`` on entry and at ``k1`` on exit, ``Pprev`` the state one step before (divergence
    rolls back to it), so a run can be cut into chunks (SGD: one chunk of minibatch indices at a time).
    ``ri0`` is the first record index at or after ``k0``. With ``idx`` non-empty (SGD, shape
    ``(k1 - k0, B, b)``) step ``k`` follows the minibatch loss
    :math:`c_B\\sum_{t}\\|x_{s_t}^\\top\\theta - y_{s_t}\\|^2` of the samples ``idx[k - k0, member]``,
    and the full loss is evaluated at the record steps only. Records go to ``rec_*`` (pre-filled NaN);
    ``diverged[b]`` gets the divergence step or stays -1; ``last_step[b]`` the last step reached.
    """
    B, total = P.shape
    L = off.shape[0] - 1
    n, d = X.shape
    m = Y.shape[1]
    n_rec = rec_steps.shape[0]
    sgd = idx.shape[0] > 0
    bsz = idx.shape[2]
    # the suffix products S_k (m x dims[k], dims[k] = rows[k-1] = cols[k]), stored flat
    soff = np.zeros(L + 2, dtype=np.int64)
    if kind == 0:
        for k in range(L + 1):
            dk = cols[k] if k < L else rows[L - 1]
            soff[k + 1] = soff[k] + m * dk
    S = np.empty(max(soff[L + 1], 1))
    Bc = np.empty(max(int(np.max(rows)), d) * m)      # B_{k-1} chain of the pull-back
    Bn = np.empty(max(int(np.max(rows)), d) * m)
    buf = np.empty((2, total))
    grad = np.empty(total)
    theta = np.empty((d, m))
    g = np.empty((d, m))
    R = np.empty((max(bsz, 1), m))                    # minibatch residuals (SGD)
    Z = np.empty(n)                                   # margin losses: z_s = y_s x_s^T theta,
    LE = np.empty(n)                                  # and log ell(z_s)
    pre = np.empty((L + 1, d))                        # diagonal: prefix and suffix products
    suf = np.empty((L + 1, d))
    covariance = d <= 2 * n                           # GD: Sigma theta costs d^2 m, X^T r costs 2 n d m
    for b in range(B):
        if diverged[b] >= 0:                # frozen since an earlier chunk
            continue
        for q in range(total):
            buf[0, q] = P[b, q]
            buf[1, q] = Pprev[b, q]
        cur = 0
        ri = ri0
        k = k0
        while True:
            if k == k1 and k1 < n_steps:     # end of this chunk: step k1 belongs to the next one
                break
            W = buf[cur]
            # ---------------------------------------------------------------- forward: theta
            if kind == 0:
                dL = rows[L - 1]
                for i in range(m):
                    for a in range(dL):
                        S[soff[L] + i * dL + a] = T[i, a]
                for kk in range(L - 1, -1, -1):      # S_kk = S_{kk+1} W_{kk+1} (block index kk)
                    rk, ck = rows[kk], cols[kk]
                    so, sn, o = soff[kk + 1], soff[kk], off[kk]
                    if m == 1:                       # a row vector times the block, row by row
                        for bb in range(ck):
                            S[sn + bb] = 0.0
                        for a in range(rk):
                            sa = S[so + a]
                            base = o + a * ck
                            for bb in range(ck):
                                S[sn + bb] += sa * W[base + bb]
                        continue
                    for i in range(m):
                        for bb in range(ck):
                            acc = 0.0
                            for a in range(rk):
                                acc += S[so + i * rk + a] * W[o + a * ck + bb]
                            S[sn + i * ck + bb] = acc
                for j in range(d):
                    for i in range(m):
                        theta[j, i] = S[i * d + j]
            else:                                   # loops over j innermost: contiguous, vectorised
                for j in range(d):
                    pre[0, j] = 1.0
                for kk in range(L):
                    o = off[kk]
                    for j in range(d):
                        pre[kk + 1, j] = pre[kk, j] * W[o + j]
                for j in range(d):
                    theta[j, 0] = pre[L, j]
            # ---------------------------------------------------------------- loss
            tmax = 0.0
            finite = True
            for j in range(d):
                for i in range(m):
                    v = abs(theta[j, i])
                    if not (v <= 1e300):
                        finite = False
                        tmax = np.inf
                    elif v > tmax:
                        tmax = v
            bound = xnorm * tmax + ymax
            record = ri < n_rec and rec_steps[ri] == k
            if lossk > 0:                   # margin losses: the value costs what the margins cost
                need_value = False
            elif sgd:                       # the full loss at records only (the reference's rule)
                need_value = record
            else:
                need_value = record or normalize == 1 or not finite or not (c * n * m * bound * bound < 1e300)
            value = 0.0
            if need_value:
                for i in range(m):
                    for s in range(n):
                        acc = -Y[s, i]
                        for j in range(d):
                            acc += X[s, j] * theta[j, i]
                        value += acc * acc
                value *= c
            elif lossk > 0:                 # mean of ell(z_s), as LogisticLoss/ExponentialLoss.value
                for s in range(n):
                    acc = 0.0
                    for j in range(d):
                        acc += X[s, j] * theta[j, 0]
                    z = acc * Y[s, 0]
                    Z[s] = z
                    if lossk == 2:
                        value += np.exp(-z)
                    elif z > 0:             # np.logaddexp(0, -z), branch by branch
                        value += np.log1p(np.exp(-z))
                    elif z == 0:
                        value += np.log(2.0)
                    else:
                        value += -z + np.log1p(np.exp(z))
                value /= n
            full = value
            if sgd and k < n_steps:         # the minibatch loss of step k, and its residuals
                value = 0.0
                for t in range(bsz):
                    s = idx[k - k0, b, t]
                    for i in range(m):
                        acc = -Y[s, i]
                        for j in range(d):
                            acc += X[s, j] * theta[j, i]
                        R[t, i] = acc
                        value += acc * acc
                value *= cB
            if not (np.isfinite(value) and np.isfinite(full)):  # diverged: back to the last finite state
                diverged[b] = k
                if k > 0:
                    cur = 1 - cur
                break
            if record:
                rec_loss[ri, b] = full
                for j in range(d):
                    for i in range(m):
                        rec_theta[ri, b, j, i] = theta[j, i]
                if keep:
                    for q in range(total):
                        rec_params[ri, b, q] = W[q]
                ri += 1
            if k == n_steps:
                break
            # ---------------------------------------------------------------- gradient in theta
            # covariance form 2c (Sigma theta - X^T Y), unless theta is huge or the residual small
            # (near an interpolating minimum the covariance form cancels: there the residual form
            # 2c X^T (X theta - Y) keeps the reference's round-off floor)
            tiny_margin = lossk > 0 and normalize == 1 and value < tiny_loss
            if lossk > 0 and not tiny_margin:   # X^T (ell'(z) y) / n
                for j in range(d):
                    g[j, 0] = 0.0
                for s in range(n):
                    z = Z[s]
                    if lossk == 2:
                        w = -np.exp(-z)
                    elif z < 0:             # -exp(-np.logaddexp(0, z))
                        w = -np.exp(-np.log1p(np.exp(z)))
                    elif z == 0:
                        w = -np.exp(-np.log(2.0))
                    else:
                        w = -np.exp(-(z + np.log1p(np.exp(-z))))
                    w *= Y[s, 0]
                    for j in range(d):
                        g[j, 0] += w * X[s, j]
                for j in range(d):
                    g[j, 0] /= n
            elif tiny_margin:               # LossMargin.normalized_grad: grad / loss in the log domain
                top = -np.inf
                for s in range(n):
                    z = Z[s]
                    if lossk == 2 or z > 37.0:
                        le = -z
                    elif z > 0:
                        le = np.log(np.log1p(np.exp(-z)))
                    elif z == 0:
                        le = np.log(np.log(2.0))
                    else:
                        le = np.log(-z + np.log1p(np.exp(z)))
                    LE[s] = le
                    if le > top:
                        top = le
                den = 0.0
                for j in range(d):
                    g[j, 0] = 0.0
                for s in range(n):
                    z = Z[s]
                    den += np.exp(LE[s] - top)
                    if lossk == 2:
                        ld = -z
                    elif z < 0:
                        ld = -np.log1p(np.exp(z))
                    elif z == 0:
                        ld = -np.log(2.0)
                    else:
                        ld = -(z + np.log1p(np.exp(-z)))
                    w = -np.exp(ld - top) * Y[s, 0]
                    for j in range(d):
                        g[j, 0] += w * X[s, j]
                for j in range(d):
                    g[j, 0] = eta * (g[j, 0] / den)
            elif sgd:                       # 2 c_B X_B^T r_B
                for i in range(m):
                    for j in range(d):
                        g[j, i] = 0.0
                    for t in range(bsz):
                        s = idx[k - k0, b, t]
                        for j in range(d):
                            g[j, i] += X[s, j] * R[t, i]
            residual_form = lossk == 0 and not sgd and not (covariance and tmax <= 1e100)
            if lossk == 0 and not sgd and not residual_form:
                est = yy
                for i in range(m):
                    for j in range(d):
                        acc = -XtY[j, i]
                        for jj in range(d):
                            acc += Sig[j, jj] * theta[jj, i]
                        g[j, i] = acc
                        est += theta[j, i] * (acc - XtY[j, i])   # |X theta - Y|^2 (cancels: a test only)
                residual_form = not (est > 1e-6 * yy)
            if residual_form:
                for i in range(m):
                    for j in range(d):
                        g[j, i] = 0.0
                    for s in range(n):
                        acc = -Y[s, i]
                        for j in range(d):
                            acc += X[s, j] * theta[j, i]
                        for j in range(d):
                            g[j, i] += X[s, j] * acc
            if lossk == 0:
                cg = cB if sgd else c
                for j in range(d):
                    for i in range(m):
                        g[j, i] = 2.0 * cg * g[j, i]
            if normalize == 0:
                for j in range(d):
                    for i in range(m):
                        g[j, i] *= eta
            elif normalize == 1 and not tiny_margin:
                if value < tiny_loss:       # g / loss directly (0 at an exact minimum), then eta
                    for j in range(d):
                        for i in range(m):
                            g[j, i] = eta * (0.0 if value == 0.0 else g[j, i] / value)
                else:
                    sc = eta / value
                    for j in range(d):
                        for i in range(m):
                            g[j, i] *= sc
            # ---------------------------------------------------------------- pull-back and update
            # grad W_k = S_k^T B_{k-1}^T and B_k = W_k B_{k-1} (old W_k), B_0 = g; without gradient
            # normalization the update nxt = W - grad is written directly, with it grad is kept first
            nxt = buf[1 - cur]
            direct = normalize != 2
            out = nxt if direct else grad
            if kind == 0:
                for j in range(d):
                    for i in range(m):
                        Bc[j * m + i] = g[j, i]
                for kk in range(L):
                    rk, ck = rows[kk], cols[kk]
                    so, o = soff[kk + 1], off[kk]
                    if m == 1:                       # one pass over W_k for both
                        for a in range(rk):
                            sa = S[so + a]
                            base = o + a * ck
                            acc = 0.0
                            if direct:
                                for bb in range(ck):
                                    w = W[base + bb]
                                    acc += w * Bc[bb]
                                    out[base + bb] = w - sa * Bc[bb]
                            else:
                                for bb in range(ck):
                                    acc += W[base + bb] * Bc[bb]
                                    out[base + bb] = sa * Bc[bb]
                            Bn[a] = acc               # (unused after the last block)
                    else:
                        for a in range(rk):
                            for bb in range(ck):
                                acc = 0.0
                                for i in range(m):
                                    acc += S[so + i * rk + a] * Bc[bb * m + i]
                                q = o + a * ck + bb
                                out[q] = W[q] - acc if direct else acc
                        if kk < L - 1:
                            for a in range(rk):
                                for i in range(m):
                                    acc = 0.0
                                    for bb in range(ck):
                                        acc += W[o + a * ck + bb] * Bc[bb * m + i]
                                    Bn[a * m + i] = acc
                    Bc, Bn = Bn, Bc
            else:                                   # grad of block kk: g * pre[kk] * suf[kk + 1]
                for j in range(d):
                    suf[L, j] = 1.0
                for kk in range(L - 1, -1, -1):
                    o = off[kk]
                    for j in range(d):
                        suf[kk, j] = suf[kk + 1, j] * W[o + j]
                for kk in range(L):
                    o = off[kk]
                    if direct:
                        for j in range(d):
                            out[o + j] = W[o + j] - g[j, 0] * (pre[kk, j] * suf[kk + 1, j])
                    else:
                        for j in range(d):
                            out[o + j] = g[j, 0] * (pre[kk, j] * suf[kk + 1, j])
            if not direct:
                sq = 0.0
                for q in range(total):
                    sq += grad[q] * grad[q]
                sc = eta / (np.sqrt(sq) if sq > 0 else 1.0)
                for q in range(total):
                    nxt[q] = W[q] - grad[q] * sc
            cur = 1 - cur
            k += 1
        last_step[b] = k
        for q in range(total):
            P[b, q] = buf[cur, q]
            Pprev[b, q] = buf[1 - cur, q]


def descend(net: Any, loss: Any, params: list[np.ndarray], step: float, n_steps: int, record_every: int,
            normalize: str | None, keep_params: bool, block: Any = None) -> Any:
    """The compiled twin of :func:`lintheory.gradient_descent` (``block`` None) and of
    :func:`lintheory.stochastic_gradient_descent` (``block(start)``: the chunk of minibatch indices of
    :func:`lintheory.dynamics.minibatch._minibatch_blocks`, read chunk by chunk as the NumPy loop reads them).
    Arguments are already validated by the caller. Returns ``None`` when the kernel cannot be built
    (:func:`_ready` warned why; ``block`` was not called): the caller then runs the NumPy loop."""
    from ..networks import Diagonal, FullyConnected

    reason = _reason_by_type(net, loss, normalize, sgd=block is not None) or reason_not_applicable(net, loss, normalize)
    if reason is not None:
        raise ValueError(f"backend='compiled' cannot run this problem: {reason}")
    batch = net.batch_shape(params)
    B = int(np.prod(batch)) if batch else 1
    shapes = [tuple(s) for s in net.shapes]
    sizes = [int(np.prod(s)) for s in shapes]
    off = np.cumsum([0] + sizes).astype(np.int64)
    total = int(off[-1])
    P = np.empty((B, total))
    for k, p in enumerate(params):
        P[:, off[k]:off[k + 1]] = p.reshape(B, sizes[k])
    Pprev = np.full((B, total), np.nan)
    kind = 1 if type(net) is Diagonal else 0
    X = np.ascontiguousarray(loss.X, dtype=np.float64)
    lossk = _loss_code(loss)
    targets = loss.Y if lossk == 0 else loss.y          # margin losses: the labels, one column
    Y = np.ascontiguousarray(targets.reshape(targets.shape[0], -1), dtype=np.float64)
    m = Y.shape[1]
    if kind == 0:
        rows = np.array([s[0] for s in shapes], dtype=np.int64)
        cols = np.array([s[1] for s in shapes], dtype=np.int64)
        T = np.eye(rows[-1]) if type(net) is FullyConnected else np.asarray(net.output, dtype=np.float64)[None, :]
    else:
        rows = np.full(len(shapes), net.d, dtype=np.int64)
        cols = np.ones(len(shapes), dtype=np.int64)
        T = np.zeros((1, 1))
    with np.errstate(over="ignore", invalid="ignore"):     # huge data: inf, as the NumPy loop sees it
        Sig, XtY, yy = X.T @ X, X.T @ Y, float(np.sum(Y * Y))
    xnorm = float(np.max(np.sum(np.abs(X), axis=1)))
    ymax = float(np.max(np.abs(Y)))
    steps = _record_steps(n_steps, record_every)
    rec_at = steps.astype(np.int64)
    Tn = steps.size
    d = X.shape[1]
    rec_theta = np.full((Tn, B, d, m), np.nan)
    rec_loss = np.full((Tn, B), np.nan)
    rec_params = np.full((Tn, B, total), np.nan) if keep_params else np.empty((1, 1, 1))
    diverged = np.full(B, -1, dtype=np.int64)
    last = np.zeros(B, dtype=np.int64)
    fixed = (kind, off, rows, cols, np.ascontiguousarray(T, dtype=np.float64), X, Y, Sig, XtY,
             yy, float(loss.c) if lossk == 0 else 1.0, xnorm, ymax, float(step), _NORMALIZE_CODE[normalize],
             lossk, _TINY_LOSS, int(n_steps))
    records = (rec_at, bool(keep_params), rec_theta, rec_loss, rec_params, diverged, last)
    empty = np.empty((0, B, 0), dtype=np.int64)
    kernel = _ready((P, Pprev, *fixed, 0, int(n_steps), 0, empty, 0.0, *records))   # SGD's calls: same types
    if kernel is None:                          # could not be built (warned): the caller runs NumPy
        return None
    if block is None:                           # gradient descent: one call for the whole run
        kernel(P, Pprev, *fixed, 0, int(n_steps), 0, empty, 0.0, *records)
    else:                                       # SGD: one call per chunk of minibatch indices
        cB = 0.0
        for k0 in range(0, max(n_steps, 1), minibatch._SGD_CHUNK):
            k1 = min(k0 + minibatch._SGD_CHUNK, n_steps)
            if k1 > k0:
                idx = np.ascontiguousarray(block(k0), dtype=np.int64).reshape(k1 - k0, B, -1)
                cB = float(loss._take(idx[0, 0]).c)         # the minibatch factor of Loss.subset
            else:                                           # n_steps = 0: only the initial state
                idx = empty
            kernel(P, Pprev, *fixed, k0, k1, int(np.searchsorted(rec_at, k0)), idx, cB, *records)
            if np.all(diverged >= 0):           # every member frozen: no more minibatches are drawn
                break
    theta = rec_theta.reshape((Tn,) + batch + net.theta_shape)
    rec_loss = rec_loss.reshape((Tn,) + batch)
    snaps = ([np.ascontiguousarray(rec_params[:, :, off[k]:off[k + 1]]).reshape((Tn,) + batch + shapes[k])
              for k in range(len(shapes))] if keep_params else None)
    final = [np.ascontiguousarray(P[:, off[k]:off[k + 1]]).reshape(batch + shapes[k]) for k in range(len(shapes))]
    k_end = n_steps if np.any(diverged < 0) else int(np.max(diverged))
    return _descent_trajectory(steps, theta, rec_loss, snaps, final, diverged.reshape(batch),
                               {"n_steps": k_end, "n_grad": k_end + 1 if block is None else k_end})


# ``backend="auto"`` compiles or loads the kernel only for runs that repay it: loading from the cache
# costs ~0.02-0.3 s, thousands of steps of the NumPy loop on a small network. The choice depends on the
# problem only, never on what this process did before (whether the kernel is loaded), so that a run
# gives the same bits in every process (sweeps compare workers' results with the parent's bit for bit).
_AUTO_MIN_WORK = 500
# The compiled loop does plain loops (about 1-3 GFlop/s, ~0.2 us per member and step at the least);
# NumPy's per-call cost (~30 calls of ~1 us per step) is what it saves, and BLAS wins once a step has
# enough arithmetic. The limits below are break-even points measured on 2 cores by
# benchmarks/bench_dispatch.py (its table: the largest work at which every problem still ran at least
# 0.99x as fast compiled, and the smallest at which one ran slower; each limit lies between the two).
# The logistic and exponential losses (scalar outputs; their work counts 2nd, with the exp and log1p
# of every sample not counted) share the scalar limit. Measured on 2 cores under load, by CPU time
# (best of 3, 400 steps; 15 problems like bench_dispatch's: diagonal and [d, 5, 5, 1] networks, n in
# {14, 100}, d in {5, 40, 200}, 1 to 200 members, work 3e4 to 4e5): every problem up to 135000 ran at
# least 1.07x as fast compiled, the first slower one (0.88x) had 164120. bench_dispatch's "scalar,
# logistic loss" row re-measures it (wall time).
_AUTO_MAX_WORK_SCALAR = 100_000
_AUTO_MAX_WORK_VECTOR = 20_000


def step_work(net: Any, loss: Any, params: list[np.ndarray], batch_size: int | None = None) -> int:
    """Multiply-adds of one step over the batch, the measure :func:`worth_it` compares with its limits:
    :math:`B\\,(m\\sum_k |W_k| + m \\min(d^2, 2nd))` for gradient descent with the squared loss,
    :math:`B\\,(\\sum_k |W_k| + 2nd)` with the logistic and exponential losses (margins and
    :math:`X^\\top(\\ell'(z)\\odot y)`: no covariance form), and
    :math:`B\\,(m\\sum_k |W_k| + 2bdm)` for SGD with minibatches of ``batch_size`` :math:`b`."""
    batch = net.batch_shape(params)
    B = int(np.prod(batch)) if batch else 1
    m = int(np.prod(net.theta_shape[1:])) if len(net.theta_shape) > 1 else 1
    n, d = loss.X.shape
    if batch_size is not None:
        loss_work = m * 2 * batch_size * d
    else:
        loss_work = m * (min(d * d, 2 * n * d) if _loss_code(loss) == 0 else 2 * n * d)
    return B * (m * sum(int(np.prod(s)) for s in net.shapes) + loss_work)


def worth_it(net: Any, loss: Any, params: list[np.ndarray], n_steps: int, normalize: Any,
             batch_size: int | None = None) -> bool:
    """The choice of ``backend="auto"``: the compiled loop applies and is expected to be faster.

    Compiled when the pair is supported, ``n_steps`` times the batch size is at least 500,
    :func:`step_work` is at most 100000 for a scalar output (the logistic and exponential losses
    included) or 20000 for a vector output (the
    break-even measured by ``benchmarks/bench_dispatch.py``), and numba imports (checked last, so that
    a short run never imports it).
    """
    if _reason_by_type(net, loss, normalize, sgd=batch_size is not None) is not None:
        return False
    batch = net.batch_shape(params)
    if n_steps * (int(np.prod(batch)) if batch else 1) < _AUTO_MIN_WORK:
        return False
    scalar = len(net.theta_shape) == 1 or int(np.prod(net.theta_shape[1:])) == 1
    limit = _AUTO_MAX_WORK_SCALAR if scalar else _AUTO_MAX_WORK_VECTOR
    return step_work(net, loss, params, batch_size) <= limit and available()   # numba imported last
