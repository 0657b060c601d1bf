"""Shared matplotlib style and small figure helpers (they draw; they never compute dynamics)."""

from __future__ import annotations

import io
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["STYLE", "use_style", "reference_slope", "figure_png"]

STYLE: dict[str, Any] = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "font.size": 10,
    "lines.linewidth": 1.8,
    "image.cmap": "viridis",
}


def use_style() -> None:
    """Apply the course's matplotlib style (call once at the top of a chapter)."""
    mpl.rcParams.update(STYLE)


def reference_slope(ax: Axes, x: Any, slope: float, *, anchor: tuple[float, float],
                    label: str | None = None, **kwargs: Any) -> None:
    """Draw the line :math:`y = y_0 (x / x_0)^{\\text{slope}}` on log-log axes through ``anchor``."""
    x = np.asarray(x, dtype=float)
    x0, y0 = anchor
    kwargs.setdefault("linestyle", "--")
    kwargs.setdefault("color", "0.4")
    ax.plot(x, y0 * (x / x0) ** slope, label=label, **kwargs)


def figure_png(fig: Figure, *, dpi: int = 80) -> bytes:
    """Render a figure to PNG bytes, without time-stamped metadata (reproducible bytes)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()
