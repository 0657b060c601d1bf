"""The page "Claims and their checks", generated with the book, and a link from every box to its entry.

``claims.md`` holds the directive ``{claims-ledger}``; this extension expands it into the ledger that
``tools/claims_ledger.py`` reads from the book's boxes, the tests' ``@pytest.mark.claim`` markers and
``tests/claims.py``. Every theorem-like box of the chapters then ends with a line "Checked by: ..." linking to
its entry. The page is rebuilt whenever a test file or ``tests/claims.py`` changes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import claims_ledger  # noqa: E402

PAGE = "claims"


class ClaimsLedger(SphinxDirective):
    """Expand into the whole ledger (MyST text parsed in place)."""

    def run(self):
        for path in sorted((ROOT / "tests").glob("test_*.py")) + [ROOT / "tests" / "claims.py"]:
            self.env.note_dependency(str(path))
        text = claims_ledger.page_markdown(claims_ledger.ledger(ROOT), ROOT)
        container = nodes.container(classes=["claims-ledger"])
        self.state.nested_parse(StringList(text.split("\n"), source="claims ledger"), self.content_offset, container)
        return container.children


def _link_boxes(app, doctree, docname):
    """After each box with an entry on the claims page, a line linking to that entry."""
    if docname == PAGE or PAGE not in app.env.found_docs:
        return
    labels = getattr(app.env, "claims_ledger_labels", None)
    if labels is None:
        led = claims_ledger.ledger(ROOT)
        labels = app.env.claims_ledger_labels = {
            b.label: sorted({c.kind for c in led.checks_of(b.label)}) or ["not checked numerically"]
            for b in led.boxes if b.label}
    try:
        base = app.builder.get_relative_uri(docname, PAGE)
    except Exception:    # builders without page links (e.g. text): leave the boxes as they are
        return
    for node in list(doctree.findall(nodes.Element)):
        ids = [i for i in node.get("ids", []) if i in labels]
        if not ids or not type(node).__module__.startswith("sphinx_proof"):
            continue
        label = ids[0]
        para = nodes.paragraph(classes=["claim-link"])
        para += nodes.Text("Checks: ")
        para += nodes.reference("", ", ".join(labels[label]), refuri=f"{base}#{claims_ledger.anchor(label)}",
                                internal=True)
        target = node.children[-1] if node.children and isinstance(node.children[-1], nodes.Element) else node
        target += para


def setup(app):
    app.add_directive("claims-ledger", ClaimsLedger)
    app.connect("doctree-resolved", _link_boxes)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
