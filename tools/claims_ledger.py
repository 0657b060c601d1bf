"""The claims ledger: every theorem-like box of the book, its source, and the tests that check it.

One source of truth for each link, nothing kept twice:

- the **boxes** are read from the book itself (the ``{prf:theorem}``, ``{prf:proposition}``, ... directives of the
  chapter notebooks and Markdown pages, with their ``:label:``, title and closing ``Source:`` paragraph);
- the **checks** are read from the tests: a test declares the box it checks with
  ``@pytest.mark.claim("thm-ch1-imbalance-rate", kind="prediction", tol="1e-10 rel")``;
- the **reasons** a box is not checked numerically are the dict ``UNCHECKED`` of ``tests/claims.py``.

The page "Claims and their checks" (``claims.md``, rendered by ``_ext/claims_page.py``) and the consistency test
``tests/test_claims.py`` are both built from :func:`ledger`. Everything is parsed statically (``ast`` for the tests,
JSON and text for the notebooks): nothing is imported or executed.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATEMENT_KINDS = ("theorem", "lemma", "proposition", "corollary", "conjecture", "claim")
CHECK_KINDS = ("prediction", "identity", "sanity")
SOURCE_KINDS = {
    "paper": "a paper, with the theorem number read in its text",
    "derived": "derived in this course",
    "informal": "informal statement of a paper (its text not read here)",
    "observed": "observed numerically, not proved",
}
# Sentences of the text that say a statement could not be checked against its paper
UNREAD_RE = re.compile(r"could not be (?:checked|read|verified|seen)|could not check|not (?:been )?read here|"
                       r"informal statement", re.I)
SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z{*(])")
PROOF_PARAGRAPH_RE = re.compile(r"^\s*\*{1,2}Proof[^*]*\*{1,2}")
FENCE_RE = re.compile(r"^\s*(`{3,}|:{3,})\{prf:(\w+)\}\s*(.*)$")
ROLE_RE = re.compile(r"\{(?:ref|prf:ref|numref|eq)\}`[^`]*`")


@dataclass
class Box:
    """One theorem-like box of the book."""
    doc: str                      # the document without suffix, e.g. "chapters/01_convergence"
    kind: str                     # theorem, proposition, ...
    label: str | None
    title: str
    body: str                     # the box's text without its options
    has_proof: bool               # a {prf:proof} follows it, before the next statement box

    @property
    def source(self) -> str:
        """The box's last paragraph without the leading 'Source:' ('' if there is none)."""
        last = self.body.split("\n\n")[-1].strip() if self.body else ""
        return last[len("Source:"):].strip() if last.startswith("Source:") else ""

    @property
    def source_kind(self) -> str | None:
        """One key of SOURCE_KINDS, read from the Source paragraph (None without one)."""
        text = self.source.lower()
        if not text:
            return None
        if "observed numerically" in text:      # a heuristic "derived here, observed, not proved" is observed
            return "observed"
        if "derived in this course" in text:
            return "derived"
        if "informal" in text:
            return "informal"
        return "paper"


@dataclass
class Check:
    """One test's declaration that it checks one box."""
    nodeid: str                   # e.g. tests/test_theorems_convergence.py::test_gronwall_bound
    label: str
    kind: str
    tol: str = ""
    line: int = 0


@dataclass
class Ledger:
    boxes: list[Box]
    checks: list[Check]
    unchecked: dict[str, str]
    unread: list[tuple[str, str]] = field(default_factory=list)   # (doc, sentence)

    def checks_of(self, label: str) -> list[Check]:
        return [c for c in self.checks if c.label == label]


# -- the book ---------------------------------------------------------------------------------------------------------

def markdown_of(path: Path) -> str:
    """The Markdown of a page, or of all markdown cells of a notebook joined by blank lines."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return path.read_text()


def parse_boxes(text: str, doc: str = "") -> list[Box]:
    """Every statement box (STATEMENT_KINDS) of a MyST text, and whether a proof box follows it."""
    lines = text.split("\n")
    found: list[tuple[int, Box]] = []
    proofs: list[int] = []
    proved_elsewhere: set[str] = set()
    i = 0
    while i < len(lines):
        m = FENCE_RE.match(lines[i])
        if m:
            fence, kind = m.group(1), m.group(2)
            j = i + 1
            while j < len(lines) and lines[j].strip() != fence:
                j += 1
            if kind == "proof":
                proofs.append(i)
                opening = " ".join(lines[i + 1:min(j, i + 3)])
                named = re.match(r"\s*\*?\(?(?:Proof )?[Oo]f \{prf:ref\}`([^`]+)`", opening)
                if named:                        # "*Of {prf:ref}`thm-x`.*": a proof placed elsewhere
                    proved_elsewhere.add(named.group(1))
            elif kind in STATEMENT_KINDS:
                body = lines[i + 1:j]
                label = next((b.split(":label:")[1].strip() for b in body if b.strip().startswith(":label:")), None)
                content = "\n".join(b for b in body if not re.match(r"^\s*:\w+:", b)).strip()
                found.append((i, Box(doc, kind, label, m.group(3).strip(), content, False)))
            i = j
        elif PROOF_PARAGRAPH_RE.match(lines[i]):     # an inline "*Proof.*" paragraph counts as a proof
            proofs.append(i)
        i += 1
    starts = [s for s, _ in found] + [len(lines)]
    for k, (start, box) in enumerate(found):
        box.has_proof = box.label in proved_elsewhere or any(start < p < starts[k + 1] for p in proofs)
    return [box for _, box in found]


def book_documents(root: Path = ROOT) -> list[Path]:
    """The book's pages in table-of-contents order: the chapter notebooks and the Markdown pages."""
    import yaml
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for e in entries or []:
            if "file" in e:
                files.append(e["file"])
            walk(e.get("sections"))
            walk(e.get("chapters"))
    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    paths = []
    for f in files:
        for suffix in (".ipynb", ".md"):
            if (root / (f + suffix)).exists():
                paths.append(root / (f + suffix))
                break
    return paths


def boxes_of_book(root: Path = ROOT) -> list[Box]:
    return [b for p in book_documents(root) for b in parse_boxes(markdown_of(p), str(p.relative_to(root).with_suffix("")))]


def unread_sentences(root: Path = ROOT) -> list[tuple[str, str]]:
    """Every sentence of the prose (not the boxes' Source lines) saying that a statement of a cited paper was not
    checked against the paper's text."""
    out = []
    for p in book_documents(root):
        if p.stem == "claims":
            continue
        text = re.sub(r"^\s*(?:`{3,}|:{3,}).*$|^\s*(?=[-*] |\d+\. )", "\n", markdown_of(p), flags=re.M)
        for paragraph in re.split(r"\n\s*\n", text):
            for sentence in SENTENCE_END_RE.split(" ".join(paragraph.split())):
                sentence = sentence.lstrip("-* ")
                if UNREAD_RE.search(sentence) and "{cite" in sentence and not sentence.startswith("Source:"):
                    out.append((str(p.relative_to(root).with_suffix("")), sentence))
    return out


# -- the tests --------------------------------------------------------------------------------------------------------

def _claim_marks(decorators: list[ast.expr]) -> list[ast.Call]:
    return [d for d in decorators if isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute)
            and d.func.attr == "claim" and isinstance(d.func.value, ast.Attribute) and d.func.value.attr == "mark"]


def parse_checks(source: str, filename: str) -> list[Check]:
    """The claim markers of one test module: on test functions and on the methods of test classes."""
    tree = ast.parse(source, filename)
    out = []

    def visit(defs, prefix):
        for node in defs:
            if isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}::")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for mark in _claim_marks(node.decorator_list):
                    label = ast.literal_eval(mark.args[0]) if mark.args else None
                    kw = {k.arg: ast.literal_eval(k.value) for k in mark.keywords}
                    out.append(Check(f"{filename}::{prefix}{node.name}", label, kw.get("kind", ""),
                                     str(kw.get("tol", "") or ""), mark.lineno))
    visit(tree.body, "")
    return out


def checks_of_tests(root: Path = ROOT) -> list[Check]:
    return [c for p in sorted((root / "tests").glob("test_*.py"))
            for c in parse_checks(p.read_text(), str(p.relative_to(root)))]


def unchecked_reasons(root: Path = ROOT) -> dict[str, str]:
    """The dict UNCHECKED of tests/claims.py, read without importing it."""
    tree = ast.parse((root / "tests" / "claims.py").read_text())
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else (node.targets[0] if isinstance(node, ast.Assign) else None)
        if isinstance(target, ast.Name) and target.id == "UNCHECKED":
            return ast.literal_eval(node.value)
    return {}


def ledger(root: Path = ROOT) -> Ledger:
    return Ledger(boxes_of_book(root), checks_of_tests(root), unchecked_reasons(root), unread_sentences(root))


# -- consistency --------------------------------------------------------------------------------------------------------

def problems(led: Ledger) -> list[str]:
    """Everything that breaks the ledger's promise; [] when every box is checked or excused and every link resolves."""
    found = []
    labels = [b.label for b in led.boxes if b.label]
    known = set(labels)
    for label in sorted({x for x in labels if labels.count(x) > 1}):
        found.append(f"label {label} is used by more than one box")
    for b in led.boxes:
        name = f"{b.doc}: {b.kind} {b.label or repr(b.title)}"
        if not b.label:
            found.append(f"{name} has no :label:")
            continue
        if not led.checks_of(b.label) and b.label not in led.unchecked:
            found.append(f"{name} has no test marked @pytest.mark.claim({b.label!r}, ...) and no reason in "
                         "tests/claims.py UNCHECKED")
        if b.source_kind is None:
            found.append(f"{name} does not end with a 'Source:' paragraph")
        if b.source_kind == "derived" and not (b.has_proof or ("proof" in b.source.lower() and ROLE_RE.search(b.source))):
            found.append(f"{name} says 'derived in this course' but no {{prf:proof}} follows it and its Source line "
                         "refers to no proof")
    for c in led.checks:
        if c.label not in known:
            found.append(f"{c.nodeid} (line {c.line}) is marked as checking {c.label!r}, which is no box of the book")
        if c.kind not in CHECK_KINDS:
            found.append(f"{c.nodeid} (line {c.line}) has kind={c.kind!r}; expected one of {CHECK_KINDS}")
    for label, reason in led.unchecked.items():
        if label not in known:
            found.append(f"tests/claims.py UNCHECKED names {label!r}, which is no box of the book")
        if not str(reason).strip():
            found.append(f"tests/claims.py UNCHECKED gives no reason for {label!r}")
    return found


# -- the page -----------------------------------------------------------------------------------------------------------

def anchor(label: str) -> str:
    """The id of a box's entry on the claims page."""
    return f"claims-{label}"


def _count_table(header: tuple[str, str], rows: list[tuple[str, int]]) -> list[str]:
    out = [f"| {header[0]} | {header[1]} |", "|:--|--:|"]
    out += [f"| {name} | {n} |" for name, n in rows]
    return out + [""]


def _title(path: Path) -> str:
    if path.stem == "intro":
        return "Introduction"
    for line in markdown_of(path).split("\n"):
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem


def page_markdown(led: Ledger, root: Path = ROOT) -> str:
    """The MyST body of the page "Claims and their checks": counts, then one entry per box, chapter by chapter."""
    by_source = {k: sum(b.source_kind == k for b in led.boxes) for k in SOURCE_KINDS}
    by_check = {k: sum(c.kind == k for c in led.checks) for k in CHECK_KINDS}
    excused = [b for b in led.boxes if b.label in led.unchecked and not led.checks_of(b.label)]
    lines = [f"The book states **{len(led.boxes)}** theorem-like boxes, checked by **{len(led.checks)}** test markers "
             f"on **{len({c.nodeid for c in led.checks})}** tests; **{len(excused)}** boxes are not checked numerically, "
             "each with its reason.", ""]
    lines += _count_table(("source of the statement", "boxes"), [(SOURCE_KINDS[k], n) for k, n in by_source.items()])
    lines += _count_table(("kind of check", "test markers"), [(k, n) for k, n in by_check.items()])
    docs = {b.doc for b in led.boxes}
    for path in book_documents(root):
        doc = str(path.relative_to(root).with_suffix(""))
        if doc not in docs:
            continue
        lines += [f"## {_title(path)}", ""]
        for b in (x for x in led.boxes if x.doc == doc):
            if not b.label:
                continue
            lines += [f"({anchor(b.label)})=", f"**{{prf:ref}}`{b.label}`**: {b.title} (`{b.label}`)  ",
                      f"*Source:* {b.source or '(none)'}", ""]
            checks = led.checks_of(b.label)
            for c in checks:
                tol = f", tolerance {c.tol}" if c.tol else ""
                lines.append(f"- `{c.nodeid}`: **{c.kind}**{tol}")
            if b.label in led.unchecked:
                lines.append(f"- not checked numerically: {led.unchecked[b.label]}")
            lines.append("")
    informal = [b for b in led.boxes if b.source_kind == "informal"]
    lines += ["## Statements not checked against their paper's text", "",
              f"**{len(informal)}** boxes state a paper's result informally, because its text could not be read here:", ""]
    lines += [f"- {{prf:ref}}`{b.label}` ({{doc}}`/{b.doc}`)" for b in informal if b.label] or ["- none"]
    lines += ["", "and the prose says so in these sentences:", ""]
    lines += [f"- {{doc}}`/{doc}`: {sentence}" for doc, sentence in led.unread] or ["- none"]
    return "\n".join(lines) + "\n"
