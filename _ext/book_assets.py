"""Small fixes to the built HTML so that every page loads offline with no console error.

- Jupyter Book 1.0.4 registers some inline scripts twice (sphinx-thebe's configuration throws
  ``Identifier 'THEBE_JS_URL' has already been declared``): keep one copy of each script.
- pydata-sphinx-theme logs ``Got invalid theme mode`` when no default mode is set: use "auto".
- The widget manager (``@jupyter-widgets/html-manager`` 1.0) asks for its icon fonts relative to the
  page: copy them next to every folder of pages.
"""

import shutil
from pathlib import Path

FONTS = Path(__file__).resolve().parent.parent / "vendor" / "@jupyter-widgets" / "html-manager" / "dist"


def _one_copy_of_each_script(app, pagename, templatename, context, doctree):
    seen, kept = set(), []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", None) or "", tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


def _copy_widget_fonts(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    folders = {out} | {p.parent for p in out.rglob("*.html") if "_static" not in p.parts}
    for folder in folders:
        target = folder / "@jupyter-widgets" / "html-manager" / "dist"
        target.mkdir(parents=True, exist_ok=True)
        for font in FONTS.glob("*.woff*"):
            shutil.copy2(font, target / font.name)


def setup(app):
    app.connect("html-page-context", _one_copy_of_each_script, priority=900)
    app.connect("build-finished", _copy_widget_fonts)
    app.add_js_file("mathjax2-compat.js", priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
