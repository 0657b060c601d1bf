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
    """Apply the course's matplotlib style (call once at the top of a chapter).

    In a Jupyter kernel this also makes inline figures "retina" PNGs: rendered at twice the pixel
    density and shown at their normal size, so they stay sharp on high-density screens and in the book.
    """
    mpl.rcParams.update(STYLE)
    try:
        from IPython import get_ipython
    except ImportError:        # pragma: no cover - IPython comes with ipywidgets
        return
    shell = get_ipython()
    if shell is not None and "matplotlib_inline" in str(mpl.get_backend()):
        from matplotlib_inline.backend_inline import set_matplotlib_formats
        set_matplotlib_formats("retina")


def reference_slope(ax: Axes, x: Any, slope: float, *, anchor: tuple[float, float],
                    label: str | None = None, **kwargs: Any) -> None:
    """Draw the line :math:`y = y_0 (x / x_0)^{\\text{slope}}` on log-log axes through ``anchor``."""
    x = np.asarray(x, dtype=float)
    x0, y0 = anchor
    kwargs.setdefault("linestyle", "--")
    kwargs.setdefault("color", "0.4")
    ax.plot(x, y0 * (x / x0) ** slope, label=label, **kwargs)


def figure_png(fig: Figure, *, dpi: int = 80, colors: int | None = None) -> bytes:
    """Render a figure to PNG bytes, without time-stamped metadata (reproducible bytes).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    dpi : int, default 80
        Pixels per inch of the image.
    colors : int, optional
        Reduce the image to a palette of at most this many colors (2 to 256; no dithering). Line plots
        use a handful of colors plus anti-aliasing shades, so 64 colors look the same and take about a
        third of the bytes. Default: full RGBA.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    if colors is None:
        return buf.getvalue()
    if not (isinstance(colors, (int, np.integer)) and 2 <= colors <= 256):
        raise ValueError(f"colors must be an int from 2 to 256, got {colors!r}")
    from PIL import Image
    image = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    image = image.quantize(colors=int(colors), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
