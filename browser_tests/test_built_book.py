"""The built book in a real browser (headless Chromium), served from 127.0.0.1 with no network.

For every page: no JavaScript error, no request leaves the machine, every formula is typeset by
MathJax. For every interactive figure: moving each control shows a different figure, and it is the
frame stored for the new control values. Screenshots of each widget in two states go to
``_build/browser/``. Run after ``jupyter-book build .``.
"""

from __future__ import annotations

import base64
import functools
import html
import http.server
import json
import re
import shutil
import threading
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "browser"
PAGES = sorted(p.relative_to(SITE).as_posix() for p in SITE.glob("**/*.html")
               if "_static" not in p.parts and p.name not in ("genindex.html", "search.html", "index.html"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
STATE_RE = re.compile(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', re.S)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
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


def open_page(browser, server, path):
    """Open a page, recording console errors and any request that would leave 127.0.0.1."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems = {"errors": [], "external": []}
    page.on("console", lambda m: problems["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems["errors"].append(str(e)))

    def route(r):
        if r.request.url.startswith(server) or r.request.url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            problems["external"].append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(f"{server}/{path}", wait_until="networkidle")
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


@pytest.mark.parametrize("path", PAGES)
def test_page_weighs_under_5_mb(path):
    assert (SITE / path).stat().st_size < 5_000_000


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_offline_without_errors_and_typesets_math(browser, server, path):
    page, problems = open_page(browser, server, path)
    raw = page.evaluate("""() => {
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      const bad = [];
      while (walker.nextNode()) {
        const n = walker.currentNode;
        if (n.parentElement.closest('pre, code, script, style, mjx-container, .highlight')) continue;
        if (/\\$\\$|\\\\\\(|\\\\\\[/.test(n.textContent)) bad.push(n.textContent.slice(0, 80));
      }
      const untypeset = Array.from(document.querySelectorAll('.math')).filter(m => !m.querySelector('mjx-container')).length;
      return {bad, untypeset, typeset: document.querySelectorAll('mjx-container').length};
    }""")
    page.close()
    assert problems["errors"] == [], f"JavaScript errors on {path}"
    assert problems["external"] == [], f"{path} requested assets from outside the site"
    assert raw["bad"] == [] and raw["untypeset"] == 0, f"raw math left on {path}: {raw}"


WIDGET_PAGES = [p for p in PAGES if explorers(widget_state(p))]


@pytest.mark.parametrize("path", WIDGET_PAGES)
def test_every_control_switches_to_its_precomputed_frame(browser, server, path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page, problems = open_page(browser, server, path)
    for n, ex in enumerate(explorers(widget_state(path))):
        page.wait_for_function(SHOWN.replace("async (box) => {", "(box) => {").split("const imgs")[0]
                               + f"return handles.length === {len(ex['sizes'])}; }}", arg=ex["box"])
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
    page.close()
    assert problems["errors"] == [] and problems["external"] == []
