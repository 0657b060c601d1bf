"""Show a computed value in a notebook, and make it citable from the book's prose.

Every number quoted in the book's text is *glued* from the code that computed it. Inside the book's
toolchain that is `myst_nb.glue`; a reader who runs a chapter in plain JupyterLab, JupyterLite or Colab
has no Sphinx, so :func:`glue` then just displays the value (or nothing, with ``display=False``).
"""

from __future__ import annotations

import math
import numbers
from decimal import Decimal
from typing import Any

__all__ = ["glue", "power_of_ten_bound", "round_up", "round_down"]


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
    With ``myst_nb`` importable this is exactly ``myst_nb.glue``; without it (a notebook run
    outside the book's toolchain) the value is shown with ``IPython.display.display`` when
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


def _nonnegative(x: Any) -> float:
    if isinstance(x, (bool, str, bytes)) or not hasattr(x, "__float__"):
        raise TypeError(f"x must be a real number, got {type(x).__name__}")
    if getattr(x, "ndim", 0) != 0:
        raise TypeError(f"x must be a single real number, got an array of shape {x.shape} "
                        "(call the function once per entry)")
    value = float(x)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"x must be a non-negative finite number, got {value!r}")
    return value


def power_of_ten_bound(x: float) -> float:
    """The smallest power of ten that is at least ``x``: how the book reports a round-off-level number.

    A quantity at round-off level (a conserved quantity's drift along gradient flow, the gap between
    two computations of the same thing) changes in its leading digits with the BLAS build, the
    integrator's step sequence or the order of operations; the statement that survives every machine
    is a bound. ``power_of_ten_bound(2.85e-9)`` is ``1e-8``, glued and printed as "< 1e-08".

    Parameters
    ----------
    x : float
        A non-negative finite number; ``0`` (and anything below ``1e-300``) gives ``1e-300``.

    Returns
    -------
    float
        :math:`10^{\\lceil \\log_{10} \\max(x, 10^{-300}) \\rceil}`; ``inf`` above ``1e308``, where
        that power of ten is not a float (inf is still an upper bound).
    """
    exponent = math.ceil(math.log10(max(_nonnegative(x), 1e-300)))
    return math.inf if exponent > 308 else float(10.0 ** exponent)


def round_up(x: float, digits: int = 1) -> float:
    """``x`` rounded *up* to ``digits`` significant digits: a number the text can call an upper bound.

    Formatting rounds to nearest, so "at most {x:.1e}" can understate ``x`` (2.22e-4 prints as
    "2.2e-04"). ``round_up(2.22e-4, 2)`` is ``2.3e-4``, which prints (with ``digits - 1`` decimals
    in ``e`` format, or as many significant digits in any other) as "2.3e-04" and is at least ``x``.

    Parameters
    ----------
    x : float
        A non-negative finite number (``0`` gives ``0``; subnormal numbers work too).
    digits : int
        Significant digits, at least 1 (a Python or NumPy integer).

    Returns
    -------
    float
        :math:`\\lceil x / 10^{e} \\rceil\\, 10^{e}` with :math:`e = \\lfloor \\log_{10} x \\rfloor - d + 1`
        (computed so that the printed number, not only the float, is at least ``x``); ``inf`` when
        that number exceeds the largest float (inf is still an upper bound).

    See Also
    --------
    round_down : the same for a lower bound ("stays above").
    """
    return _round_directed(x, digits, up=True)


def round_down(x: float, digits: int = 1) -> float:
    """``x`` rounded *down* to ``digits`` significant digits: a number the text can call a lower bound.

    ``round_down(0.0107, 2)`` is 0.010 (printed "0.010" with ``.3f``), at most ``x``; "stays above
    {x:.3f}" would print 0.011, above ``x``. Parameters and returns as in :func:`round_up`, with
    :math:`\\lfloor\\cdot\\rfloor` for :math:`\\lceil\\cdot\\rceil`.
    """
    return _round_directed(x, digits, up=False)


def _round_directed(x: Any, digits: Any, up: bool) -> float:
    value = _nonnegative(x)
    if isinstance(digits, (bool, float)) or not isinstance(digits, numbers.Integral):
        raise TypeError(f"digits must be an integer (int or numpy integer), got {type(digits).__name__} "
                        f"{digits!r}")
    digits = int(digits)
    if digits < 1:
        raise ValueError(f"digits must be at least 1, got {digits}")
    if value == 0:
        return 0.0
    exact = Decimal(value)                      # exact decimal arithmetic: 10.0 ** e underflows below 1e-308
    e = exact.adjusted() - digits + 1           # adjusted(): the exact floor(log10(value))

    def at(mantissa: int) -> float:             # the float that prints as mantissa x 10^e
        return float(f"{Decimal(mantissa).scaleb(e):.{digits - 1}e}")

    if up:
        top = math.ceil(exact.scaleb(-e))           # exact, so at(top) >= value
        while top > 1 and at(top - 1) >= value:     # a smaller number may print as a float >= value
            top -= 1
        return at(top)
    low = math.floor(exact.scaleb(-e))              # exact, so at(low) <= value
    while at(low + 1) <= value:                     # a larger number may print as a float <= value
        low += 1
    return at(low)
