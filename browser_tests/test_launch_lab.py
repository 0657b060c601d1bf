"""The chapters in JupyterLab, as installed by ``requirements.txt``: open, run every cell, widgets.

Starts ``jupyter lab`` (this environment's, headless, 127.0.0.1, no token) on a copy of
``chapters/``, so the repository's notebooks are never saved over; opens a chapter in Chromium; runs
all cells with Lab's own "Run All" command; checks that every code cell ran with no error output;
moves the first widget's first control and checks that its figure changes; saves, with the widget
manager's "Save Widget State Automatically" setting on (as the README tells readers to do), and checks
the saved notebook carries the widget state. A screenshot of the widget goes to ``_build/browser/``.

By default it runs chapter 0 (CI's budget); ``LINTHEORY_LAB_CHAPTERS=all`` (or a comma-separated
list of notebook stems) runs others, one after the other.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "_build" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ALL = sorted(p.stem for p in (ROOT / "chapters").glob("*.ipynb"))
_chosen = os.environ.get("LINTHEORY_LAB_CHAPTERS", "00_first_experiment")
CHAPTERS = ALL if _chosen == "all" else [c for c in _chosen.split(",") if c]
WIDGETS_PLUGIN = "@jupyter-widgets/jupyterlab-manager:plugin"

NOTEBOOK_STATE = """() => {
  if (!window.jupyterapp || !window.jupyterapp.shell) return null;   // Lab is still starting
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.content.model) return null;
  const cells = panel.content.model.cells, counts = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type === 'code') counts.push(c.executionCount);
  }
  return {counts, status: panel.sessionContext.kernelDisplayStatus, path: panel.context.path};
}"""

# Scroll Lab to the first cell that calls the explorer (Lab renders only the cells near the view) and mark it.
SHOW_EXPLORER = """async () => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  for (let i = 0; i < nb.model.cells.length; i++) {
    const c = nb.model.cells.get(i);
    if (c.type === 'code' && c.sharedModel.getSource().includes('widgets.explorer(')) {
      await nb.scrollToItem(i, 'start');
      nb.widgets[i].node.setAttribute('data-test-explorer', '');
      return i;
    }
  }
  return -1;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of the chapters, with its own settings folder; stopped at the end."""
    home = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "chapters", home / "chapters", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    # the setting the README documents: Settings -> "Save Widget State Automatically"
    settings = home / "settings" / "@jupyter-widgets" / "jupyterlab-manager"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"saveState": True}))
    news = home / "settings" / "@jupyterlab" / "apputils-extension"  # no "notified about news?" prompt
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTER_DATA_DIR=str(home / "data"))  # its own trust database: the chapters start untrusted
    port = _free_port()
    log = open(home / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
         "--LabApp.expose_app_in_browser=True", "--allow-root", f"--ServerApp.root_dir={home}"],
        cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"jupyter lab exited: {(home / 'lab.log').read_text()[-2000:]}")
                time.sleep(0.5)
        else:
            pytest.fail("jupyter lab did not start in 60 s")
        yield url, home
    finally:
        server.terminate()   # also shuts down the kernels it started
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_jupyter_lab_is_installed():
    out = subprocess.run([sys.executable, "-m", "jupyterlab", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip().startswith("4.")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_in_jupyterlab_with_its_widgets(lab, chapter):
    url, home = lab
    path = f"chapters/{chapter}.ipynb"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/lab/tree/{path}")
        page.wait_for_function(f"() => {{ const s = ({NOTEBOOK_STATE})(); return s && s.path === '{path}' "
                               "&& s.status === 'idle'; }", timeout=120_000)
        # the README's setting is in the Settings menu
        page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
        page.locator(".lm-Menu-itemLabel", has_text="Save Widget State Automatically").wait_for(timeout=10_000)
        page.keyboard.press("Escape")
        # before running, a chapter as cloned (not trusted yet) shows each explorer's static frame
        assert page.evaluate(SHOW_EXPLORER) >= 0, "no explorer in this chapter"
        explorer = page.locator("[data-test-explorer]")
        frame = explorer.locator(".jp-OutputArea-output img").first
        frame.wait_for(state="visible", timeout=10_000)
        assert frame.evaluate("i => i.complete && i.naturalWidth > 0"), "the explorer's static frame did not load"

        start = time.monotonic()
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(f"() => {{ const s = ({NOTEBOOK_STATE})(); return s.status === 'idle' "
                               "&& s.counts.every(c => c !== null); }", timeout=600_000, polling=1000)
        seconds = time.monotonic() - start

        # the first widget: visible, one figure, and moving its first control changes the figure
        page.evaluate(SHOW_EXPLORER)
        box = page.locator("[data-test-explorer] .jp-OutputArea-output .widget-vbox").first
        box.wait_for(state="visible", timeout=30_000)
        box.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        src = [i.get_attribute("src") for i in box.locator("img").all() if i.is_visible()]
        assert box.locator(".jupyter-widgets-error-widget").count() == 0, "a widget view failed to render"
        assert len(src) == 1, f"{len(src)} figures visible in the widget"
        SHOTS.mkdir(parents=True, exist_ok=True)
        box.screenshot(path=str(SHOTS / f"lab-{chapter}-widget.png"))
        control = box.locator(".noUi-handle, .widget-toggle-buttons button:not(.mod-active)").first
        if "noUi-handle" in (control.get_attribute("class") or ""):
            control.focus()
            control.press("ArrowRight" if control.get_attribute("aria-valuenow") != control.get_attribute(
                "aria-valuemax") else "ArrowLeft")
        else:
            control.click()
        page.wait_for_timeout(500)
        moved = [i.get_attribute("src") for i in box.locator("img").all() if i.is_visible()]
        assert len(moved) == 1 and moved != src, "moving the control did not change the figure"

        page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_timeout(2_000)
        browser.close()

    nb = nbformat.read(home / path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "a code cell did not run"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors == [], f"{chapter}: {errors[0].get('ename')}: {errors[0].get('evalue')}" if errors else ""
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    assert state, "Lab saved no widget state although saveState is on"
    print(f"{chapter}: all {len(code)} code cells ran in JupyterLab in {seconds:.1f} s; "
          f"{len(state)} widget models saved")
