"""Sharpness of the minimisers of deep linear regression (Marion & Chizat 2024).

Scalar-output regression with :math:`\\Sigma = X^\\top X/n \\succ 0` and least-squares solution
:math:`w^*`; every minimiser of the network's loss has :math:`w_{\\rm prod} = w^*`. All functions
use the course's loss :math:`\\|Xw - y\\|^2/(2n)` by default; ``normalization`` selects another
convention of :class:`lintheory.SquaredLoss` (the paper uses ``"mean"``, :math:`\\|Xw-y\\|^2/n`, for
which every sharpness below doubles).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .._validation import as_array, as_generator, check_int, check_positive, check_rows
from ..losses import squared_loss_factor

__all__ = ["RegressionConstants", "regression_constants", "sharpness_lower_bound", "balanced_sharpness",
           "small_init_sharpness_bound", "balanced_minimizer", "rescaled_minimizer"]


class RegressionConstants(NamedTuple):
    """Constants of an overdetermined scalar regression problem (Marion & Chizat 2024)."""

    w_star: np.ndarray   #: least-squares solution, shape (d,)
    sigma: np.ndarray    #: input covariance ``X^T X / n``, shape (d, d)
    a: float             #: ``w*^T Sigma w* / ||w*||^2``
    Lambda: float        #: largest eigenvalue of ``Sigma``
    kappa: float         #: condition number of ``Sigma``


def _check_xy(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    X = as_array("X", X, ndim=2)
    y = check_rows("y", as_array("y", y, ndim=1), X.shape[0], "entry per row of X")
    return X, y


def regression_constants(X: Any, y: Any) -> RegressionConstants:
    """The constants :math:`w^*, \\Sigma, a, \\Lambda, \\kappa` of Marion & Chizat (2024).

    .. math:: \\Sigma = \\frac{X^\\top X}{n},\\quad w^* = \\Sigma^{-1}\\frac{X^\\top y}{n},\\quad
              a = \\frac{w^{*\\top}\\Sigma w^*}{\\|w^*\\|^2},\\quad \\Lambda = \\lambda_{\\max}(\\Sigma),
              \\quad \\kappa = \\frac{\\lambda_{\\max}(\\Sigma)}{\\lambda_{\\min}(\\Sigma)} .

    Parameters
    ----------
    X : array_like, shape (n, d)
        Inputs with ``X^T X`` invertible (overdetermined, ``n >= d``).
    y : array_like, shape (n,)

    Returns
    -------
    RegressionConstants
    """
    X, y = _check_xy(X, y)
    n = X.shape[0]
    sigma = X.T @ X / n
    eig = np.linalg.eigvalsh(sigma)
    if eig[0] <= 1e-12 * max(eig[-1], 1e-300):
        raise ValueError("X must have full column rank (X^T X invertible); the problem is underdetermined")
    w_star = np.linalg.solve(sigma, X.T @ y / n)
    nw = float(w_star @ w_star)
    if nw == 0.0:
        raise ValueError("y must not be orthogonal to the columns of X (w* = 0)")
    return RegressionConstants(w_star, sigma, float(w_star @ sigma @ w_star / nw), float(eig[-1]),
                               float(eig[-1] / eig[0]))


def _factor(normalization: str, n: int) -> float:
    """Hessian at a minimiser divided by :math:`J^\\top\\Sigma J` for each loss convention."""
    return n * squared_loss_factor(normalization, n)


def _setup(X: Any, y: Any, depth: int, normalization: str) -> tuple[RegressionConstants, int, float]:
    X, y = _check_xy(X, y)
    depth = check_int("depth", depth, minimum=1)
    return regression_constants(X, y), depth, _factor(normalization, X.shape[0])


def sharpness_lower_bound(X: Any, y: Any, depth: int, *, normalization: str = "half_mean") -> float:
    """Sharpness lower bound :math:`S_{\\min}` over all minimisers of a depth-``L`` linear network.

    .. math:: S(\\mathcal W) \\ge S_{\\min} = L\\,a\\,\\|w^*\\|^{2-2/L}
              \\qquad\\text{(loss } \\|Xw-y\\|^2/(2n)\\text{)},

    i.e. :math:`2La\\|w^*\\|^{2-2/L}` for the paper's loss :math:`\\|Xw-y\\|^2/n` (Marion & Chizat 2024,
    lower bound; the proof in the course and the conversion are derived here). Holds for every width,
    and for the residual network with a fixed unit output vector.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    depth : int
        Number of layers ``L``.
    normalization : {"half_mean", "mean", "half_sum", "sum"}
        Loss convention, as in :class:`lintheory.SquaredLoss`.

    Returns
    -------
    float
    """
    c, L, f = _setup(X, y, depth, normalization)
    return f * L * c.a * float(np.linalg.norm(c.w_star)) ** (2 - 2 / L)


def balanced_sharpness(X: Any, y: Any, depth: int, *, normalization: str = "half_mean") -> float:
    """Exact sharpness :math:`S_{\\rm bal}` of the balanced rank-one aligned minimisers.

    .. math:: S_{\\rm bal} = \\|w^*\\|^{2-2/L}\\,\\lambda_{\\max}\\!\\big(\\Sigma^{1/2}
              (I + (L-1)\\hat w\\hat w^\\top)\\Sigma^{1/2}\\big), \\qquad \\hat w = w^*/\\|w^*\\| ,

    for the loss :math:`\\|Xw-y\\|^2/(2n)` (twice this for the paper's). Derived here: at such a
    minimiser :math:`JJ^\\top = \\|w^*\\|^{2-2/L}(I + (L-1)\\hat w\\hat w^\\top)`, and
    :math:`S_{\\min}\\le S_{\\rm bal}\\le L\\Lambda\\|w^*\\|^{2-2/L}`. That training from a small
    initialisation ends near :math:`S_{\\rm bal}` is the course's numerical prediction (chapter 5), motivated
    by the rank-one aligned picture of Marion & Chizat (2024), not a statement of their paper.

    Parameters
    ----------
    X, y, depth, normalization
        As in :func:`sharpness_lower_bound`.

    Returns
    -------
    float
    """
    c, L, f = _setup(X, y, depth, normalization)
    nw = float(np.linalg.norm(c.w_star))
    w_hat = c.w_star / nw
    ev, U = np.linalg.eigh(c.sigma)
    root = (U * np.sqrt(ev)) @ U.T
    v = root @ w_hat
    vals = np.linalg.eigvalsh(c.sigma + (L - 1) * np.outer(v, v))
    return f * nw ** (2 - 2 / L) * float(vals[-1])


def small_init_sharpness_bound(X: Any, y: Any, depth: int, *, normalization: str = "half_mean") -> float:
    """Upper bound on the sharpness reached by gradient flow from a small Gaussian initialisation.

    .. math:: S(\\mathcal W^{SI}) \\le 4L\\Lambda\\|w^*\\|^{2-2/L} \\;(= 4\\kappa' S_{\\min},\\
              \\kappa' = \\Lambda/a \\le \\kappa)

    for the loss :math:`\\|Xw-y\\|^2/(2n)`; the paper's :math:`8L\\Lambda\\|w^*\\|^{2-2/L}` for its loss
    :math:`\\|Xw-y\\|^2/n` (Marion & Chizat
    2024, small-initialisation theorem; constant from the authors' code, the :math:`\\|w^*\\|`
    scaling reconstructed).

    Parameters and return value as in :func:`sharpness_lower_bound`.
    """
    c, L, f = _setup(X, y, depth, normalization)
    return f * 4 * L * c.Lambda * float(np.linalg.norm(c.w_star)) ** (2 - 2 / L)


def _unit_vectors(rng: np.random.Generator, count: int, m: int, batch: tuple[int, ...]) -> list[np.ndarray]:
    out = []
    for _ in range(count):
        u = rng.standard_normal(batch + (m,))
        out.append(u / np.linalg.norm(u, axis=-1, keepdims=True))
    return out


def balanced_minimizer(X: Any, y: Any, depth: int, width: int, *, seed: Any = None,
                       batch: int | tuple[int, ...] = ()) -> list[np.ndarray]:
    """A balanced rank-one aligned minimiser of ``FullyConnected([d, width, ..., width, 1])``.

    .. math:: W_1 = c\\,u_2\\hat w^\\top,\\quad W_k = c\\,u_{k+1}u_k^\\top\\ (1<k<L),\\quad
              W_L = c\\,u_L^\\top,\\qquad c = \\|w^*\\|^{1/L},

    with random unit vectors :math:`u_k\\in\\mathbb R^{\\rm width}`, so that
    :math:`(W_L\\cdots W_1)^\\top = w^*` (Marion & Chizat 2024). Its sharpness is :func:`balanced_sharpness`,
    which equals the lower bound :math:`S_{\\min}` only when :math:`\\hat w` is an eigenvector of
    :math:`\\Sigma` and :math:`La \\ge \\Lambda` (e.g. :math:`\\Sigma = I`; a sufficient condition, derived in
    this course); in general it is larger (slightly so on chapter 5's data).

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    depth : int
        Number of layers ``L >= 2``.
    width : int
        Hidden width.
    seed : None, int or Generator
        For the hidden unit vectors.
    batch : int or tuple of int
        Leading batch shape (independent hidden vectors per member).

    Returns
    -------
    list of ndarray
        Layers with shapes ``batch + (width, d)``, ``batch + (width, width)``, ..., ``batch + (1, width)``.
    """
    c = regression_constants(*_check_xy(X, y))
    L = check_int("depth", depth, minimum=2)
    m = check_int("width", width, minimum=1)
    batch = (batch,) if isinstance(batch, (int, np.integer)) else tuple(batch)
    nw = float(np.linalg.norm(c.w_star))
    s = nw ** (1 / L)
    u = _unit_vectors(as_generator(seed), L - 1, m, batch)          # u[0] = u_2, ..., u[L-2] = u_L
    w_hat = np.broadcast_to(c.w_star / nw, batch + (c.w_star.size,))
    layers = [s * u[0][..., :, None] * w_hat[..., None, :]]
    layers += [s * u[k][..., :, None] * u[k - 1][..., None, :] for k in range(1, L - 1)]
    layers.append(s * u[L - 2][..., None, :])
    return layers


def rescaled_minimizer(params: list[Any], *, spread: float = 1.0, seed: Any = None) -> list[np.ndarray]:
    """Move a minimiser along the symmetries :math:`W_k \\mapsto A_k W_k A_{k-1}^{-1}` (same product).

    :math:`A_0 = I_d`, :math:`A_L = 1` and, in between, :math:`A_k = e^{\\,\\mathrm{spread}\\cdot g_k}
    Q_k` with :math:`g_k\\sim\\mathcal N(0,1)` a layer rescaling and :math:`Q_k` a random rotation.
    The end-to-end vector is unchanged, so a minimiser stays a minimiser, but the sharpness can be
    made arbitrarily large (Marion & Chizat 2024).

    Parameters
    ----------
    params : list of ndarray
        Layers of a ``FullyConnected`` network (any leading batch shape).
    spread : float
        Standard deviation of the log-scales :math:`g_k`.
    seed : None, int or Generator

    Returns
    -------
    list of ndarray
    """
    if not isinstance(params, (list, tuple)) or len(params) < 2:
        raise TypeError("params must be a list of at least two layer arrays")
    params = [as_array(f"params[{k}]", p) for k, p in enumerate(params)]
    spread = check_positive("spread", spread) if spread != 0 else 0.0
    rng = as_generator(seed)
    out, prev_inv = [], None
    for k, W in enumerate(params):
        batch = W.shape[:-2]
        W = W if prev_inv is None else W @ prev_inv
        if k == len(params) - 1:
            out.append(W)
            break
        Q, _ = np.linalg.qr(rng.standard_normal(batch + (W.shape[-2],) * 2))
        g = np.exp(spread * rng.standard_normal(batch))[..., None, None]
        out.append(g * Q @ W)
        prev_inv = np.swapaxes(Q, -1, -2) / g
    return out
