"""Show a computed value in a notebook, and make it citable from the book's prose.

Every number quoted in the book's text is *glued* from the code that computed it. Inside the book's
toolchain that is `myst_nb.glue`; a reader who runs a chapter in plain JupyterLab, JupyterLite or Colab
has no Sphinx, so :func:`glue` then just displays the value (or nothing, with ``display=False``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["glue"]


def glue(name: str, value: Any, display: bool = True) -> None:
    """Record ``value`` under ``name`` for ``{glue}`` roles of the book, and optionally show it.

    Parameters
    ----------
    name : str
        The key by which the book's ``{glue:text}`` and ``{glue:md}`` roles refer to the value.
    value : object
        Any object with a text or rich representation (a number, a string, a figure).
    display : bool, default True
        Also show the value as the cell's output.

    Notes
    -----
    With ``myst_nb`` importable this is exactly :func:`myst_nb.glue`; without it (a notebook run
    outside the book's toolchain) the value is shown with :func:`IPython.display.display` when
    ``display`` is true, and nothing else happens.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            from IPython.display import display as show
            show(value)
        return
    myst_glue(name, value, display=display)
