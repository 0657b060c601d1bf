"""Large steps on the smallest linear network: the uv model (Chapter 6).

The model is the two-layer linear network :math:`x \\mapsto v^\\top u\\,x` with scalar input and output and
hidden width :math:`h` (``FullyConnected([1, h, 1])``: :math:`u = W_1 \\in \\mathbb R^{h\\times 1}`,
:math:`v^\\top = W_2`), trained on one sample :math:`x = 1` with target :math:`y` and the course loss
:math:`\\mathcal L = (f - y)^2/2`, :math:`f = v^\\top u`. Gradient descent with step :math:`\\eta` and residual
:math:`r = f - y` reads :math:`u \\leftarrow u - \\eta r v`, :math:`v \\leftarrow v - \\eta r u`. Three scalars
describe it exactly, whatever the width:

- the output :math:`f = v^\\top u`;
- the curvature :math:`\\lambda = \\|u\\|^2 + \\|v\\|^2` (the tangent kernel of the sample, and the sharpness
  of every minimizer, where the Hessian is :math:`JJ^\\top` with :math:`J = (v, u)`);
- the imbalance :math:`D = \\|u\\|^2 - \\|v\\|^2`.

With :math:`p = \\|u + v\\|^2 = \\lambda + 2f` and :math:`q = \\|u - v\\|^2 = \\lambda - 2f`, one step is
:math:`p \\leftarrow (1 - \\eta r)^2p`, :math:`q \\leftarrow (1 + \\eta r)^2q`, and
:math:`D \\leftarrow (1 - \\eta^2r^2)D` (derived in this course, Chapter 6). This module holds that recursion
and the thresholds that follow from it: the stability of minimizers (balancing), and the phases of the
catapult of Lewkowycz et al. (2020), whose NTK-parameterized width-:math:`n` model with target :math:`y` is this
recursion with target :math:`y/\\sqrt n`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .._validation import as_array, check_int

__all__ = ["UVPath", "uv_init", "uv_recursion", "uv_state", "uv_minimizer_sharpness", "balancing_bound",
           "catapult_thresholds", "lazy_curvature_drop", "flow_residual_integral"]


class UVPath(NamedTuple):
    """Output, curvature and imbalance of the uv model along gradient descent; time on the first axis."""

    f: np.ndarray
    curvature: np.ndarray
    imbalance: np.ndarray


def _positive(name: str, value: Any) -> np.ndarray:
    arr = as_array(name, value)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be positive, got {arr}")
    return arr


def uv_state(params: Any) -> UVPath:
    """Output :math:`f = v^\\top u`, curvature :math:`\\|u\\|^2 + \\|v\\|^2` and imbalance :math:`\\|u\\|^2 - \\|v\\|^2`.

    Parameters
    ----------
    params : list of two ndarray
        Parameters (or snapshots) of ``FullyConnected([1, h, 1])``: ``W1`` of shape ``(*lead, h, 1)`` and
        ``W2`` of shape ``(*lead, 1, h)``, with any leading time or batch axes.

    Returns
    -------
    UVPath
        Arrays of shape ``lead``.
    """
    if not isinstance(params, (list, tuple)) or len(params) != 2:
        raise TypeError("params must be the two layers [W1, W2] of FullyConnected([1, h, 1])")
    W1, W2 = (np.asarray(p, dtype=float) for p in params)
    if W1.ndim < 2 or W1.shape[-1] != 1 or W2.ndim < 2 or W2.shape[-2] != 1 or W1.shape[-2] != W2.shape[-1]:
        raise ValueError(f"params must have shapes (..., h, 1) and (..., 1, h), got {W1.shape} and {W2.shape}")
    u, v = W1[..., 0], W2[..., 0, :]
    uu, vv = np.sum(u * u, axis=-1), np.sum(v * v, axis=-1)
    return UVPath(np.sum(u * v, axis=-1), uu + vv, uu - vv)


def uv_init(f0: Any, imbalance0: Any) -> list[np.ndarray]:
    """Parameters of the scalar uv model (``FullyConnected([1, 1, 1])``) with a given output and imbalance.

    .. math:: u_0 = \\sqrt{\\big(D_0 + \\sqrt{D_0^2 + 4f_0^2}\\big)/2},\\qquad v_0 = f_0/u_0 ,

    the point of the hyperbola :math:`u^2 - v^2 = D_0` with :math:`uv = f_0` and :math:`u > 0`.

    Parameters
    ----------
    f0 : float or array_like
        Initial output :math:`uv \\ne 0`.
    imbalance0 : float or array_like
        Initial imbalance :math:`D_0 = u^2 - v^2`. Both broadcast; the result has that batch shape.

    Returns
    -------
    list of ndarray
        ``[W1, W2]`` of shapes ``(*batch, 1, 1)``.
    """
    f0, D0 = np.broadcast_arrays(as_array("f0", f0), as_array("imbalance0", imbalance0))
    if np.any(f0 == 0):
        raise ValueError("f0 must be non-zero (u v = 0 leaves the imbalance alone undetermined)")
    u0 = np.sqrt((D0 + np.sqrt(D0 * D0 + 4 * f0 * f0)) / 2)
    return [u0[..., None, None], (f0 / u0)[..., None, None]]


def uv_recursion(f0: Any, curvature0: Any, step: Any, n_steps: int, *, target: Any = 0.0,
                 imbalance0: Any = 0.0) -> UVPath:
    """Exact gradient-descent recursion of the uv model (any width) in its three scalars.

    With :math:`r_k = f_k - y`,

    .. math::

        f_{k+1} = f_k - \\eta\\lambda_kr_k + \\eta^2r_k^2f_k,\\qquad
        \\lambda_{k+1} = \\lambda_k - 4\\eta r_kf_k + \\eta^2r_k^2\\lambda_k,\\qquad
        D_{k+1} = (1 - \\eta^2r_k^2)D_k ,

    obtained by expanding :math:`(u - \\eta rv)^\\top(v - \\eta ru)`, :math:`\\|u - \\eta rv\\|^2 + \\|v - \\eta ru\\|^2`
    and :math:`\\|u - \\eta rv\\|^2 - \\|v - \\eta ru\\|^2` (derived in this course, Chapter 6). For :math:`y = 0` and
    width :math:`n` in the NTK parameterization the same expansion gives these equations with :math:`\\eta^2r^2`
    and :math:`4\\eta rf` divided by :math:`n`; we take that to be the model of Lewkowycz et al. (2020), whose
    abstract and introduction only were read (the match with their own update equations is not checked).

    Parameters
    ----------
    f0, curvature0 : array_like
        Initial output :math:`f_0` and curvature :math:`\\lambda_0 \\ge 2|f_0|` (Cauchy-Schwarz).
    step : float or array_like
        Step size(s) :math:`\\eta > 0`.
    n_steps : int
    target : float or array_like, default 0
        The target :math:`y`.
    imbalance0 : float or array_like, default 0
        Initial imbalance :math:`D_0` (it does not feed back into :math:`f` and :math:`\\lambda`).
        All array arguments broadcast.

    Returns
    -------
    UVPath
        Arrays of shape ``(n_steps + 1, *broadcast_shape)``; entries become ``inf``/``nan`` once the
        recursion diverges.
    """
    f0, lam0 = as_array("f0", f0), as_array("curvature0", curvature0)
    if np.any(lam0 < 2 * np.abs(f0) * (1 - 1e-12)):
        raise ValueError(f"curvature0 must be at least 2 |f0| (||u||^2 + ||v||^2 >= 2 |u.v|), got {lam0} and f0 = {f0}")
    eta = _positive("step", step)
    y, D0 = as_array("target", target), as_array("imbalance0", imbalance0)
    n_steps = check_int("n_steps", n_steps, minimum=0)
    f, lam, D, eta, y = np.broadcast_arrays(f0, lam0, D0, eta, y)
    out = np.empty((3, n_steps + 1) + f.shape)
    out[:, 0] = f, lam, D
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(n_steps):
            f, lam, D = out[:, k]
            e = eta * (f - y)
            out[:, k + 1] = f - eta * lam * (f - y) + e * e * f, lam - 4 * e * f + e * e * lam, (1 - e * e) * D
    return UVPath(*out)


def uv_minimizer_sharpness(imbalance: Any, target: Any) -> np.ndarray:
    """Sharpness of the minimizer of the scalar uv model (width 1) with a given imbalance.

    At a minimizer :math:`uv = y` the Hessian of :math:`(uv - y)^2/2` is
    :math:`\\begin{pmatrix} v^2 & y\\\\ y & u^2\\end{pmatrix}`, with eigenvalues 0 and

    .. math:: u^2 + v^2 = \\sqrt{D^2 + 4y^2},\\qquad D = u^2 - v^2

    (derived in this course, Chapter 6). For width :math:`h > 1` the sharpness :math:`\\|u\\|^2 + \\|v\\|^2` of a
    minimizer is at least this value, with equality iff :math:`u \\parallel v`. The flattest minimizer is the
    balanced one, with sharpness :math:`2|y|`.
    """
    D, y = as_array("imbalance", imbalance), as_array("target", target)
    return np.sqrt(D * D + 4 * y * y)


def balancing_bound(step: Any, target: Any) -> np.ndarray:
    """Largest imbalance of a minimizer of the uv model that gradient descent with step :math:`\\eta` can converge to.

    A run that converges to a minimizer (without landing on one exactly) ends where the sharpness
    :math:`\\lambda_\\infty = \\|u\\|^2 + \\|v\\|^2 \\le 2/\\eta`, since the residual obeys
    :math:`r_{k+1} = (1 - \\eta\\lambda_k)r_k + O(r_k^2)`. With :func:`uv_minimizer_sharpness`,

    .. math:: |D_\\infty| \\le \\sqrt{\\lambda_\\infty^2 - 4y^2} \\le 2\\sqrt{1/\\eta^2 - y^2}
              \\quad(\\eta|y| \\le 1),

    and no minimizer is stable when :math:`\\eta|y| > 1` (``nan`` is returned there). Derived in this course
    (Chapter 6); compare the balancing theorem of Wang, Chen, Zhao and Tao (ICLR 2022).

    Parameters
    ----------
    step : float or array_like
        :math:`\\eta > 0`.
    target : float or array_like
        :math:`y`.

    Returns
    -------
    ndarray
        :math:`2\\sqrt{1/\\eta^2 - y^2}`, or ``nan`` where :math:`\\eta|y| > 1`.
    """
    eta, y = _positive("step", step), as_array("target", target)
    gap = 1 / (eta * eta) - y * y
    with np.errstate(invalid="ignore"):
        return np.where(gap >= 0, 2 * np.sqrt(np.maximum(gap, 0.0)), np.nan)


def catapult_thresholds(curvature0: Any) -> tuple[np.ndarray, np.ndarray]:
    """The two step sizes that separate the phases of the uv model: :math:`2/\\lambda_0` and :math:`4/\\lambda_0`.

    For target :math:`y = 0` and :math:`f_0 \\ne 0`, :func:`uv_recursion` gives
    :math:`\\lambda_{k+1} - \\lambda_k = \\eta f_k^2(\\eta\\lambda_k - 4)`. Hence (derived in this course, Chapter 6):
    below :math:`4/\\lambda_0` the curvature never increases and the run converges to a minimizer with
    :math:`\\lambda_\\infty \\le \\min(\\lambda_0, 2/\\eta)`; above it the curvature never decreases and diverges.
    Below :math:`2/\\lambda_0` the run is lazy (:func:`lazy_curvature_drop`); between the two it catapults.
    We take these to be the critical and maximal learning rates of Lewkowycz et al. (2020) for their two-layer
    linear model in the large-width limit (only their abstract and introduction were read; not checked against
    their derivation).

    Parameters
    ----------
    curvature0 : float or array_like
        :math:`\\lambda_0 > 0`.

    Returns
    -------
    eta_crit, eta_max : ndarray
    """
    lam0 = _positive("curvature0", curvature0)
    return 2 / lam0, 4 / lam0


def lazy_curvature_drop(f0: Any, curvature0: Any, step: Any) -> np.ndarray:
    """Leading-order fall of the curvature in the lazy phase, :math:`\\eta\\lambda_0 < 2`, target 0.

    .. math:: \\lambda_0 - \\lambda_\\infty \\approx \\frac{(4 - \\eta\\lambda_0)\\,f_0^2}{\\lambda_0(2 - \\eta\\lambda_0)},

    summing :math:`\\eta f_k^2(4 - \\eta\\lambda_k)` over :math:`f_k \\approx (1 - \\eta\\lambda_0)^kf_0`. As
    :math:`\\eta \\to 0` it tends to :math:`2f_0^2/\\lambda_0`, the fall along gradient flow, which conserves
    :math:`\\lambda^2 - 4f^2` (derived in this course, Chapter 6). It is of order :math:`f_0^2`: the curvature
    barely moves, whereas in the catapult phase it falls by at least :math:`\\lambda_0 - 2/\\eta`. Its relative
    error is of order :math:`f_0^2/\\lambda_0^2` at fixed :math:`\\eta\\lambda_0` (observed, with a constant that grows
    as :math:`\\eta\\lambda_0 \\to 2`, where the sum converges slowly).

    Raises
    ------
    ValueError
        If :math:`\\eta\\lambda_0 \\ge 2` (no lazy phase).
    """
    f0, lam0, eta = as_array("f0", f0), _positive("curvature0", curvature0), _positive("step", step)
    x = eta * lam0
    if np.any(x >= 2):
        raise ValueError(f"step * curvature0 must be below 2 (the lazy phase), got {x}")
    return (4 - x) * f0 * f0 / (lam0 * (2 - x))


def flow_residual_integral(f0: Any, curvature0: Any, target: Any) -> np.ndarray:
    """:math:`\\int_0^\\infty r(t)^2\\,dt` along the gradient flow of the uv model, in closed form.

    The flow :math:`\\dot f = -\\lambda r`, :math:`\\dot\\lambda = -4rf` conserves :math:`Q = \\lambda^2 - 4f^2`
    (:math:`= D^2` for width 1), and :math:`f` moves monotonically to :math:`y`; with :math:`dt = -df/(\\lambda r)`,

    .. math::

        \\int_0^\\infty r^2\\,dt = \\int_{f_0}^{y}\\frac{y - f}{\\sqrt{Q + 4f^2}}\\,df = F(y) - F(f_0),\\qquad
        F(f) = \\frac y2\\operatorname{asinh}\\frac{2f}{\\sqrt Q} - \\frac14\\sqrt{Q + 4f^2}

    (derived in this course, Chapter 6). Since :func:`uv_recursion` multiplies the imbalance by
    :math:`1 - \\eta^2r_k^2`, gradient descent ends with
    :math:`\\ln(D_\\infty/D_0) = -\\eta\\int_0^\\infty r^2\\,dt + O(\\eta^2)`: Chapter 1's :math:`O(\\eta^2)` drift per step,
    summed.

    Parameters
    ----------
    f0, curvature0 : array_like
        Initial output and curvature, with :math:`Q = \\lambda_0^2 - 4f_0^2 > 0`.
    target : array_like
        :math:`y`. All three broadcast.

    Returns
    -------
    ndarray
        The integral (non-negative).
    """
    f0, lam0, y = as_array("f0", f0), _positive("curvature0", curvature0), as_array("target", target)
    Q = lam0 * lam0 - 4 * f0 * f0
    if np.any(Q <= 0):
        raise ValueError(f"curvature0^2 - 4 f0^2 must be positive (an unbalanced or non-aligned start), got {Q}")
    root = np.sqrt(Q)

    def F(f: np.ndarray) -> np.ndarray:
        return y / 2 * np.arcsinh(2 * f / root) - np.sqrt(Q + 4 * f * f) / 4

    return F(y) - F(f0)
