"""Small fixes to the built HTML so that every page loads offline, fast, and reads right on any screen.

- Jupyter Book 1.0.4 registers some inline scripts twice (sphinx-thebe's configuration throws
  ``Identifier 'THEBE_JS_URL' has already been declared``): keep one copy of each script.
- pydata-sphinx-theme logs ``Got invalid theme mode`` when no default mode is set: use "auto".
- The widget manager (``@jupyter-widgets/html-manager`` 1.0) asks for its icon fonts relative to the
  page: copy them next to every folder of pages.
- pydata-sphinx-theme 0.17 renders its own header above the book theme's (an empty bar with a second
  search button), and binds the sidebar toggles to the first ``.primary-toggle``/``.secondary-toggle``
  in the page, which are that hidden header's: the book theme's visible buttons did nothing. The
  header is emptied on every page (an empty hidden one stays for pydata's scroll-spy), so both themes
  bind the visible buttons.
- ``fontawesome.js`` (1.5 MB) only turns the icons into SVG; the theme's CSS already draws them with
  the Font Awesome web font, so the script is dropped.
- The widget manager (``embed-amd.js``, 4.4 MB, the only build in the npm package) and ``require.js``
  are no longer blocking ``<script>`` tags in ``<head>``: ``_static/lintheory-ux.js`` fetches them when
  a widget comes near the screen. Until then (and in print, and with JavaScript off) each widget shows
  its initial frame, an ``<img>`` taken from the stored widget state, with the frame's alt text.
- ``_static/lintheory-ux.js``/``.css``: citation previews on hover and tap, math that scrolls with a
  cue instead of being clipped, wrapped code, click-to-enlarge figures, alt text for widget frames,
  search summaries without raw TeX.
"""

import html
import json
import re
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
FONTS = HERE.parent / "vendor" / "@jupyter-widgets" / "html-manager" / "dist"
STATIC = HERE / "static"

HEADER_RE = re.compile(r'\s*<header id="pst-header"[^>]*>(?!</header>).*?</header>', re.S)
# pydata's scroll-spy measures #pst-header: keep an empty, hidden one
EMPTY_HEADER = '\n    <header id="pst-header" class="bd-header d-print-none" hidden></header>'
FONTAWESOME_RE = re.compile(r'\s*<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>')
WIDGET_JS_RE = re.compile(r'\s*<script src="[^"]*_static/(?:requirejs/require\.js|@jupyter-widgets/html-manager/dist/embed-amd\.js)[^"]*"></script>')
ARXIV_RE = re.compile(r'(?<![/">\w])arXiv:(\d{4}\.\d{4,5}(?:v\d+)?)')
STATE_RE = re.compile(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', re.S)
VIEW_RE = re.compile(r'(<img class="jupyter-widget lt-widget-fallback"[^>]*>)?'
                     r'(<script type="application/vnd.jupyter.widget-view\+json">(.*?)</script>)', re.S)


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


def _initial_frame(state: dict, model_id: str) -> tuple[str, str, str] | None:
    """The image an explorer shows first: (base64 PNG, alt text, CSS width), or None."""
    model = state.get(model_id)
    node = None
    if model and model["model_name"] == "VBoxModel":
        for child in model["state"].get("children", []):
            if state.get(child.removeprefix("IPY_MODEL_"), {}).get("model_name") == "StackModel":
                node = child.removeprefix("IPY_MODEL_")
    while node and state[node]["model_name"] == "StackModel":
        children = state[node]["state"]["children"]
        index = state[node]["state"].get("selected_index") or 0
        node = children[index].removeprefix("IPY_MODEL_") if children else None
    if not node or state[node]["model_name"] != "ImageModel":
        return None
    data = {tuple(b["path"]): b["data"] for b in state[node].get("buffers", [])}.get(("value",))
    if data is None:
        return None
    return data, state[node]["state"].get("tooltip") or "Interactive figure", state[node]["state"].get("width") or ""


def _with_fallback_frames(text: str) -> str:
    """Insert each explorer's first frame as a static image, and move the frames' alt texts out of
    the widget state (html-manager 1.0.6 cannot draw an ImageModel whose ``tooltip`` is set: "Could
    not create a view"): each frame gets a class ``lt-alt-N`` and the page a table N -> alt text,
    which ``lintheory-ux.js`` turns into the ``alt`` attribute of the drawn image."""
    found = STATE_RE.search(text)
    if not found:
        return text
    data = json.loads(html.unescape(found.group(1)))
    state = data["state"]

    def replace(m):
        if m.group(1):
            return m.group(0)
        frame = _initial_frame(state, json.loads(m.group(3))["model_id"])
        if frame is None:
            return m.group(0)
        png, alt, width = frame
        style = f' style="width: {width}px"' if width.isdigit() else ""
        return (f'<img class="jupyter-widget lt-widget-fallback" src="data:image/png;base64,{png}" '
                f'alt="{html.escape(alt)}" title="{html.escape(alt)}"{style}>' + m.group(2))

    text = VIEW_RE.sub(replace, text)
    alts = []
    for model in state.values():
        tooltip = model["state"].get("tooltip")
        if model["model_name"] == "ImageModel" and tooltip:
            model["state"]["tooltip"] = None
            model["state"]["_dom_classes"] = list(model["state"].get("_dom_classes") or []) + [f"lt-alt-{len(alts)}"]
            alts.append(tooltip)
    if not alts:
        return text
    block = json.dumps(data).replace("</", "<\\/")
    table = json.dumps(alts).replace("</", "<\\/")
    start, end = found.span(1)
    text = text[:start] + block + text[end:]
    return text.replace("</body>", f'<script type="application/json" id="lt-widget-alts">{table}</script>\n</body>', 1)


def _rewrite_pages(out: Path) -> None:
    for page in out.rglob("*.html"):
        if "_static" in page.parts:
            continue
        text = page.read_text(encoding="utf-8")
        new = HEADER_RE.sub(EMPTY_HEADER, text, count=1)
        new = FONTAWESOME_RE.sub("", new)
        new = WIDGET_JS_RE.sub("", new)
        new = _with_fallback_frames(new)
        if page.name == "references.html":       # arXiv identifiers become links
            new = ARXIV_RE.sub(r'<a class="reference external" href="https://arxiv.org/abs/\1">arXiv:\1</a>', new)
        if new != text:
            page.write_text(new, encoding="utf-8")


def _finish(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    folders = {out} | {p.parent for p in out.rglob("*.html") if "_static" not in p.parts}
    for folder in folders:
        # the widget manager's public path depends on how require.js found it: serve both places
        for target in (folder / "@jupyter-widgets" / "html-manager" / "dist", folder / "@jupyter-widgets"):
            target.mkdir(parents=True, exist_ok=True)
            for font in FONTS.glob("*.woff*"):
                shutil.copy2(font, target / font.name)
    _rewrite_pages(out)


def _static_path(app, config):
    config.html_static_path = list(config.html_static_path) + [str(STATIC)]


def _register_author_year_style():
    """A pybtex style "authoryear": plain formatting, labels "Min et al., 2021" (as the text cites)."""
    from pybtex.plugin import register_plugin
    from pybtex.style.formatting.plain import Style as Plain
    from pybtex.style.labels import BaseLabelStyle

    def names(entry):
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        last = [" ".join(p.last_names) for p in people]
        if not last:
            return entry.fields.get("title", "Anonymous")[:20]
        if len(last) == 1:
            return last[0]
        if len(last) == 2:
            return f"{last[0]} and {last[1]}"
        return f"{last[0]} et al."

    class AuthorYearLabels(BaseLabelStyle):
        def format_labels(self, sorted_entries):
            labels = [f"{names(e)}, {e.fields.get('year', 'n.d.')}" for e in sorted_entries]
            counts = {lab: labels.count(lab) for lab in labels}
            seen = {}
            for lab in labels:
                if counts[lab] > 1:
                    seen[lab] = seen.get(lab, 0) + 1
                    yield lab + "abcdefghij"[seen[lab] - 1]
                else:
                    yield lab

    class AuthorYear(Plain):
        default_label_style = "authoryear"

    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabels, force=True)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYear, force=True)


def setup(app):
    _register_author_year_style()
    app.connect("config-inited", _static_path)
    app.connect("html-page-context", _one_copy_of_each_script, priority=900)
    app.connect("build-finished", _finish)
    app.add_js_file("mathjax2-compat.js", priority=100)
    app.add_js_file("lintheory-ux.js", priority=150)
    app.add_css_file("lintheory-ux.css", priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
