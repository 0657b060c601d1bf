"""The widget helper: one frame per grid point, every control linked on the client side."""

import itertools
import math

import pytest

import lintheory as lt


def draw(fig, a, b):
    ax = fig.add_subplot()
    ax.plot([0, 1], [a, b])
    ax.set_xlabel("x")
    ax.set_ylabel("y")


def test_explorer_renders_every_grid_point_and_links_every_stack():
    w = lt.widgets.explorer(draw, {"a": [1, 2, 3], "b": [0.5, 1.0]}, initial={"a": 2})
    assert len(w.frames) == 6 and all(f.startswith(b"\x89PNG") for f in w.frames.values())
    assert len(set(w.frames.values())) == 6                       # the frames differ
    assert len(w._links) == 1 + 3                                # one outer stack, three inner ones
    assert w.controls["a"].value == 2
    outer = w.children[1]
    assert outer.selected_index == 1 and outer.children[1].selected_index == 0
    assert repr(w) == "FigureExplorer(a in [1, 2, 3], b in [0.5, 1]; 6 frames)"


def test_numeric_grids_get_sliders_and_named_choices_get_buttons():
    import ipywidgets as W

    def draw_named(fig, kind, b):
        fig.add_subplot().plot([0, 1], [len(kind), b])

    w = lt.widgets.explorer(draw_named, {"kind": ["diagonal", "convolutional"], "b": [1, 2.5]},
                            initial={"kind": "convolutional"})
    assert isinstance(w.controls["kind"], W.ToggleButtons) and isinstance(w.controls["b"], W.SelectionSlider)
    assert w.controls["kind"].index == 1 and w.children[1].selected_index == 1   # linked by index
    assert repr(w) == "FigureExplorer(kind in [diagonal, convolutional], b in [1, 2.5]; 4 frames)"


def test_explorer_frames_are_reproducible():
    a = lt.widgets.explorer(draw, {"a": [1], "b": [2.0]})
    b = lt.widgets.explorer(draw, {"a": [1], "b": [2.0]})
    assert a.frames == b.frames


def test_explorer_times_every_frame():
    w = lt.widgets.explorer(draw, {"a": [1, 2], "b": [0.5, 1.0, 2.0]})
    for seconds in (w.draw_seconds, w.render_seconds):
        assert seconds.keys() == w.frames.keys()
        assert all(math.isfinite(t) and t > 0 for t in seconds.values())


@pytest.mark.parametrize("controls,initial,match", [({}, None, "controls"), ({"a": []}, None, "controls"),
                                                    ({"a": [1]}, {"a": 5}, "initial")])
def test_explorer_rejects_bad_controls(controls, initial, match):
    with pytest.raises(ValueError, match=match):
        lt.widgets.explorer(draw, controls, initial=initial)


def test_explorer_leaves_the_garbage_collector_as_it_found_it():
    import gc

    def broken(fig, a):
        raise RuntimeError("draw failed")

    before = gc.get_freeze_count()
    lt.widgets.explorer(draw, {"a": [1, 2], "b": [0.5]})
    assert gc.get_freeze_count() == before
    with pytest.raises(RuntimeError, match="draw failed"):
        lt.widgets.explorer(broken, {"a": [1]})
    assert gc.get_freeze_count() == before
    gc.freeze()                                   # a caller's own freeze survives the explorer
    try:
        lt.widgets.explorer(draw, {"a": [1], "b": [0.5]})
        assert gc.get_freeze_count() > 0          # not thawed (thawing empties it)
    finally:
        gc.unfreeze()


def test_frames_are_high_density_palette_pngs_shown_at_css_size():
    import io

    from PIL import Image
    w = lt.widgets.explorer(draw, {"a": [1, 2], "b": [0.5]}, figsize=(4.0, 3.0), dpi=72)
    image = Image.open(io.BytesIO(w.frames[(1, 0.5)]))
    assert image.size == (576, 432) and image.mode == "P"       # 2 x 72 dpi, 64-color palette
    leaf = w.children[1].children[0].children[0]               # stack a -> stack b -> image
    assert leaf.width == "288"                                   # shown at figsize x dpi CSS pixels
    full = lt.widgets.explorer(draw, {"a": [1], "b": [0.5]}, density=1, colors=None)
    assert Image.open(io.BytesIO(full.frames[(1, 0.5)])).mode == "RGBA"
    with pytest.raises(ValueError, match="density"):
        lt.widgets.explorer(draw, {"a": [1]}, density=0)


def test_the_widget_carries_its_current_frame_as_a_static_image():
    import base64
    w = lt.widgets.explorer(draw, {"a": [1, 2], "b": [0.5, 1.0]}, initial={"a": 2, "b": 1.0})
    bundle = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]) == w.frames[(2, 1.0)] == w.current_frame()
    w.controls["a"].value = 1
    assert w.current_frame() == w.frames[(1, 1.0)]


def test_figure_png_rejects_a_bad_palette():
    from matplotlib.figure import Figure
    with pytest.raises(ValueError, match="colors"):
        lt.plotting.figure_png(Figure(), colors=1)


def test_every_frame_has_a_text_alternative_naming_its_values():
    w = lt.widgets.explorer(draw, {"a": [1, 2], "b": [0.5]}, alt="Line from a to b")
    leaves = [stack.children[0] for stack in w.children[1].children]
    assert [leaf.tooltip for leaf in leaves] == ["Line from a to b (a = 1, b = 0.5)", "Line from a to b (a = 2, b = 0.5)"]
    w = lt.widgets.explorer(draw, {"a": [1], "b": [0.5]}, alt=lambda a, b: f"slope {b - a:g}")
    assert w.children[1].children[0].children[0].tooltip == "slope -0.5"


# ------------------------------------------------------------------ issue 17: value -> frame by identity
def _draw_values(fig, a, kind, b):
    """A frame that shows its own arguments: frames of different values always differ."""
    ax = fig.add_subplot()
    ax.plot([0, 1], [a, b], label=kind)
    ax.set_title(f"a={a} kind={kind} b={b}")


def _walk(widget, values):
    """The image the browser shows for these control values: follow every jslink from its control's
    index to its stack's selected_index, as the client side does."""
    links = {id(link.target[0]): link for link in widget._links}
    node = widget.children[1]
    while not hasattr(node, "format"):                 # a Stack, until the leaf Image
        link = links[id(node)]
        control, attr = link.source
        assert attr == "index" and link.target[1] == "selected_index"
        name = next(k for k, c in widget.controls.items() if c is control)
        index = [v for _, v in control.options].index(values[name])
        node = node.children[index]
    return node


def test_every_control_value_shows_the_frame_drawn_for_that_value():
    from matplotlib.figure import Figure

    import matplotlib as mpl
    from lintheory.plotting import STYLE, figure_png

    grid = {"a": [1, 2, 3], "kind": ["x", "y"], "b": [0.5, 1.0]}
    w = lt.widgets.explorer(_draw_values, grid, initial={"a": 3, "kind": "y"}, figsize=(2.5, 1.5), dpi=40)
    assert len(set(w.frames.values())) == 12
    for combo in itertools.product(*grid.values()):
        values = dict(zip(grid, combo))
        with mpl.rc_context(STYLE):                    # the frame drawn independently for these values
            fig = Figure(figsize=(2.5, 1.5), layout="constrained")
            _draw_values(fig, **values)
            expected = figure_png(fig, dpi=80, colors=64)
        assert w.frames[combo] == expected
        leaf = _walk(w, values)
        assert leaf.value == expected, f"the image shown for {values} is not the one drawn for it"
        assert all(f"{k} = " in leaf.tooltip for k in grid)
        for k, v in values.items():                    # in a kernel: set the controls, read current_frame
            w.controls[k].value = v
        assert w.current_frame() == expected
    first = {"a": 3, "kind": "y", "b": 0.5}            # initial values select the matching stacks
    node = w.children[1]
    for k in grid:
        assert node.selected_index == grid[k].index(first[k])
        node = node.children[node.selected_index]


def test_controls_can_show_a_label_other_than_their_keyword():
    w = lt.widgets.explorer(draw, {"a": [1, 2], "b": [0.5]}, labels={"a": "α"})
    assert w.controls["a"].description == "α" and w.controls["b"].description == "b"
    assert w.frames.keys() == {(1, 0.5), (2, 0.5)}               # draw still receives a=..., b=...
    with pytest.raises(ValueError, match="labels"):
        lt.widgets.explorer(draw, {"a": [1], "b": [0.5]}, labels={"c": "γ"})
