"""Seeded synthetic problems. Every generator takes ``seed`` (None, an int or a Generator)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import as_array, as_generator, check_int, check_nonnegative, check_positive

__all__ = ["underdetermined_regression", "overdetermined_regression", "aligned_regression",
           "separable_classification", "random_orthogonal"]


def random_orthogonal(d: int, seed: Any = None) -> np.ndarray:
    """A Haar-distributed random orthogonal ``d x d`` matrix (QR of a Gaussian, signs fixed)."""
    d = check_int("d", d, minimum=1)
    Q, R = np.linalg.qr(as_generator(seed).standard_normal((d, d)))
    return Q * np.sign(np.diag(R))


def underdetermined_regression(n: int, d: int, m: int = 1, *, seed: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian regression data with fewer samples than dimensions (``n < d``).

    ``X`` has i.i.d. standard normal entries (full row rank almost surely) and so does ``Y``.

    Returns
    -------
    X : ndarray, shape (n, d)
    Y : ndarray, shape (n,) if ``m == 1`` else (n, m)
    """
    n, d, m = check_int("n", n, minimum=1), check_int("d", d, minimum=1), check_int("m", m, minimum=1)
    if n >= d:
        raise ValueError(f"n must be smaller than d for an underdetermined problem, got n={n}, d={d}")
    rng = as_generator(seed)
    X = rng.standard_normal((n, d))
    Y = rng.standard_normal((n, m))
    return X, (Y[:, 0] if m == 1 else Y)


def overdetermined_regression(n: int, d: int, *, noise: float = 1.0, seed: Any = None
                              ) -> tuple[np.ndarray, np.ndarray]:
    """Noisy linear regression with ``n >= d``, normalised so that :math:`\\|w^*\\| = 1`.

    The authors' ``generate_data`` (Marion & Chizat 2024): :math:`X \\sim \\mathcal N(0,1)^{n\\times d}`,
    :math:`y = Xw_{true} + \\nu\\varepsilon`; then ``y`` is divided by the norm of the least-squares
    solution :math:`w^* = (X^\\top X)^{-1}X^\\top y`, so that the new :math:`w^*` has unit norm.

    Returns
    -------
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)
    """
    n, d = check_int("n", n, minimum=1), check_int("d", d, minimum=1)
    if n < d:
        raise ValueError(f"n must be at least d for an overdetermined problem, got n={n}, d={d}")
    noise = check_nonnegative("noise", noise)
    rng = as_generator(seed)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + noise * rng.standard_normal(n)
    return X, y / np.linalg.norm(np.linalg.lstsq(X, y, rcond=None)[0])


def aligned_regression(lambdas: Any, sigmas: Any, *, n: int, rotate: bool = True,
                       seed: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Regression data whose input and cross covariances share singular vectors.

    .. math:: \\Sigma_x = X^\\top X/n = U\\,\\mathrm{diag}(\\lambda)\\,U^\\top, \\qquad
              \\Sigma_{xy} = X^\\top Y/n = U\\,\\mathrm{diag}(\\sigma)\\,V^\\top,

    exactly (Gidel, Bach, Lacoste-Julien 2019's assumption; :math:`\\lambda = 1` is Saxe et al.'s
    whitened setting). Built as :math:`X = \\sqrt n\\,Q\\,\\mathrm{diag}(\\sqrt\\lambda)U^\\top`,
    :math:`Y = \\sqrt n\\,Q\\,\\mathrm{diag}(\\sigma/\\sqrt\\lambda)V^\\top` with ``Q`` having orthonormal
    columns.

    Parameters
    ----------
    lambdas : array_like, shape (d,)
        Eigenvalues of :math:`\\Sigma_x` (> 0).
    sigmas : array_like, shape (d,)
        Singular values of :math:`\\Sigma_{xy}` (>= 0).
    n : int
        Number of samples, ``n >= d``.
    rotate : bool
        Random orthogonal ``U`` and ``V`` (default), or identities.
    seed : None, int or Generator

    Returns
    -------
    X : ndarray, shape (n, d)
    Y : ndarray, shape (n, d)
    """
    lam = as_array("lambdas", lambdas, ndim=1)
    sig = as_array("sigmas", sigmas, ndim=1)
    if lam.size == 0:
        raise ValueError("lambdas must list at least one eigenvalue (d >= 1), got an empty array")
    if sig.shape != lam.shape:
        raise ValueError(f"sigmas must have the shape of lambdas {lam.shape}, got {sig.shape}")
    if np.any(lam <= 0):
        raise ValueError("lambdas must be positive")
    if np.any(sig < 0):
        raise ValueError("sigmas must be non-negative")
    d = lam.size
    n = check_int("n", n, minimum=d)
    rng = as_generator(seed)
    Q = np.linalg.qr(rng.standard_normal((n, d)))[0]
    U = random_orthogonal(d, rng) if rotate else np.eye(d)
    V = random_orthogonal(d, rng) if rotate else np.eye(d)
    X = np.sqrt(n) * (Q * np.sqrt(lam)) @ U.T
    Y = np.sqrt(n) * (Q * (sig / np.sqrt(lam))) @ V.T
    return X, Y


def separable_classification(n: int, d: int, *, margin: float = 0.1, seed: Any = None
                             ) -> tuple[np.ndarray, np.ndarray]:
    """Linearly separable data: Gaussian points labelled by a random unit direction ``w``.

    Each point is pushed along ``w`` until :math:`y_i\\,x_i^\\top w \\ge` ``margin``, so the data are
    separable through the origin with margin at least ``margin`` (for the unnormalised ``w``).

    Returns
    -------
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,), labels in {-1, +1}
    """
    n, d = check_int("n", n, minimum=1), check_int("d", d, minimum=1)
    margin = check_positive("margin", margin)
    rng = as_generator(seed)
    w = rng.standard_normal(d)
    w /= np.linalg.norm(w)
    X = rng.standard_normal((n, d))
    y = np.where(X @ w >= 0, 1.0, -1.0)
    X += (y * np.maximum(0.0, margin - y * (X @ w)))[:, None] * w
    return X, y


# ---------------------------------------------------------------- matrix sensing and completion (issue 18)

def low_rank_matrix(d: int, m: int, rank: int, *, seed: Any = None, norm: str = "frobenius"
                    ) -> np.ndarray:
    """A random ``d x m`` matrix of the given rank, :math:`\\theta^* = GH^\\top` with Gaussian ``G, H``.

    ``norm="frobenius"`` rescales it to :math:`\\|\\theta^*\\|_F = \\sqrt{dm}` (entries of order one);
    ``"spectral"`` to spectral norm 1; ``"none"`` keeps :math:`GH^\\top`.
    """
    d, m = check_int("d", d, minimum=1), check_int("m", m, minimum=1)
    rank = check_int("rank", rank, minimum=0)
    if rank > min(d, m):
        raise ValueError(f"rank must be at most min(d, m) = {min(d, m)}, got {rank}")
    if norm not in ("frobenius", "spectral", "none"):
        raise ValueError(f"norm must be one of ('frobenius', 'spectral', 'none'), got {norm!r}")
    rng = as_generator(seed)
    M = rng.standard_normal((d, rank)) @ rng.standard_normal((rank, m))
    if rank == 0 or norm == "none":
        return M
    return M * (np.sqrt(d * m) / np.linalg.norm(M) if norm == "frobenius" else 1 / np.linalg.norm(M, 2))


def gaussian_sensing(n: int, theta: Any, *, seed: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian matrix sensing of ``theta``: :math:`A_i` with i.i.d. :math:`\\mathcal N(0,1)` entries.

    Returns
    -------
    A : ndarray, shape (n, d, m)
    y : ndarray, shape (n,), :math:`y_i = \\langle A_i, \\theta\\rangle`
    """
    n = check_int("n", n, minimum=1)
    theta = as_array("theta", theta, ndim=2)
    A = as_generator(seed).standard_normal((n,) + theta.shape)
    return A, np.einsum("ndm,dm->n", A, theta)


def completion_mask(n: int, shape: tuple[int, int], *, seed: Any = None) -> np.ndarray:
    """``n`` distinct entries of a ``shape`` matrix, drawn uniformly without replacement.

    Returns
    -------
    ndarray of int, shape (n, 2)
        Rows and columns of the observed entries (in the order drawn); pass them with the values
        ``theta[idx[:, 0], idx[:, 1]]`` to :meth:`lintheory.SensingLoss.completion`.
    """
    if not (isinstance(shape, (tuple, list)) and len(shape) == 2
            and all(isinstance(s, (int, np.integer)) and s >= 1 for s in shape)):
        raise ValueError(f"shape must be a pair of positive ints (d, m), got {shape!r}")
    d, m = int(shape[0]), int(shape[1])
    n = check_int("n", n, minimum=1)
    if n > d * m:
        raise ValueError(f"n must be at most the number of entries d*m = {d * m}, got {n}")
    flat = as_generator(seed).choice(d * m, size=n, replace=False)
    return np.stack([flat // m, flat % m], axis=1)


def razin_cohen_completion() -> tuple[np.ndarray, np.ndarray]:
    """The 2 x 2 completion problem of Razin & Cohen (2020): entries (0,1), (1,0) equal 1, (1,1) equal 0.

    Every completion is :math:`\\begin{pmatrix} w & 1\\\\ 1 & 0\\end{pmatrix}`, of determinant
    :math:`-1` (rank 2 for every ``w``); the unobserved entry ``(0, 0)`` is ``w``.

    Returns
    -------
    mask_indices : ndarray of int, shape (3, 2)
    values : ndarray, shape (3,)
    """
    return np.array([[0, 1], [1, 0], [1, 1]]), np.array([1.0, 1.0, 0.0])


__all__ += ["low_rank_matrix", "gaussian_sensing", "completion_mask", "razin_cohen_completion",
            "tight_rate_example"]


def tight_rate_example(n: int, d: int, m: int, h: int, a: float, b: float, *, seed: Any = None
                       ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Whitened data and a two-layer initialization at which the imbalance rate bound is attained.

    :math:`X = \\sqrt n\\,Q_{:n}` for a random orthogonal :math:`Q` (so :math:`XX^\\top = nI`), a standard
    normal target, and in the basis :math:`Q`: :math:`U_1 = a[I_n\\ 0]` (the part of :math:`W_1^\\top` in
    the row space of :math:`X`), :math:`U_2 = 0`, :math:`V = W_2 = b[0\\ I_m\\ 0]`. The blocks occupy
    disjoint columns of the hidden layer, so the tangent kernel is :math:`(a^2 + b^2)I` and
    :math:`-\\tfrac12\\,\\tfrac{d}{dt}\\log\\mathcal L = c = a^2 + b^2` at :math:`t = 0` (chapter 1's
    tightness example and Exercise 1-5; derived in this course). Needs :math:`h \\ge n + m`,
    :math:`d \\ge n`.

    Returns
    -------
    X : ndarray, shape (n, d)
    Y : ndarray, shape (n, m)
    params : list of ndarray
        ``[W1, W2]``, shapes ``(h, d)`` and ``(m, h)``.
    """
    n, d, m, h = (check_int(k, v, minimum=1) for k, v in (("n", n), ("d", d), ("m", m), ("h", h)))
    if d < n or h < n + m:
        raise ValueError(f"need d >= n and h >= n + m, got n={n}, d={d}, m={m}, h={h}")
    Q = random_orthogonal(d, seed=seed)
    X = np.sqrt(n) * Q[:n]
    Y = as_generator(seed).standard_normal((n, m))
    U1 = np.zeros((n, h))
    U1[:, :n] = a * np.eye(n)
    V = np.zeros((m, h))
    V[:, n:n + m] = b * np.eye(m)
    return X, Y, [(Q[:n].T @ U1).T, V]


# ---------------------------------------------------------------- the authors' data (Marion & Chizat) with a test set
__all__ += ["regression_with_test"]


def regression_with_test(n: int, d: int, *, noise: float = 1.0, seed: Any = None
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The authors' ``generate_data`` with its test set (Marion & Chizat 2024), for any ``n`` and ``d``.

    :math:`X, X_{test} \\sim \\mathcal N(0,1)^{n\\times d}`, :math:`w_{true} \\sim \\mathcal N(0, I_d)`,
    :math:`y = Xw_{true} + \\nu\\varepsilon` and :math:`y_{test}` alike; both label vectors are divided by the
    norm of :math:`w^* = (X^\\top X)^+X^\\top y` (the minimum-norm least-squares solution, an interpolator
    when ``n < d``), so that the new :math:`w^*` has unit norm. :func:`overdetermined_regression` is the
    same construction without the test set, for ``n >= d``.

    Returns
    -------
    X, y, X_test, y_test : ndarray
        Shapes ``(n, d)``, ``(n,)``, ``(n, d)``, ``(n,)``.
    """
    n, d = check_int("n", n, minimum=1), check_int("d", d, minimum=1)
    noise = check_nonnegative("noise", noise)
    rng = as_generator(seed)
    X, X_test, w_true = rng.standard_normal((n, d)), rng.standard_normal((n, d)), rng.standard_normal(d)
    y = X @ w_true + noise * rng.standard_normal(n)
    y_test = X_test @ w_true + noise * rng.standard_normal(n)
    scale = np.linalg.norm(np.linalg.pinv(X) @ y)
    return X, y / scale, X_test, y_test / scale
