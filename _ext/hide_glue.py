"""The book shows chapter code without its bookkeeping: every ``glue(...)`` statement of a code cell (the calls that
hand computed numbers to the prose) is left out of the displayed source, at any depth of the cell's code.

The notebooks are unchanged and run as stored; only the rendered code block (and so what its copy button copies)
omits those lines, which record values and change nothing else. The rule is
``tools/hide_bookkeeping.py:strip_bookkeeping``; ``browser_tests/test_built_book.py`` checks that no chapter page
shows a ``glue(`` line.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docutils import nodes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from hide_bookkeeping import strip_bookkeeping  # noqa: E402


def _strip(app, doctree):
    for block in list(doctree.findall(nodes.literal_block)):
        parent = block.parent
        if not (isinstance(parent, nodes.container) and "cell_input" in parent.get("classes", [])):
            continue
        text = block.astext()
        shown = strip_bookkeeping(text)
        if shown == text:
            continue
        if not shown.strip():                          # the cell was bookkeeping only: show no code at all
            parent.parent.remove(parent)
            continue
        block.children = [nodes.Text(shown)]
        block.rawsource = shown


def setup(app):
    app.connect("doctree-read", _strip)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
