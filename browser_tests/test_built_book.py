r"""The built book in a real browser (headless Chromium), served from 127.0.0.1 with no network.

For every page, at 390 (phone), 768 (tablet) and 1366 px (desktop), each load cold (a new browser
context, empty cache):

- no JavaScript error, no failed request, no request leaves the machine;
- after MathJax has run, the visible text outside math and code holds no ``$``, no TeX control word
  (``\frac``, ``\eta``, ...) and no raw citation role; every formula MathJax typeset is one that MyST
  marked as math (nothing typeset out of prose), no formula has a MathJax error (``mjx-merror``),
  every citation is a link;
- no formula is clipped: each fits its column or sits in a box that scrolls sideways and shows that
  it does (class ``lt-scrolls``: a visible scrollbar and a dotted rule); the page is no wider than
  the screen;
- the primary sidebar (chapter list) and the on-page contents open and close with the header's
  buttons (tested on the landing page and on a chapter).

For every interactive figure: moving each control shows a different figure, and it is the frame
stored for the new control values. Page weight, first paint and load times (cold, desktop) are
measured and written to ``_build/browser/load-report.md`` (reported, not asserted as timings), with
the figures that still lack alt text. Screenshots go to ``_build/browser/``. Run after
``jupyter-book build .``; ``LINTHEORY_SITE=/path/to/html`` tests another build.
"""

from __future__ import annotations

import base64
import functools
import html
import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(os.environ.get("LINTHEORY_SITE", ROOT / "_build" / "html"))
SHOTS = Path(os.environ.get("LINTHEORY_SHOTS", ROOT / "_build" / "browser"))
WIDTHS = {"phone": (390, 844), "tablet": (768, 1024), "desktop": (1366, 900)}
PAGES = sorted(p.relative_to(SITE).as_posix() for p in SITE.glob("**/*.html")
               if "_static" not in p.parts and p.name not in ("genindex.html", "search.html", "index.html"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
STATE_RE = re.compile(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', re.S)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    SHOTS.mkdir(parents=True, exist_ok=True)
    if not (SITE / "intro.html").exists():
        pytest.fail("build the book first: jupyter-book build .")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(SITE)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield b
        b.close()


def open_page(browser, server, path, width="desktop"):
    """Open a page cold (new context, empty cache) at one of WIDTHS, recording console errors,
    failed requests and any request that would leave 127.0.0.1; wait for MathJax."""
    w, h = WIDTHS[width]
    phone = width == "phone"
    context = browser.new_context(viewport={"width": w, "height": h}, is_mobile=phone, has_touch=phone,
                                  device_scale_factor=2 if phone else 1)
    page = context.new_page()
    problems = {"errors": [], "external": [], "failed": []}
    page.on("console", lambda m: problems["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems["errors"].append(str(e)))
    page.on("response", lambda r: problems["failed"].append(f"{r.status} {r.url}") if r.status >= 400 else None)

    def route(r):
        if r.request.url.startswith(server) or r.request.url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            problems["external"].append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(f"{server}/{path}", wait_until="load")
    if page.locator('script[src*="tex-mml-chtml"]').count():
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("MathJax.startup.promise")
    return page, problems


# ---------------------------------------------------------------- the widget model, from the page
def widget_state(path: str) -> dict:
    found = STATE_RE.search((SITE / path).read_text())
    return json.loads(html.unescape(found.group(1)))["state"] if found else {}


def _ref(value: str) -> str:
    return value.removeprefix("IPY_MODEL_")


def explorers(state: dict) -> list[dict]:
    """Each explorer: its box id, slider ids in order, and the frame (base64 PNG) for index tuples."""
    out = []
    for mid, model in state.items():
        kids = [_ref(c) for c in model["state"].get("children", [])] if model["model_name"] == "VBoxModel" else []
        if len(kids) != 2 or state[kids[1]]["model_name"] != "StackModel":
            continue
        sliders = [_ref(c) for c in state[kids[0]]["state"]["children"]]

        def frame(indices, node=kids[1]):
            for i in indices:
                node = _ref(state[node]["state"]["children"][i])
            buffers = {tuple(b["path"]): b["data"] for b in state[node].get("buffers", [])}
            return buffers[("value",)]

        sizes = [len(state[s]["state"]["_options_labels"]) for s in sliders]
        out.append({"box": mid, "sliders": sliders, "sizes": sizes, "frame": frame})
    return out


# ---------------------------------------------------------------- what the browser shows
SHOWN = """async (box) => {
  const script = Array.from(document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]'))
      .find(s => JSON.parse(s.textContent).model_id === box);
  const root = script.parentElement;
  root.setAttribute('data-test-box', box);
  const handles = Array.from(root.querySelectorAll('.noUi-handle, .widget-toggle-buttons'));
  const imgs = Array.from(root.querySelectorAll('img')).filter(i => i.offsetParent !== null);
  let data = null;
  if (imgs.length === 1) {
    const bytes = new Uint8Array(await (await fetch(imgs[0].src)).arrayBuffer());
    let s = ''; for (const b of bytes) s += String.fromCharCode(b);
    data = btoa(s);
  }
  const index = (h) => h.classList.contains('widget-toggle-buttons')     // buttons: the pressed one
      ? Array.from(h.querySelectorAll('button')).findIndex(b => b.classList.contains('mod-active'))
      : Math.round(Number(h.getAttribute('aria-valuenow')));           // slider: its handle
  return {indices: handles.map(index),
          visible: imgs.length, data: data};
}"""


def shown(page, box):
    return page.evaluate(SHOWN, box)


def move(page, box, j, key, index):
    """Move control ``j`` one step (a slider by the arrow ``key``; buttons by a click on a neighbour)."""
    root = page.locator(f'[data-test-box="{box}"]')
    control = root.locator(".noUi-handle, .widget-toggle-buttons").nth(j)
    if "widget-toggle-buttons" in (control.get_attribute("class") or ""):
        control.locator("button").nth(index + (1 if key == "ArrowRight" else -1)).click()
    else:
        control.focus()
        control.press(key)
    page.wait_for_timeout(300)
    return root


# ---------------------------------------------------------------- what every page must satisfy
MATH_TEXT = r"""() => {
  // Solutions and dropdowns open, so their math is checked too.
  document.querySelectorAll('.toggle.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const article = document.querySelector('.bd-article') || document.body;
  const skip = 'pre, code, script, style, mjx-container, .highlight, kbd, .lt-cite-pop';
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  const dollars = [], tex = [], roles = [];
  while (walker.nextNode()) {
    const n = walker.currentNode, t = n.textContent;
    if (n.parentElement.closest(skip)) continue;
    const cut = (i) => t.slice(Math.max(0, i - 30), i + 40).replace(/\s+/g, ' ');
    let m;
    if ((m = t.search(/\$/)) >= 0) dollars.push(cut(m));
    if ((m = t.search(/\\[A-Za-z]+|\\[()[\]{}]/)) >= 0) tex.push(cut(m));
    if ((m = t.search(/\{cite(:[a-z]+)?\}|:cite(:[a-z]+)?:|cite:[tp]\b/)) >= 0) roles.push(cut(m));
  }
  const containers = Array.from(article.querySelectorAll('mjx-container'));
  const outside = containers.filter(c => !c.closest('.math, .output_area, .widget-subarea, .jupyter-widgets')).length;
  const merror = Array.from(document.querySelectorAll('mjx-merror')).map(e => e.textContent.slice(0, 60));
  let texRoles = [];
  if (window.MathJax && MathJax.startup && MathJax.startup.document) {
    for (const item of MathJax.startup.document.math) {
      if (/cite|\$/.test(item.math)) texRoles.push(item.math.slice(0, 60));
    }
  }
  const citations = Array.from(article.querySelectorAll('.bibtex-citation, span.cite'));
  const unlinked = citations.filter(c => !c.querySelector('a[href]')).map(c => c.textContent.slice(0, 40));
  const untypeset = Array.from(article.querySelectorAll('.math')).filter(m => !m.querySelector('mjx-container')).length;
  return {dollars, tex, roles, outside, merror, texRoles, unlinked, untypeset, typeset: containers.length};
}"""

STRETCHED = r"""() => {
  // every image of the article drawn at its own aspect ratio (to 3 %): width / height against the PNG's
  const out = [];
  for (const img of document.querySelectorAll('.bd-article img')) {
    const r = img.getBoundingClientRect();
    if (!r.width || !r.height || !img.naturalWidth || !img.naturalHeight) continue;
    const ratio = (r.width / r.height) / (img.naturalWidth / img.naturalHeight);
    if (Math.abs(ratio - 1) > 0.03) out.push({src: img.src.slice(-24), drawn: [Math.round(r.width), Math.round(r.height)],
                                             natural: [img.naturalWidth, img.naturalHeight]});
  }
  return out;
}"""


CLIPPED = r"""() => {
  if (window.lintheoryMarkScrollers) window.lintheoryMarkScrollers();
  const vw = document.documentElement.clientWidth;
  const scrolls = (el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const clipped = [], noCue = [];
  let scrolling = 0, measured = 0;
  for (const m of document.querySelectorAll('.bd-article mjx-container')) {
    const r0 = m.getBoundingClientRect();
    if (!r0.width || m.closest('mjx-assistive-mml')) continue;       // not displayed
    measured++;
    // the box that has to fit: the formula, or the nearest box that scrolls it
    let box = m, el = m;                                                // (a display formula scrolls itself)
    for (; el && el !== document.body; el = el.parentElement) if (scrolls(el)) { box = el; break; }
    const column = box.tagName === 'SPAN' ? box.parentElement.clientWidth : box.clientWidth;
    if (scrolls(box) && box.scrollWidth > box.clientWidth + 4 && box.getBoundingClientRect().width >= column - 4) {
      scrolling++;
      if (!box.classList.contains('lt-scrolls')) noCue.push(box.textContent.slice(0, 50) || m.outerHTML.slice(0, 50));
    }
    const r = (box === m ? m : box).getBoundingClientRect();
    let right = vw, left = 0;
    for (let a = box.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      const cs = getComputedStyle(a);
      if (scrolls(a)) break;                                            // an outer scroller shows the rest
      if (cs.overflowX !== 'visible') { const ar = a.getBoundingClientRect(); right = Math.min(right, ar.right); left = Math.max(left, ar.left); }
    }
    const lost = Math.max(r.right - right, left - r.left);
    if (lost > 2) clipped.push({px: Math.round(lost), where: (m.closest('.proof, .theorem, .exercise, .solution, p, li, div.math') || m).className.slice(0, 40)});
  }
  return {measured, scrolling, clipped, noCue, pageWidth: document.documentElement.scrollWidth, vw};
}"""


@pytest.mark.parametrize("path", PAGES)
def test_page_weighs_under_5_mb(path):
    assert (SITE / path).stat().st_size < 5_000_000


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("path", PAGES)
def test_page_offline_math_typeset_and_nothing_clipped(browser, server, path, width):
    page, problems = open_page(browser, server, path, width)
    weight = _measure_weight(page, path) if width == "desktop" else None
    text = page.evaluate(MATH_TEXT)
    page.wait_for_timeout(50)
    clip = page.evaluate(CLIPPED)
    figures = page.evaluate(STRETCHED)
    if width == "phone":
        page.screenshot(path=str(SHOTS / f"{Path(path).stem}-{width}-top.png"))
    page.context.close()
    assert problems["errors"] == [], f"JavaScript errors on {path}: {problems['errors']}"
    assert problems["external"] == [], f"{path} requested assets from outside the site"
    assert problems["failed"] == [], f"failed requests on {path}: {problems['failed']}"
    assert text["dollars"] == [], f"raw $ in the text of {path}: {text['dollars']}"
    assert text["tex"] == [], f"raw TeX in the text of {path}: {text['tex']}"
    assert text["roles"] == [] and text["texRoles"] == [], f"citation roles left raw on {path}: {text}"
    assert text["unlinked"] == [], f"citations without a link on {path}: {text['unlinked']}"
    assert text["merror"] == [], f"MathJax errors on {path}: {text['merror']}"
    assert text["outside"] == 0, f"{text['outside']} formulas typeset out of prose (not MyST math) on {path}"
    assert text["untypeset"] == 0, f"{text['untypeset']} formulas left untypeset on {path}"
    assert clip["clipped"] == [], f"{len(clip['clipped'])} formulas clipped at {width} on {path}: {clip['clipped'][:5]}"
    assert clip["noCue"] == [], f"formulas that scroll with no visible cue on {path}: {clip['noCue'][:5]}"
    assert clip["pageWidth"] <= clip["vw"] + 1, f"{path} is {clip['pageWidth']} px wide on a {clip['vw']} px screen"
    assert figures == [], f"figures drawn at another aspect ratio than their own at {width} on {path}: {figures}"
    if weight:   # cold load at 1366 px: own bytes (HTML with widget state, images) < 3 MB, all bytes by load < 6 MB
        assert weight["own"] < 3_000_000, f"{path}: own bytes {weight['own']}"
        assert weight["total"] < 6_000_000, f"{path}: {weight['total']} bytes fetched by load"
        assert weight["framesNoAlt"] == 0, f"{path}: widget frames without alt text"
        assert weight["unzoomed"] == 0, f"{path}: figures without a link to the full-size image"
        assert weight["noAlt"] == [], f"{path}: figures without alt text: {weight['noAlt']}"


NAV_PAGES = [p for p in ("intro.html", "chapters/01_convergence.html") if p in PAGES]
CHAPTER_LINK = 'a[href$="02_implicit_bias.html"]'


def _shown(page, selector):
    """Is some element matching selector visible and inside the viewport?"""
    return page.evaluate("""(sel) => Array.from(document.querySelectorAll(sel)).some(e => {
        const r = e.getBoundingClientRect(), s = getComputedStyle(e);
        return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && r.right > 0 && r.left < innerWidth
            && r.bottom > 0 && r.top < innerHeight && e.closest('[inert]') === null;
    })""", selector)


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("path", NAV_PAGES)
def test_sidebar_and_contents_open_and_close(browser, server, path, width):
    page, problems = open_page(browser, server, path, width)
    nav = f".bd-docs-nav {CHAPTER_LINK}"
    toggle = page.locator(".primary-toggle").filter(visible=True)
    assert toggle.count() == 1, "exactly one visible primary-sidebar button"
    if width == "desktop":                        # the chapter list is shown; the button hides and re-shows it
        assert _shown(page, nav)
        toggle.click()
        page.wait_for_timeout(400)
        assert not _shown(page, nav), "the sidebar button did not hide the chapter list"
        toggle.click()
        page.wait_for_timeout(400)
        assert _shown(page, nav), "the sidebar button did not bring the chapter list back"
    else:                                          # hidden; the button opens it as a drawer, Escape closes it
        assert not _shown(page, nav)
        toggle.click()
        page.wait_for_timeout(400)
        assert _shown(page, nav), f"the chapter list did not open at {width}"
        page.screenshot(path=str(SHOTS / f"nav-{Path(path).stem}-{width}-open.png"))
        page.locator(f"#pst-primary-sidebar-modal {CHAPTER_LINK}").first.wait_for(state="visible")
        page.keyboard.press("Escape")
        page.wait_for_timeout(400)
        assert not _shown(page, nav), f"the chapter list did not close at {width}"
    toc = ".bd-sidebar-secondary nav.page-toc a, #pst-secondary-sidebar-modal nav.page-toc a"
    secondary = page.locator(".secondary-toggle").filter(visible=True)
    if width == "desktop":                         # the on-page contents are always shown at 1366 px
        assert _shown(page, toc) and secondary.count() == 0
    else:
        assert secondary.count() == 1, "exactly one visible contents button"
        assert not _shown(page, toc)
        secondary.click()
        page.wait_for_timeout(400)
        assert _shown(page, toc), f"the on-page contents did not open at {width}"
        page.keyboard.press("Escape")
        page.wait_for_timeout(400)
        assert not _shown(page, toc), f"the on-page contents did not close at {width}"
        assert not _shown(page, ".tooltip"), "a tooltip stayed on screen after the contents closed"
    page.context.close()
    assert problems["errors"] == []


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_citation_preview_on_hover_and_tap(browser, server, width):
    """A citation shows its bibliography entry without leaving the page: on hover (desktop) or on
    the first tap (touch); the preview links to the bibliography."""
    path = "chapters/01_convergence.html"
    page, problems = open_page(browser, server, path, width)
    cite = page.locator(".bibtex-citation a.lt-cite").first
    cite.scroll_into_view_if_needed()
    if width == "phone":
        cite.tap()
    else:
        cite.hover()
    page.wait_for_timeout(300)
    pop = page.locator(".lt-cite-pop")
    assert pop.count() == 1 and pop.is_visible(), f"no citation preview at {width}"
    assert page.url.endswith(path), "the first tap must not leave the page"
    text = pop.inner_text()
    box = pop.bounding_box()
    target = pop.locator("a").get_attribute("href")
    page.context.close()
    assert len(text) > 40 and "references.html#" in target
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTHS[width][0] + 1, "the preview runs off the screen"
    assert problems["errors"] == []


def test_printed_code_is_not_cut(browser, server):
    """In print (the .pdf button), long code and output lines wrap instead of running off the page."""
    path = "chapters/03_tensor_networks.html"
    if path not in PAGES:
        pytest.skip("no chapter 3")
    page, problems = open_page(browser, server, path, "desktop")
    page.emulate_media(media="print")
    cut = page.evaluate("""() => Array.from(document.querySelectorAll('.bd-article pre'))
        .filter(p => p.scrollWidth > p.clientWidth + 2).map(p => p.textContent.slice(0, 60))""")
    page.context.close()
    assert cut == [], f"{len(cut)} code blocks cut in print: {cut[:3]}"


def test_printed_explorers_show_their_figure_without_controls(browser, server):
    """In print, an explorer is the figure it shows: its sliders and buttons are hidden, its frame is not."""
    path = WIDGET_PAGES[0]
    page, _ = open_page(browser, server, path, "desktop")
    ex = explorers(widget_state(path))[0]
    page.evaluate("""(box) => Array.from(document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]'))
        .find(s => JSON.parse(s.textContent).model_id === box).parentElement.scrollIntoView()""", ex["box"])
    page.wait_for_function(SHOWN.replace("async (box) => {", "(box) => {").split("let data")[0]
                           + f"return handles.length === {len(ex['sizes'])} && imgs.length === 1; }}", arg=ex["box"])
    page.emulate_media(media="print")
    shown = page.evaluate("""() => ({controls: Array.from(document.querySelectorAll('.noUi-handle, .widget-toggle-button'))
        .filter(h => h.getBoundingClientRect().width > 0).length,
      frames: Array.from(document.querySelectorAll('.widget-subarea img')).filter(i => i.offsetParent !== null).length})""")
    page.context.close()
    assert shown["controls"] == 0 and shown["frames"] >= 1, shown


def test_search_summaries_have_no_raw_tex(browser, server):
    page, problems = open_page(browser, server, "search.html?q=imbalance")
    page.wait_for_selector("#search-results li p.context", timeout=20_000)
    page.wait_for_timeout(1500)
    summaries = page.locator("#search-results li p.context").all_inner_texts()
    page.context.close()
    assert summaries, "no search result for 'imbalance'"
    raw = [t[:80] for t in summaries if re.search(r"\\[A-Za-z()[\]]", t)]
    assert raw == [], f"raw TeX in search summaries: {raw}"
    assert problems["errors"] == [] and problems["external"] == []


CHAPTERS = [p for p in PAGES if p.startswith("chapters/")]
REPORT: dict = {}

MEASURE = r"""() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint');
  const res = performance.getEntriesByType('resource');
  const size = (e) => e.decodedBodySize || e.transferSize || 0;
  const sum = (f) => res.filter(f).reduce((a, e) => a + size(e), 0);
  const own = size(nav) + sum(e => /\/_images\//.test(e.name));
  const scripts = sum(e => e.initiatorType === 'script' || /\.js(\?|$)/.test(e.name));
  const figures = Array.from(document.querySelectorAll('.bd-article .cell_output img'))
      .filter(i => !i.closest('.widget-subarea') && !i.classList.contains('jupyter-widget'));
  const noAlt = figures.filter(i => !i.alt || /_images\/|\.png$/.test(i.alt)).map(i => i.getAttribute('src').split('/').pop().slice(0, 16));
  const unzoomed = figures.filter(i => !i.closest('a[href]')).length;   // Sphinx links scaled images to the full-size file
  const frames = Array.from(document.querySelectorAll('.bd-article .widget-subarea img, .bd-article img.jupyter-widget'));
  return {html: size(nav), own, scripts, total: size(nav) + sum(() => true), requests: res.length + 1,
          unzoomed, fcp: fcp ? Math.round(fcp.startTime) : null, dcl: Math.round(nav.domContentLoadedEventEnd),
          load: Math.round(nav.loadEventEnd), figures: figures.length, noAlt,
          framesNoAlt: frames.filter(i => !i.alt).length, frames: frames.length};
}"""


def _measure_weight(page, path):
    """Bytes and times of this cold load, then the bytes after scrolling to the end (which fetches the
    widget manager); reported in _build/browser/load-report.md, not asserted as timings."""
    page.wait_for_load_state("networkidle")
    m = page.evaluate(MEASURE)
    # then as a reader who scrolls to the first widget (this fetches the widget manager)
    if page.evaluate("""() => { const v = document.querySelector('script[type="application/vnd.jupyter.widget-view+json"]');
                                if (v) v.parentElement.scrollIntoView(); return !!v && !!window.lintheoryLoadWidgets; }"""):
        page.wait_for_function("document.documentElement.classList.contains('lt-widgets-loaded')", timeout=30_000)
        page.wait_for_load_state("networkidle")
    m["after_scroll"] = page.evaluate("""() => performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))
        .reduce((a, e) => a + (e.decodedBodySize || e.transferSize || 0), 0)""")
    page.evaluate("window.scrollTo(0, 0)")
    REPORT[path] = m
    _write_report()
    return m


def _write_report():
    SHOTS.mkdir(parents=True, exist_ok=True)
    rows = ["| page | own KB (HTML+images) | of which HTML KB | JS KB at load | total KB at load | total KB after scrolling to the end | requests | first paint ms | DCL ms | load ms | figures | without alt |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for path, m in sorted(REPORT.items()):
        rows.append(f"| {path} | {m['own'] // 1000} | {m['html'] // 1000} | {m['scripts'] // 1000} | {m['total'] // 1000} "
                    f"| {m['after_scroll'] // 1000} | {m['requests']} | {m['fcp']} | {m['dcl']} | {m['load']} "
                    f"| {m['figures']} | {len(m['noAlt'])} |")
    missing = [f"- {p}: {', '.join(m['noAlt'])}" for p, m in sorted(REPORT.items()) if m["noAlt"]]
    rows[0] = rows[0].replace("after scrolling to the end", "after scrolling to the first widget")
    (SHOTS / "load-report.md").write_text(f"Site: {SITE}\n\n" + "\n".join(rows) + "\n\nFigures without alt text "
                                          "(cell metadata mystnb.image.alt):\n" + ("\n".join(missing) or "none") + "\n")
    (SHOTS / "load-report.json").write_text(json.dumps(REPORT, indent=1))


WIDGET_PAGES = [p for p in PAGES if explorers(widget_state(p))]


@pytest.mark.parametrize("path", WIDGET_PAGES)
def test_every_control_switches_to_its_precomputed_frame(browser, server, path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page, problems = open_page(browser, server, path)
    for n, ex in enumerate(explorers(widget_state(path))):
        page.evaluate("""(box) => Array.from(document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]'))
            .find(s => JSON.parse(s.textContent).model_id === box).parentElement.scrollIntoView()""", ex["box"])
        page.wait_for_function(SHOWN.replace("async (box) => {", "(box) => {").split("let data")[0]
                               + f"return handles.length === {len(ex['sizes'])} && imgs.length === 1; }}", arg=ex["box"])
        now = shown(page, ex["box"])
        assert now["visible"] == 1 and now["data"] == ex["frame"](now["indices"])
        stem = f"{Path(path).stem}-widget{n}"
        root = None
        for j, size in enumerate(ex["sizes"]):
            if size < 2:
                continue
            before = now
            root = move(page, ex["box"], j, "ArrowRight" if before["indices"][j] < size - 1 else "ArrowLeft",
                        before["indices"][j])
            now = shown(page, ex["box"])
            assert now["indices"][j] != before["indices"][j], f"control {j} did not move"
            assert now["visible"] == 1, "exactly one frame must be visible"
            assert now["data"] != before["data"], f"moving control {j} did not change the figure"
            assert now["data"] == ex["frame"](now["indices"]), f"control {j} shows the wrong frame"
            if j == 0:
                root.screenshot(path=str(SHOTS / f"{stem}-state-a.png"))
        if root is not None:
            root.screenshot(path=str(SHOTS / f"{stem}-state-b.png"))
    alts = page.evaluate("() => Array.from(document.querySelectorAll('.widget-subarea img')).map(i => i.alt)")
    page.context.close()
    assert alts and all(alts), "every widget frame needs alt text"
    assert problems["errors"] == [] and problems["external"] == []


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_widget_controls_are_big_enough_to_hit(browser, server, width):
    """Every slider handle and toggle button of a chapter's explorers is at least 24 x 24 CSS px (WCAG 2.2 AA
    target size), and 32 px on a touch screen."""
    path = WIDGET_PAGES[0]
    page, _ = open_page(browser, server, path, width)
    sizes = []
    for ex in explorers(widget_state(path)):
        page.evaluate("""(box) => Array.from(document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]'))
            .find(s => JSON.parse(s.textContent).model_id === box).parentElement.scrollIntoView()""", ex["box"])
        page.wait_for_function(SHOWN.replace("async (box) => {", "(box) => {").split("let data")[0]
                               + f"return handles.length === {len(ex['sizes'])} && imgs.length === 1; }}", arg=ex["box"])
        sizes += page.evaluate("""() => Array.from(document.querySelectorAll('.noUi-handle, .widget-toggle-button'))
            .map(h => h.getBoundingClientRect()).filter(r => r.width).map(r => [r.width, r.height])""")
    page.context.close()
    least = 32 if width == "phone" else 24
    assert sizes and min(min(s) for s in sizes) >= least - 0.5, f"controls smaller than {least} px at {width}: {sizes}"


CLAIM_LINK_RE = re.compile(r'class="claim-link">Checks: <a class="reference internal" href="(?:\.\./)*claims\.html#([\w-]+)"')


def test_every_box_links_to_its_entry_on_the_claims_page():
    """Each theorem-like box of the chapters ends with a link to its entry on 'Claims and their checks', and
    every such link lands on an entry of that page (the page itself renders at every width above)."""
    if "claims.html" not in PAGES:
        pytest.fail("the book has no page 'Claims and their checks' (claims.md)")
    ids = set(re.findall(r'id="(claims-[\w-]+)"', (SITE / "claims.html").read_text()))
    links = [a for p in PAGES for a in CLAIM_LINK_RE.findall((SITE / p).read_text())]
    assert len(links) >= 30
    assert sorted(set(links) - ids) == []
    assert len(set(links)) == len(links)            # one link per box


def test_display_math_fits_a_phone(browser, server):
    """At 390 px, at most 10 display equations of the whole book need a sideways scroll (MathJax 4 breaks the
    others into lines); the count per page goes to _build/browser/math-scroll-report.md."""
    counts = {}
    for path in PAGES:
        page, _ = open_page(browser, server, path, "phone")
        counts[path] = page.evaluate("""() => Array.from(document.querySelectorAll('.bd-article mjx-container[display="true"]'))
            .filter(m => { for (let el = m; el && el !== document.body; el = el.parentElement) {
                if (['auto', 'scroll'].includes(getComputedStyle(el).overflowX) && el.scrollWidth > el.clientWidth + 4) return true; }
              return false; }).length""")
        page.context.close()
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "math-scroll-report.md").write_text("| page | display equations that scroll at 390 px |\n|---|--:|\n" + "".join(
        f"| {p} | {n} |\n" for p, n in counts.items()) + f"| all | {sum(counts.values())} |\n")
    assert sum(counts.values()) <= 10, counts


CELL_INPUT_RE = re.compile(r'<div class="cell_input[^"]*"[^>]*>(.*?)</pre>', re.S)


def test_no_chapter_page_shows_glue_bookkeeping():
    """The code shown on the chapter pages holds no glue(...) call (the prose's numbers are glued, out of view)."""
    shown = {p: sum("glue(" in re.sub(r"<[^>]+>", "", html.unescape(block))
                    for block in CELL_INPUT_RE.findall((SITE / p).read_text())) for p in CHAPTERS}
    assert shown and all(n == 0 for n in shown.values()), shown


def test_the_whole_book_is_one_pdf_linked_from_the_introduction():
    """CI builds the book through LaTeX (.ci/run) and serves it as lintheory.pdf next to the pages; the introduction
    links it. Where the PDF was not built (a reader's `jupyter-book build .` only), the test says so and skips."""
    pdf = SITE / "lintheory.pdf"
    if not pdf.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must build the PDF: jupyter-book build . --builder pdflatex, then copy it into the site")
        pytest.skip("the PDF is not built (jupyter-book build . --builder pdflatex)")
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 1_000_000
    log = ROOT / "_build" / "latex" / "lintheory.log"
    pages = int(re.search(r"Output written on lintheory\.pdf \((\d+) pages", log.read_text(errors="ignore")).group(1))
    assert pages > 200, pages
    assert 'href="lintheory.pdf"' in (SITE / "intro.html").read_text()
