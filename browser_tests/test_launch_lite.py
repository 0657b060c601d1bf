"""The "Run in the browser" button of every chapter page and the JupyterLite site it opens.

Run after ``jupyter-book build .`` and ``python lite/build.py``. Checks, for every chapter notebook:
the built page has exactly one button; its link, resolved from the page, is the JupyterLite app
page of the built site, asking for that chapter's notebook; the site holds that notebook, equal to
the chapter's cells plus one first code cell that installs lintheory; and the site's wheel index
serves lintheory and the widget packages, with PyPI fallback off. In Chromium, clicking the button
on a chapter page opens the notebook in JupyterLite, and the only request leaving the machine is
the Pyodide runtime from its CDN (blocked here), made because a kernel starts.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import re
import shutil
import threading
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import nbformat
import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"
LITE = SITE / "lite"
SHOTS = ROOT / "_build" / "browser"
CHAPTERS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "chapters").glob("*.ipynb"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BUTTON_RE = re.compile(r'<a href="([^"]*)"[^>]*\bbtn-launch-lite\b')
PYODIDE_CDN = "https://cdn.jsdelivr.net/pyodide/"
_spec = importlib.util.spec_from_file_location("lite_build", ROOT / "lite" / "build.py")
lite_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lite_build)
BROWSER_WHEELS, INSTALL_CELL_ID, INSTALL_SOURCE = lite_build.BROWSER_WHEELS, lite_build.INSTALL_CELL_ID, lite_build.INSTALL_SOURCE


@pytest.fixture(scope="module", autouse=True)
def built():
    if not (SITE / "intro.html").exists():
        pytest.fail("build the book first: jupyter-book build .")
    if not (LITE / "lab" / "index.html").exists():
        pytest.fail("build the JupyterLite site first: python lite/build.py")


def button_target(notebook: str) -> tuple[Path, str]:
    """The built page's button: the file its link resolves to, and the notebook it asks for."""
    page = Path(notebook).with_suffix(".html").as_posix()
    links = BUTTON_RE.findall((SITE / page).read_text())
    assert len(links) == 1, f"{page} has {len(links)} launch buttons"
    url = urlsplit(urljoin(f"http://site/{page}", links[0]))
    return SITE / url.path.lstrip("/"), parse_qs(url.query)["path"][0]


def cells(nb) -> list[tuple]:
    return [(c.cell_type, c.source, json.dumps(c.get("outputs", []), sort_keys=True)) for c in nb.cells]


@pytest.mark.parametrize("notebook", CHAPTERS)
def test_every_chapter_page_links_to_its_notebook_in_the_lite_site(notebook):
    target, path = button_target(notebook)
    assert target == LITE / "lab" / "index.html" and target.exists()
    assert path == notebook
    listed = json.loads((LITE / "api" / "contents" / Path(path).parent / "all.json").read_text())
    assert Path(path).name in {item["name"] for item in listed["content"]}

    served = nbformat.read(LITE / "files" / path, as_version=4)
    source = nbformat.read(ROOT / notebook, as_version=4)
    assert source.cells[0].id == "tex-macros" and served.cells[0].id == "tex-macros"
    install = served.cells[1]
    assert install.cell_type == "code" and install.id == INSTALL_CELL_ID and install.source == INSTALL_SOURCE
    assert cells(served)[:1] + cells(served)[2:] == cells(source), "the site's copy is not the chapter"
    assert served.metadata.get("widgets") == source.metadata.get("widgets")


def test_the_site_serves_lintheory_and_the_widget_packages_and_never_asks_pypi():
    config = json.loads((LITE / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert kernel["disablePyPIFallback"] is True
    index = json.loads((LITE / "pypi" / "all.json").read_text())
    for name in ("lintheory", *(n.replace("_", "-") for n in BROWSER_WHEELS)):
        (release,) = index[name]["releases"].values()
        (wheel,) = release
        assert wheel["filename"].endswith("-py3-none-any.whl"), wheel["filename"]
        assert (LITE / "pypi" / wheel["filename"]).exists()
    # the bundled lintheory is this checkout's package: every module, byte for byte
    (wheel,) = (LITE / "pypi").glob("lintheory-*.whl")
    with zipfile.ZipFile(wheel) as whl:
        bundled = {n: whl.read(n) for n in whl.namelist() if n.startswith("lintheory/")}
    here = {p.relative_to(ROOT).as_posix(): p.read_bytes() for p in (ROOT / "lintheory").rglob("*.py")}
    assert bundled == here
    # the lab extension of the widgets is in the site, at the version whose wheel the kernel installs
    extensions = {e["name"] for e in config["federated_extensions"]}
    assert {"@jupyter-widgets/jupyterlab-manager", "@jupyterlite/pyodide-kernel-extension"} <= extensions


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(SITE)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_the_button_opens_the_chapter_in_jupyterlite_and_only_pyodide_leaves_the_machine(server):
    notebook = CHAPTERS[0]
    external: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        context = browser.new_context(viewport={"width": 1200, "height": 900})

        def route(r):  # the book's pages, the Lite site and its kernel's worker
            if r.request.url.startswith((server, "data:", "blob:")):
                r.continue_()
            else:
                external.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.goto(f"{server}/{Path(notebook).with_suffix('.html').as_posix()}", wait_until="networkidle")
        assert external == [], "the chapter page itself must fetch nothing from outside the site"
        with context.expect_page() as opened:
            page.click("a.btn-launch-lite")
        lab = opened.value
        lab.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60_000)
        assert lab.locator(".lm-TabBar-tabLabel", has_text=Path(notebook).name).count() == 1, "not that chapter"
        first = lab.locator(".jp-Notebook .jp-CodeCell").first
        for _ in range(300):   # the cell's editor fills in after the cell appears (slower on a loaded machine)
            if "%pip install lintheory" in first.inner_text():
                break
            lab.wait_for_timeout(100)
        assert "%pip install lintheory" in first.inner_text()
        lab.wait_for_selector(".jp-Notebook .jp-OutputArea-output", timeout=10_000)  # stored outputs are shown
        # before any kernel runs, the stored interactive figure shows its static frame (its image/png)
        explorer = lab.locator(".jp-CodeCell", has_text="widgets.explorer(").first
        for _ in range(200):  # the notebook renders only the cells near the view: scroll down to it
            if explorer.count():
                break
            lab.evaluate("document.querySelector('.jp-WindowedPanel-outer').scrollBy(0, 600)")
            lab.wait_for_timeout(100)
        explorer.scroll_into_view_if_needed()
        frame = explorer.locator(".jp-OutputArea-output img").first
        frame.wait_for(state="visible", timeout=10_000)
        assert frame.evaluate("i => i.complete && i.naturalWidth > 0"), "the explorer's static frame did not load"
        lab.wait_for_timeout(5_000)  # the kernel starts and asks for the Pyodide runtime
        SHOTS.mkdir(parents=True, exist_ok=True)
        lab.screenshot(path=str(SHOTS / "lite-notebook.png"))
        browser.close()
    assert external, "no kernel started: the Pyodide runtime was never requested"
    assert all(u.startswith(PYODIDE_CDN) for u in external), f"requests outside the site: {external}"


def _chromium(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--allow-file-access-from-files"])


def test_offline_the_lite_site_says_that_python_cannot_be_downloaded(server):
    """With no network the Pyodide runtime cannot load: the page says so in words, instead of cells at [*]."""
    with sync_playwright() as p:
        browser = _chromium(p)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.route("**/*", lambda r: r.continue_() if r.request.url.startswith((server, "data:", "blob:"))
                      else r.abort())
        lab = context.new_page()
        lab.goto(f"{server}/lite/lab/index.html?path={CHAPTERS[0]}")
        banner = lab.locator("#lt-lite-banner")
        banner.wait_for(state="visible", timeout=30_000)
        text = banner.inner_text()
        lab.screenshot(path=str(SHOTS / "lite-offline-message.png"))
        browser.close()
    assert "needs to download Pyodide" in text and "appear to be offline" in text


def test_from_a_file_the_button_explains_that_the_site_needs_a_server():
    """Opened as file://, the chapter's 'Run in the browser' button says how to serve the site (no blank tab),
    and the Lite page itself says the same."""
    page_url = (SITE / Path(CHAPTERS[0]).with_suffix(".html")).as_uri()
    with sync_playwright() as p:
        browser = _chromium(p)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        page = context.new_page()
        page.goto(page_url, wait_until="load")
        pages_before = len(context.pages)
        page.click("a.btn-launch-lite")
        box = page.locator("#lt-lite-file")
        box.wait_for(state="visible", timeout=10_000)
        message = box.inner_text()
        opened = len(context.pages) - pages_before
        lab = context.new_page()
        lab.goto((LITE / "lab" / "index.html").as_uri(), wait_until="load")
        lab.locator("#lt-lite-banner").wait_for(state="visible", timeout=10_000)
        lab_message = lab.locator("#lt-lite-banner").inner_text()
        browser.close()
    assert opened == 0, "the button opened a tab from file://"
    assert "http.server" in message and "needs a web server" in message
    assert "needs a web server" in lab_message and "http.server" in lab_message
