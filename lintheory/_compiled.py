"""A compiled (numba) gradient-descent loop for the network/loss pairs the course uses most.

:func:`lintheory.gradient_descent` hands a run to :func:`gradient_descent` below when it applies
(``backend="auto"``, the default) or when asked to (``backend="compiled"``). It applies to

- networks: :class:`~lintheory.FullyConnected`, :class:`~lintheory.Residual` and
  :class:`~lintheory.Diagonal` (exactly these classes, not subclasses);
- loss: :class:`~lintheory.SquaredLoss` (every normalization);
- step: constant, ``normalize="loss"`` and ``normalize="gradient"``;
- any batch shape, any record interval, with or without parameter snapshots.

Everything else runs on the NumPy reference loop of :mod:`lintheory.dynamics`. The compiled loop does
the same update as the reference, member by member of the batch (they are independent), with the same
records, the same divergence handling (a member whose loss stops being finite is frozen at its last
finite state) and the same :class:`~lintheory.dynamics.Trajectory`; ``tests/test_compiled.py`` checks
that both paths agree to 1e-12 on every recorded step.

What one step computes (``h`` widths, ``L`` layers, ``m`` outputs, ``n`` samples)
-------------------------------------------------------------------------------
- chains: the suffix products :math:`S_k = T W_L\\cdots W_{k+1}` (``m`` rows, :math:`O(Lh^2m)`), the
  end-to-end :math:`\\theta = S_0^\\top`, and in the pull-back the products
  :math:`B_k = W_k\\cdots W_1 G^\\top` and the outer products :math:`S_k^\\top B_{k-1}^\\top`;
- the loss gradient in its covariance form :math:`2c(\\Sigma\\theta - X^\\top Y)` with
  :math:`\\Sigma = X^\\top X` precomputed (:math:`O(d^2m)` instead of :math:`O(ndm)`); the residual
  form :math:`2cX^\\top(X\\theta - Y)` of the reference is used instead when :math:`\\theta` is huge
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
that is set, else in ``lintheory/__pycache__`` next to this file when that directory is writable, else
in its user-wide cache directory (``~/.cache/numba``). If no cache location is writable (a read-only
install and a read-only home), the kernel is compiled in memory, once per process. Compiling takes a few
seconds; loading from the cache a fraction of a second.

The stochastic simulator does not exist yet; when it lands, its step can reuse :func:`_kernel`'s
forward and pull-back (they take the per-step data, here :math:`\\Sigma` and :math:`X^\\top Y`).
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

__all__ = ["available", "applies", "gradient_descent"]

_KERNEL: Any = None
_CACHED: bool | None = None          # whether the loaded kernel uses numba's on-disk cache

_NORMALIZE_CODE = {None: 0, "loss": 1, "gradient": 2}


def available() -> bool:
    """Whether numba can be imported (without importing it)."""
    return importlib.util.find_spec("numba") is not None


def loaded() -> bool:
    """Whether the compiled kernel is already compiled or loaded in this process."""
    return _KERNEL is not None


def reason_not_applicable(net: Any, loss: Any, normalize: Any = None) -> str | None:
    """Why the compiled loop cannot run this problem, or ``None`` when it can."""
    from .losses import SquaredLoss
    from .networks import Diagonal, FullyConnected, Residual

    if type(net) not in (FullyConnected, Residual, Diagonal):
        return (f"the compiled loop supports FullyConnected, Residual and Diagonal networks, "
                f"not {type(net).__name__}")
    if type(loss) is not SquaredLoss:
        return f"the compiled loop supports SquaredLoss only, not {type(loss).__name__}"
    if normalize not in _NORMALIZE_CODE:
        return f"the compiled loop does not support normalize={normalize!r}"
    if not available():
        return "numba is not installed (pip install 'lintheory[fast]' or numba)"
    return None


def applies(net: Any, loss: Any, normalize: Any = None) -> bool:
    """Whether :func:`gradient_descent` can run this network/loss pair."""
    return reason_not_applicable(net, loss, normalize) is None


def _build() -> Any:
    """Compile (or load from numba's cache) the kernel; once per process."""
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


# Coverage: numba runs the kernel below as machine code, which coverage.py cannot trace, so it is
# excluded from the line and branch figures; tests/test_compiled.py checks every record it produces
# against the NumPy loop of lintheory.dynamics (hypothesis over shapes, depths, batches and steps).
def _kernel_py(P, kind, off, rows, cols, T, X, Y, Sig, XtY, yy, c, xnorm, ymax, eta, normalize, tiny_loss,
               n_steps, rec_steps, keep, rec_theta, rec_loss, rec_params, diverged, last_step):  # pragma: no cover (compiled)
    """Run every batch member (rows of ``P``, updated in place to the final state).

    ``kind`` 0: chain ``T W_L ... W_1`` (block k stored row-major, shape ``rows[k] x cols[k]``);
    ``kind`` 1: diagonal (every block a vector of length d). Records go to ``rec_*`` (pre-filled NaN);
    ``diverged[b]`` gets the divergence step or stays -1; ``last_step[b]`` the last step evaluated.
    """
    B, total = P.shape
    L = off.shape[0] - 1
    n, d = X.shape
    m = Y.shape[1]
    n_rec = rec_steps.shape[0]
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
    r = np.empty(n)
    pre = np.empty(L + 1)
    suf = np.empty(L + 1)
    for b in range(B):
        for q in range(total):
            buf[0, q] = P[b, q]
        cur = 0
        ri = 0
        k = 0
        while True:
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
            else:
                for j in range(d):
                    t = 1.0
                    for kk in range(L):
                        t *= W[off[kk] + j]
                    theta[j, 0] = t
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
            if not np.isfinite(value):      # diverged: back to the last finite state, frozen
                diverged[b] = k
                if k > 0:
                    cur = 1 - cur
                break
            if record:
                rec_loss[ri, b] = value
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
            residual_form = not (tmax <= 1e100)
            if not residual_form:
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
            for j in range(d):
                for i in range(m):
                    g[j, i] = 2.0 * c * g[j, i]
            if normalize == 0:
                for j in range(d):
                    for i in range(m):
                        g[j, i] *= eta
            elif normalize == 1:
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
            else:
                for j in range(d):
                    pre[0] = 1.0
                    for kk in range(L):
                        pre[kk + 1] = pre[kk] * W[off[kk] + j]
                    suf[L] = 1.0
                    for kk in range(L - 1, -1, -1):
                        suf[kk] = suf[kk + 1] * W[off[kk] + j]
                    for kk in range(L):
                        q = off[kk] + j
                        gq = g[j, 0] * (pre[kk] * suf[kk + 1])
                        out[q] = W[q] - gq if direct else gq
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


def gradient_descent(net: Any, loss: Any, params: list[np.ndarray], step: float, n_steps: int,
                     record_every: int, normalize: str | None, keep_params: bool) -> Any:
    """The compiled twin of :func:`lintheory.gradient_descent` (arguments already validated there)."""
    from .dynamics import _TINY_LOSS, Trajectory, _record_steps
    from .networks import Diagonal, FullyConnected

    reason = reason_not_applicable(net, loss, normalize)
    if reason is not None:
        raise ValueError(f"backend='compiled' cannot run this problem: {reason}")
    kernel = _build()
    batch = net.batch_shape(params)
    B = int(np.prod(batch)) if batch else 1
    shapes = [tuple(s) for s in net.shapes]
    sizes = [int(np.prod(s)) for s in shapes]
    off = np.cumsum([0] + sizes).astype(np.int64)
    total = int(off[-1])
    P = np.empty((B, total))
    for k, p in enumerate(params):
        P[:, off[k]:off[k + 1]] = p.reshape(B, sizes[k])
    kind = 1 if type(net) is Diagonal else 0
    X = np.ascontiguousarray(loss.X, dtype=np.float64)
    Y = np.ascontiguousarray(loss.Y.reshape(loss.Y.shape[0], -1), dtype=np.float64)
    m = Y.shape[1]
    if kind == 0:
        rows = np.array([s[0] for s in shapes], dtype=np.int64)
        cols = np.array([s[1] for s in shapes], dtype=np.int64)
        T = np.eye(rows[-1]) if type(net) is FullyConnected else np.asarray(net.output, dtype=np.float64)[None, :]
    else:
        rows = np.full(len(shapes), net.d, dtype=np.int64)
        cols = np.ones(len(shapes), dtype=np.int64)
        T = np.zeros((1, 1))
    Sig = X.T @ X
    XtY = X.T @ Y
    xnorm = float(np.max(np.sum(np.abs(X), axis=1)))
    ymax = float(np.max(np.abs(Y)))
    steps = _record_steps(n_steps, record_every)
    Tn = steps.size
    d = X.shape[1]
    rec_theta = np.full((Tn, B, d, m), np.nan)
    rec_loss = np.full((Tn, B), np.nan)
    rec_params = np.full((Tn, B, total), np.nan) if keep_params else np.empty((1, 1, 1))
    diverged = np.full(B, -1, dtype=np.int64)
    last = np.zeros(B, dtype=np.int64)
    kernel(P, kind, off, rows, cols, np.ascontiguousarray(T, dtype=np.float64), X, Y, Sig, XtY,
           float(np.sum(Y * Y)), float(loss.c), xnorm, ymax, float(step), _NORMALIZE_CODE[normalize],
           _TINY_LOSS, int(n_steps), steps.astype(np.int64), bool(keep_params), rec_theta, rec_loss, rec_params, diverged, last)
    theta = rec_theta.reshape((Tn,) + batch + net.theta_shape)
    rec_loss = rec_loss.reshape((Tn,) + batch)
    snaps = ([np.ascontiguousarray(rec_params[:, :, off[k]:off[k + 1]]).reshape((Tn,) + batch + shapes[k])
              for k in range(len(shapes))] if keep_params else None)
    final = [np.ascontiguousarray(P[:, off[k]:off[k + 1]]).reshape(batch + shapes[k]) for k in range(len(shapes))]
    div = diverged.reshape(batch)
    k_end = n_steps if np.any(diverged < 0) else int(np.max(diverged))
    if not batch and div >= 0:
        keep = steps < div
        theta, rec_loss = theta[keep], rec_loss[keep]
        snaps = [s[keep] for s in snaps] if keep_params else None
        steps = steps[keep]
    message = ("finished" if np.all(diverged < 0) else
               f"loss became non-finite at step {int(np.max(diverged)) if not batch else 'see diverged_step'}")
    return Trajectory(t=steps.astype(float), params=snaps, theta=theta, loss=rec_loss,
                      final_params=final, diverged_step=div,
                      stats={"n_steps": k_end, "n_grad": k_end + 1},
                      message=message)


# ``backend="auto"`` compiles or loads the kernel only for runs that repay it: loading from the cache
# costs ~0.02-0.3 s, thousands of steps of the NumPy loop on a small network. The choice depends on the
# problem only, never on what this process did before (whether the kernel is loaded), so that a run
# gives the same bits in every process (sweeps compare workers' results with the parent's bit for bit).
_AUTO_MIN_WORK = 500
# The compiled loop does plain loops (about 1-2 GFlop/s); NumPy's per-call cost is what it saves, and
# BLAS wins once the layers are large: measured break-even points (numpy time / compiled time ~ 1) were
# batch x multiply-adds per step of ~70000 for scalar outputs and ~20000 for vector outputs.
_AUTO_MAX_FLOPS_SCALAR = 50_000
_AUTO_MAX_FLOPS_VECTOR = 8_000
_AUTO_SMALL_BLOCK = 100              # blocks of at most 10 x 10: NumPy's batched products stay slow


def worth_it(net: Any, loss: Any, params: list[np.ndarray], n_steps: int, normalize: Any) -> bool:
    """The choice of ``backend="auto"``: the compiled loop applies and is expected to be faster.

    Compiled when numba is installed, the pair is supported, ``n_steps`` times the batch size is at
    least 500, and the layers are small: for a scalar output, at most 50000 multiply-adds per step over
    the batch or no block above 100 entries; for a vector output, at most 8000.
    """
    if not applies(net, loss, normalize):
        return False
    batch = net.batch_shape(params)
    B = int(np.prod(batch)) if batch else 1
    if n_steps * B < _AUTO_MIN_WORK:
        return False
    m = int(np.prod(net.theta_shape[1:])) if len(net.theta_shape) > 1 else 1
    blocks = [int(np.prod(s)) for s in net.shapes]
    work = B * m * sum(blocks)
    if m == 1:
        return work <= _AUTO_MAX_FLOPS_SCALAR or max(blocks) <= _AUTO_SMALL_BLOCK
    return work <= _AUTO_MAX_FLOPS_VECTOR
