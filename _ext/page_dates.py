"""'Last updated on ...' at the foot of every page: the date of the last commit that changed the page's source.

The theme's footer shows ``last_updated`` when the page context has it. Sphinx's own ``html_last_updated_fmt`` would
give the build date on every page; this gives each page the date its own source file last changed in git
(``git log -1 --format=%cs -- <file>``). Outside a git checkout, or for a file git does not know, the footer shows
no date rather than a wrong one.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def _commit_date(path: Path) -> str | None:
    try:
        out = subprocess.run(["git", "log", "-1", "--format=%cs", "--", path.name], cwd=path.parent,
                             capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _add_date(app, pagename, templatename, context, doctree):
    if doctree is None or pagename not in app.env.found_docs:
        return
    date = _commit_date(Path(app.env.doc2path(pagename)))
    if date:
        context["last_updated"] = date


def setup(app):
    app.connect("html-page-context", _add_date)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
