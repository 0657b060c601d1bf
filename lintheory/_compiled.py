"""The compiled loop's former module name, kept so that ``lintheory._compiled`` and
``from lintheory import _compiled`` keep working: it *is* :mod:`lintheory.dynamics.compiled` (the same
module object, so that setting an attribute here, e.g. a test's monkeypatch, sets it there)."""

import sys

from .dynamics import compiled

sys.modules[__name__] = compiled
