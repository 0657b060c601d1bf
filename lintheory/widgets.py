"""Interactive figures that work in the built book with no kernel.

:func:`explorer` renders a figure for every point of a grid of control values and links the controls
to the frames on the client side (``jslink`` into nested ``Stack`` widgets), so moving a slider in the
static HTML shows the matching figure; in a notebook the same widget responds instantly.
"""

from __future__ import annotations

import base64
import gc
import itertools
import time
from typing import Any, Callable, Mapping, Sequence

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure
from traitlets import Unicode

from .plotting import STYLE, figure_png

__all__ = ["explorer", "FigureExplorer"]


def _label(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _control(name: str, values: list[Any], value: Any, label: str | None = None
             ) -> W.SelectionSlider | W.ToggleButtons:
    """A slider for a numeric grid; buttons for named choices (their labels are never clipped)."""
    options = [(_label(v), v) for v in values]
    label = name if label is None else label
    if all(_is_number(v) for v in values):
        return W.SelectionSlider(options=options, value=value, description=label, continuous_update=True,
                                 style={"description_width": "initial"})
    return W.ToggleButtons(options=options, value=value, description=label,
                           style={"description_width": "initial", "button_width": "auto"})


def _grid(name: str, values: Any) -> list[Any]:
    """The values of one control: a non-empty sequence of distinct, hashable, non-NaN values."""
    if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__") or getattr(values, "ndim", 1) == 0:
        raise TypeError(f"controls[{name!r}] must be a list of values, got {values!r}")
    grid = list(values)
    if not grid:
        raise ValueError(f"controls[{name!r}] must list at least one value")
    for v in grid:
        try:
            hash(v)
        except TypeError:
            raise TypeError(f"controls[{name!r}] values must be hashable (numbers, strings, tuples), "
                            f"got {v!r}") from None
        if _is_number(v) and not np.isfinite(v):
            raise ValueError(f"controls[{name!r}] values must be finite, got {v!r}")
    if len(set(grid)) != len(grid):
        dup = next(v for v in grid if grid.count(v) > 1)
        raise ValueError(f"controls[{name!r}] lists {dup!r} more than once; each value gives one frame")
    shown = [_label(v) for v in grid]
    if len(set(shown)) != len(shown):
        same = [v for v, text in zip(grid, shown) if shown.count(text) > 1]
        raise ValueError(f"controls[{name!r}] values {same[0]!r} and {same[1]!r} both show as "
                         f"{_label(same[0])!r} on the control; round the values (e.g. np.round(values, 6)) "
                         "or drop one")
    return grid


class FigureExplorer(W.VBox):
    """A column of selection controls above a stack of precomputed figure frames.

    Attributes
    ----------
    controls : dict of str to ipywidgets.SelectionSlider or ipywidgets.ToggleButtons
        A slider for each numeric grid, a row of buttons for each grid of named choices.
    frames : dict of tuple to bytes
        The PNG of every grid point, keyed by the tuple of control values.
    draw_seconds : dict of tuple to float
        Wall time in seconds of ``draw`` for each frame (its computation and matplotlib calls),
        same keys as ``frames``: what a widget update computes.
    render_seconds : dict of tuple to float
        Wall time in seconds to render each drawn frame to PNG (matplotlib's Agg renderer). Both are
        paid once, when the explorer is built; moving a control then only swaps images.
    """

    def __init__(self, controls: dict[str, W.SelectionSlider | W.ToggleButtons], frames: dict[tuple, bytes],
                 seconds: tuple[dict[tuple, float], dict[tuple, float]], stack: W.Widget, links: list[Any]):
        super().__init__([W.VBox(list(controls.values())), stack])   # one row per control: long labels never overlap
        self.controls, self.frames, self._links = controls, frames, links
        self.draw_seconds, self.render_seconds = seconds

    def current_frame(self) -> bytes:
        """The PNG shown for the controls' current values."""
        return self.frames[tuple(c.value for c in self.controls.values())]

    def _repr_mimebundle_(self, **kwargs: Any) -> dict | None:
        """The live widget, plus its current frame as a plain image for viewers with no widget manager
        (GitHub, nbviewer): they show the image, the book and Jupyter show the widget."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle["image/png"] = base64.b64encode(self.current_frame()).decode("ascii")
        return bundle

    def __repr__(self) -> str:
        grid = ", ".join(f"{k} in [{', '.join(label for label, _ in c.options)}]"
                         for k, c in self.controls.items())
        return f"FigureExplorer({grid}; {len(self.frames)} frames)"


def explorer(draw: Callable[..., None], controls: Mapping[str, Sequence[Any]], *,
             initial: Mapping[str, Any] | None = None, figsize: tuple[float, float] = (6.4, 3.6),
             dpi: int = 72, density: int = 2, colors: int | None = 64,
             alt: str | Callable[..., str] = "Interactive figure",
             labels: Mapping[str, str] | None = None) -> FigureExplorer:
    """Build an interactive figure from a drawing function and a grid of control values.

    Parameters
    ----------
    draw : callable
        ``draw(fig, **values)`` draws on the empty :class:`matplotlib.figure.Figure` ``fig`` for one
        combination of control values. It should compute in well under 0.1 s.
    controls : mapping of str to sequence
        The name and the grid of values of each control, in display order.
    initial : mapping, optional
        Values shown first (default: the first value of each control).
    figsize, dpi
        Size of every frame in inches, and CSS pixels per inch: a frame is shown
        ``figsize[0] * dpi`` CSS pixels wide.
    density : int, default 2
        Image pixels per CSS pixel: 2 renders every frame at ``density * dpi`` so it is sharp on
        high-density (retina, phone) screens.
    colors : int or None, default 64
        Palette size of each frame (see :func:`lintheory.plotting.figure_png`): keeps a 2x frame
        smaller than an RGBA 1x one. None keeps full color.
    alt : str or callable, default "Interactive figure"
        Text alternative of each frame (the image's ``tooltip``; the book copies it to the ``alt``
        attribute). A string is followed by the frame's control values, ``"<alt> (scale = 0.3, width =
        16)"``; a callable is called as ``alt(**values)`` and returns the whole text.
    labels : mapping of str to str, optional
        The text shown next to a control, when it should differ from the keyword ``draw`` receives, e.g.
        ``{"eta": "η", "delta": "δ"}`` (default: the control's name).

    Returns
    -------
    FigureExplorer
        A widget: one control per grid (a slider, or buttons for named choices) and the frames,
        linked in the browser.
    """
    if not callable(draw):
        raise TypeError(f"draw must be callable as draw(fig, **values), got {type(draw).__name__}")
    if not isinstance(controls, Mapping) or not controls:
        raise ValueError("controls must name at least one control and its values")
    if not (isinstance(figsize, (tuple, list)) and len(figsize) == 2 and all(
            _is_number(v) and np.isfinite(v) and v > 0 for v in figsize)):
        raise ValueError(f"figsize must be a (width, height) pair of positive inches, got {figsize!r}")
    if not (isinstance(density, (int, np.integer)) and density >= 1):
        raise ValueError(f"density must be a positive int (image pixels per CSS pixel), got {density!r}")
    names = list(controls)
    grids = {k: _grid(k, v) for k, v in controls.items()}
    initial = dict(initial or {})
    for k, v in initial.items():
        if k not in grids or v not in grids[k]:
            raise ValueError(f"initial[{k!r}] = {v!r} is not one of that control's values")
    labels = dict(labels or {})
    for k, text in labels.items():
        if k not in grids or not isinstance(text, str):
            raise ValueError(f"labels[{k!r}] = {text!r}: labels must map control names to strings")
    frames: dict[tuple, bytes] = {}
    draw_seconds: dict[tuple, float] = {}
    render_seconds: dict[tuple, float] = {}
    import matplotlib as mpl
    freeze = gc.get_freeze_count() == 0   # a caller's own freeze is left alone
    if freeze:
        gc.freeze()     # what is alive now is not scanned again while the frames are made
    try:
        with mpl.rc_context(STYLE):
            for combo in itertools.product(*(grids[k] for k in names)):
                start = time.perf_counter()
                fig = Figure(figsize=figsize, layout="constrained")
                draw(fig, **dict(zip(names, combo)))
                drawn = time.perf_counter()
                frames[combo] = figure_png(fig, dpi=dpi * density, colors=colors)
                draw_seconds[combo], render_seconds[combo] = drawn - start, time.perf_counter() - drawn
                del fig
                gc.collect()   # free this frame's figure (reference cycles) now, not in a later draw
    finally:
        if freeze:
            gc.unfreeze()
    widgets = {k: _control(k, grids[k], initial.get(k, grids[k][0]), labels.get(k)) for k in names}
    links: list[Any] = []

    def describe(combo: tuple) -> str:
        values = dict(zip(names, combo))
        if callable(alt):
            return str(alt(**values))
        return f"{alt} ({', '.join(f'{k} = {_label(v)}' for k, v in values.items())})"

    def level(i: int, prefix: tuple) -> W.Widget:
        if i == len(names):
            return _Frame(value=frames[prefix], format="png", width=str(round(figsize[0] * dpi)),
                           tooltip=describe(prefix))
        control = widgets[names[i]]
        node = W.Stack([level(i + 1, prefix + (v,)) for v in grids[names[i]]],
                       selected_index=control.index)
        links.append(W.jslink((control, "index"), (node, "selected_index")))
        return node

    return FigureExplorer(widgets, frames, (draw_seconds, render_seconds), level(0, ()), links)


class _Frame(W.Image):
    """One frame of an explorer: an ``Image`` whose model also carries an empty ``description``.

    ipywidgets' JavaScript (``DOMWidgetView.updateTooltip`` of @jupyter-widgets/base, as shipped by
    jupyterlab_widgets 3.0.17) reads ``description.length`` whenever a tooltip is set, and ``Image`` has
    no description: without it every frame fails to render in JupyterLab, Notebook 7 and JupyterLite
    ("Failed to create view for 'ImageView'"). Upstream: jupyter-widgets/ipywidgets pull request 3921.
    """

    description = Unicode("").tag(sync=True)
