"""A "Run in the browser" button in the header of every chapter page.

It links to the book's JupyterLite site (built by ``lite/build.py`` into ``_build/html/lite/`` after
the book), opening that chapter's notebook there: ``lite/lab/index.html?path=chapters/NN_name.ipynb``.
The link is relative, so it works wherever the site is served from. Nothing is fetched until a reader
clicks: the button is a plain link in the theme's header (sphinx-book-theme's ``header_buttons``).

Configuration (``_config.yml``, ``sphinx.config``):

- ``launch_lite_app``: the JupyterLite app page, relative to the site root (``lite/lab/index.html``);
- ``launch_lite_folders``: the source folders whose notebooks get the button (``["chapters"]``).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import quote

LABEL = "launch-lite"  # the button's class is "btn-launch-lite"
CSS_FILE = "launch_lite.css"
# The label in the theme's button size, on one line; on a phone only the icon (the title names it).
CSS = """\
.btn-launch-lite .btn__text-container { font-size: 0.875rem; white-space: nowrap; margin-left: 0.35em; }
@media (max-width: 576px) { .btn-launch-lite .btn__text-container { display: none; } }
"""


def lite_link(docname: str, app_page: str, pathto) -> str:
    """The relative URL that opens ``docname``'s notebook in the JupyterLite app."""
    return f"{pathto(app_page, 1)}?path={quote(docname + '.ipynb', safe='/')}"


def _add_button(app, pagename, templatename, context, doctree):
    if context.get("page_source_suffix") != ".ipynb" or "header_buttons" not in context:
        return
    if PurePosixPath(pagename).parts[0] not in app.config.launch_lite_folders:
        return
    context["header_buttons"].insert(0, {
        "type": "link",
        "url": lite_link(pagename, app.config.launch_lite_app, context["pathto"]),
        "text": "Run in the browser",
        "tooltip": "Open this chapter as a notebook in JupyterLite: Python runs in your browser",
        "icon": "fas fa-play",
        "label": LABEL,
    })


def _write_css(app):
    if app.builder.format == "html":  # before the pages are written, so they link it with its checksum
        static = Path(app.outdir) / "_static"
        static.mkdir(parents=True, exist_ok=True)
        (static / CSS_FILE).write_text(CSS)


def setup(app):
    app.add_config_value("launch_lite_app", "lite/lab/index.html", "html")
    app.add_config_value("launch_lite_folders", ["chapters"], "html")
    # after sphinx-book-theme has prepared the header buttons (priority 500) and added its own (501)
    app.connect("html-page-context", _add_button, priority=600)
    app.connect("builder-inited", _write_css)
    app.add_css_file(CSS_FILE)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
