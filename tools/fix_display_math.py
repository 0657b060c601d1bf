"""Put blank lines around every ``$$`` display in the book's Markdown (notebook cells and .md pages).

A ``$$ ... $$`` display written on its own lines *inside* a paragraph is not parsed as display math by
MyST: its dollars stay in the text and MathJax then pairs single dollars across the prose. Run from the
project root: ``python tools/fix_display_math.py``; ``tests/test_notebooks.py`` checks that no
paragraph-embedded display remains.
"""

from __future__ import annotations

import pathlib
import re

import nbformat

ROOT = pathlib.Path(__file__).resolve().parents[1]
CLOSE = re.compile(r"\$\$\s*(\([\w:-]+\))?$")


def display_blocks(lines: list[str]) -> list[tuple[int, int]]:
    """(first, last) line indices of each ``$$`` display block."""
    blocks, i = [], 0
    while i < len(lines):
        s = lines[i].strip()
        if s.startswith("$$"):
            rest = s[2:]
            if "$$" in rest:                       # a one-line display: $$ x $$ or $$ x $$ (label)
                blocks.append((i, i))
                i += 1
                continue
            j = i + 1
            while j < len(lines) and not CLOSE.search(lines[j].strip()):
                j += 1
            blocks.append((i, min(j, len(lines) - 1)))
            i = j + 1
        else:
            i += 1
    return blocks


def embedded_displays(text: str) -> list[int]:
    """Line numbers of displays that touch a non-blank line of text before or after them."""
    lines = text.split("\n")
    bad = []
    for a, b in display_blocks(lines):
        before = lines[a - 1].strip() if a > 0 else ""
        after = lines[b + 1].strip() if b + 1 < len(lines) else ""
        if before or after:
            bad.append(a + 1)
    return bad


def fix(text: str) -> str:
    """Insert a blank line before and after every display that touches text."""
    lines = text.split("\n")
    out: list[str] = []
    blocks = {a: b for a, b in display_blocks(lines)}
    i = 0
    while i < len(lines):
        if i in blocks:
            b = blocks[i]
            if out and out[-1].strip():
                out.append("")
            out.extend(lines[i:b + 1])
            if b + 1 < len(lines) and lines[b + 1].strip():
                out.append("")
            i = b + 1
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out)


def main() -> None:
    for path in sorted(ROOT.glob("*.md")):
        if path.name == "README.md":
            continue
        text = path.read_text()
        if fix(text) != text:
            path.write_text(fix(text))
            print("fixed", path.name)
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        changed = False
        for cell in nb["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            text = cell["source"]
            new = fix(text)
            if new != text:
                cell["source"] = new
                changed = True
        if changed:
            nbformat.write(nb, path)
            print("fixed", path.name)


if __name__ == "__main__":
    main()
