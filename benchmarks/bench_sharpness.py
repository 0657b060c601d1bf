"""Sharpness: Lanczos on Hessian-vector products against the dense Hessian, as the network grows.

Setting: the flat-minima Fig. 1 experiment (Marion & Chizat 2024) — n = 50 samples, d = 5, the
paper's loss ``mean((X theta - y)**2)``, a fully-connected linear network of depth 10 with a scalar
output — with the hidden width h growing, so that the parameter count P = 5h + 8h^2 + h goes from 90
to about 13,000. The point is a Gaussian initialisation at scale ``1/sqrt(h)`` (0.45 at h = 5, inside
Fig. 1's range of scales; the end-to-end map stays of order one as h grows), which is not a
minimiser, so the Hessian's residual term is present.

Contenders, both computing the largest Hessian eigenvalue:

- **Lanczos**: ``lt.metrics.sharpness(net, loss, params, tol=1e-10, max_iter=300, seed=0)``, batched
  Lanczos with full re-orthogonalisation on exact Hessian-vector products; best of five calls. The
  HVPs it used are counted through the loss (each HVP calls ``loss.hvp`` once);
- **dense**: ``lt.metrics.hessian`` (the P x P Hessian from P HVPs in one batched call) followed by
  ``np.linalg.eigvalsh(H)[-1]``; best of three calls when a call is predicted to take under 2 s,
  otherwise one call. Its O(P^3) eigensolve dominates at large P, so a size is skipped ("not run")
  when the cubic extrapolation from the largest size run so far predicts more than 60 s.

Wherever both run, their eigenvalues must agree to a relative 1e-8; the script stops otherwise.
"""

from __future__ import annotations

import numpy as np

import lintheory as lt
from _common import best_time, sig

N, D, DEPTH = 50, 5, 10
WIDTHS = [3, 4, 6, 8, 11, 16, 22, 30, 40]
QUICK_WIDTHS = [3, 6, 11]
AGREEMENT = 1e-8
DENSE_BUDGET_S = 60.0
SEVERAL_REPEATS_BELOW_S = 2.0


class CountingSquaredLoss(lt.SquaredLoss):
    """A squared loss that counts the Hessian-vector products asked of it (``hvps``)."""

    hvps = 0

    def hvp(self, theta: np.ndarray, u: np.ndarray) -> np.ndarray:
        self.hvps += int(np.prod(np.shape(u)[:-1]))
        return super().hvp(theta, u)


def network(width: int) -> lt.FullyConnected:
    """The fully-connected network of depth 10 and the given hidden width, scalar output."""
    return lt.FullyConnected([D] + [width] * (DEPTH - 1) + [1])


def setting(width: int) -> tuple[lt.FullyConnected, CountingSquaredLoss, list[np.ndarray]]:
    """The network, the paper's loss and the evaluation point (Gaussian, scale ``1/sqrt(width)``)."""
    X, y = lt.data.overdetermined_regression(N, D, noise=1.0, seed=0)
    net = network(width)
    return net, CountingSquaredLoss(X, y, normalization="mean"), net.init(width ** -0.5, seed=0)


def lanczos(net: lt.FullyConnected, loss: CountingSquaredLoss, params: list[np.ndarray]) -> tuple[float, int]:
    """The sharpness by Lanczos and the number of HVPs it took."""
    loss.hvps = 0
    value = lt.metrics.sharpness(net, loss, params, tol=1e-10, max_iter=300, seed=0)
    return value, loss.hvps


def dense(net: lt.FullyConnected, loss: CountingSquaredLoss, params: list[np.ndarray]) -> float:
    """The sharpness as the top eigenvalue of the dense Hessian."""
    return float(np.linalg.eigvalsh(lt.metrics.hessian(net, loss, params))[-1])


def row(width: int, predicted_dense_s: float) -> dict:
    """One table row; the dense method runs only if ``predicted_dense_s`` is within the budget."""
    net, loss, params = setting(width)
    t_lanczos, (s_lanczos, hvps) = best_time(lambda: lanczos(net, loss, params), repeat=5)
    out = {"P": net.n_params, "width": width, "Lanczos s": sig(t_lanczos), "Lanczos HVPs": hvps}
    if predicted_dense_s > DENSE_BUDGET_S:
        return out | {"dense s": "not run", "dense / Lanczos": "not run", "agreement": "not run"}
    repeat = 3 if predicted_dense_s < SEVERAL_REPEATS_BELOW_S else 1
    t_dense, s_dense = best_time(lambda: dense(net, loss, params), repeat=repeat)
    agreement = abs(s_lanczos - s_dense) / abs(s_dense)
    if not agreement <= AGREEMENT:
        raise RuntimeError(f"width {width}: Lanczos {s_lanczos!r} and dense {s_dense!r} differ by a "
                           f"relative {agreement:.1e} > {AGREEMENT:g}")
    return out | {"dense s": sig(t_dense), "dense / Lanczos": sig(t_dense / t_lanczos),
                  "agreement": sig(agreement, 2)}


def predicted_dense_s(rows: list[dict], n_params: int) -> float:
    """Dense time at ``n_params`` extrapolated as P^3 from the largest size run so far (0 if none)."""
    runs = [r for r in rows if isinstance(r["dense s"], (int, float))]
    return runs[-1]["dense s"] * (n_params / runs[-1]["P"]) ** 3 if runs else 0.0


def run(quick: bool = False) -> list[dict]:
    """One row per width, in increasing order of the parameter count."""
    rows: list[dict] = []
    for width in QUICK_WIDTHS if quick else WIDTHS:
        rows.append(row(width, predicted_dense_s(rows, network(width).n_params)))
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
