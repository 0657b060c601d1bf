"""The claims ledger stays true: every box of the book is checked by a marked test or says why not, every marker
names a box that exists, every box names its source, and every box derived here has a proof in the book.

The ledger is read by ``tools/claims_ledger.py`` (the same code renders the page "Claims and their checks").
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import claims_ledger  # noqa: E402


def box(label, source="derived in this course.", kind="theorem", proof=True):
    text = f"```{{prf:{kind}}} Title of {label}\n:label: {label}\n\nA statement.\n\nSource: {source}\n```\n"
    return text + ("\n```{prf:proof}\nIt holds.\n```\n" if proof else "")


def fake_book(tmp_path, markdown, tests, unchecked="{}"):
    """A one-chapter book with its tests, laid out like the project."""
    (tmp_path / "chapters").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: chapters/one\n")
    (tmp_path / "intro.md").write_text("# Intro\n")
    nb = {"cells": [{"cell_type": "markdown", "source": "# One\n\n" + markdown, "metadata": {}}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "chapters" / "one.ipynb").write_text(json.dumps(nb))
    (tmp_path / "tests" / "test_one.py").write_text(tests)
    (tmp_path / "tests" / "claims.py").write_text(f"UNCHECKED: dict[str, str] = {unchecked}\n")
    return claims_ledger.ledger(tmp_path)


TESTS_OK = '''import pytest

@pytest.mark.claim("thm-a", kind="prediction", tol="1e-8 rel")
@pytest.mark.claim("prop-b", kind="identity")
def test_a():
    pass

class TestB:
    @pytest.mark.claim("prop-b", kind="sanity")
    def test_b(self):
        pass
'''


def test_a_consistent_book_has_no_problem(tmp_path):
    led = fake_book(tmp_path, box("thm-a") + box("prop-b", kind="proposition") + box("conj-c", "a paper", "conjecture"),
                    TESTS_OK, '{"conj-c": "a conjecture: nothing to check"}')
    assert claims_ledger.problems(led) == []
    assert [c.nodeid for c in led.checks_of("prop-b")] == ["tests/test_one.py::test_a", "tests/test_one.py::TestB::test_b"]
    assert led.checks_of("thm-a")[0].tol == "1e-8 rel"


def test_a_box_without_check_or_reason_fails(tmp_path):
    led = fake_book(tmp_path, box("thm-a") + box("thm-unchecked"), TESTS_OK.replace('"prop-b"', '"thm-a"'))
    assert [p for p in claims_ledger.problems(led) if "thm-unchecked" in p and "no test marked" in p]


def test_a_misspelled_marker_fails(tmp_path):
    led = fake_book(tmp_path, box("thm-a") + box("prop-b", kind="proposition"),
                    TESTS_OK.replace('"thm-a", kind', '"thm-aa", kind'))
    found = claims_ledger.problems(led)
    assert any("'thm-aa', which is no box of the book" in p for p in found)
    assert any("thm-a has no test marked" in p for p in found)


def test_a_wrong_kind_a_stale_reason_and_a_missing_proof_fail(tmp_path):
    led = fake_book(tmp_path, box("thm-a", proof=False) + box("prop-b", kind="proposition"),
                    TESTS_OK.replace('kind="sanity"', 'kind="check"'), '{"thm-gone": "why"}')
    found = claims_ledger.problems(led)
    assert any("kind='check'" in p for p in found)
    assert any("'thm-gone', which is no box" in p for p in found)
    assert any("thm-a says 'derived in this course' but no {prf:proof}" in p for p in found)


def test_an_inline_proof_paragraph_or_a_referenced_proof_counts(tmp_path):
    inline = box("thm-a", proof=False) + "\n*Proof.* Because.\n"
    referenced = box("prop-b", "derived in this course (proof in {ref}`sec-x`).", "proposition", proof=False)
    assert claims_ledger.problems(fake_book(tmp_path, inline + referenced, TESTS_OK)) == []
    later = (box("thm-a", proof=False) + box("prop-b", kind="proposition")
             + "\n```{prf:proof}\n*Of {prf:ref}`thm-a`.* It holds.\n```\n")
    (tmp_path / "later").mkdir()
    assert claims_ledger.problems(fake_book(tmp_path / "later", later, TESTS_OK)) == []


def test_a_box_without_label_or_source_fails(tmp_path):
    text = box("thm-a").replace("Source: derived in this course.", "From a paper.") + box("prop-b").replace(
        ":label: prop-b\n", "")
    found = claims_ledger.problems(fake_book(tmp_path, text, TESTS_OK))
    assert any("thm-a does not end with a 'Source:'" in p for p in found)
    assert any("has no :label:" in p for p in found)


def test_the_source_kinds_are_read_from_the_source_line():
    kinds = [claims_ledger.parse_boxes(box("t", s))[0].source_kind for s in (
        "derived in this course.", "observed numerically, not proved.",
        "{cite:t}`x` (informal statement; its text could not be read here).", "{cite:t}`x`, Theorem 3.1.",
        "a heuristic derived in this course; observed numerically, not proved.")]
    assert kinds == ["derived", "observed", "informal", "paper", "observed"]


def test_the_page_has_an_entry_for_every_box(tmp_path):
    led = fake_book(tmp_path, box("thm-a") + box("prop-b", kind="proposition"), TESTS_OK)
    page = claims_ledger.page_markdown(led, tmp_path)
    assert "(claims-thm-a)=" in page and "(claims-prop-b)=" in page
    assert "`tests/test_one.py::TestB::test_b`: **sanity**" in page


def test_every_box_of_the_book_is_checked_or_says_why_not():
    """The book's own ledger: see the page 'Claims and their checks' (claims.md)."""
    led = claims_ledger.ledger(ROOT)
    assert len(led.boxes) > 30
    assert claims_ledger.problems(led) == []
