"""Build the book's JupyterLite site (Python in the reader's browser) into ``_build/html/lite/``.

Run after ``jupyter-book build .``, from the course's environment::

    python lite/build.py

What it does, with no network during ``jupyter lite build``:

1. Builds the pure-Python ``lintheory`` wheel from this checkout (``pip wheel --no-deps``, in a copy of
   the package so the work tree gets no ``build/`` folder) and fetches the wheels of the widget
   packages that Pyodide's own distribution lacks (``ipywidgets``, ``comm``, ``jupyterlab_widgets``) at
   the versions installed here, so the browser's widgets match the lab extension the site ships. These
   wheels are served by the site itself (piplite, ``lite/pypi/``); PyPI fallback is switched off
   (``lite/jupyter-lite.json``), so the browser never asks PyPI.
2. Copies every chapter notebook to ``chapters/`` of the site's contents, with one extra first code
   cell (after the hidden TeX-macro cell) that installs lintheory from those wheels: ``%pip install
   lintheory``. The notebooks in ``chapters/`` are not changed.
3. Runs ``jupyter lite build`` (jupyterlite-core, with the Pyodide kernel and the ipywidgets lab
   extension from this environment) into ``_build/html/lite``.
4. Inserts ``lite/offline-check.js`` into every app page: opened from ``file://`` the page says that the site
   needs a web server and gives the command; offline, a probe of the Pyodide URL fails and the page says in
   plain words that Python cannot be downloaded, instead of cells spinning at ``[*]`` with no message. (The
   kernel loads Pyodide with a dynamic ``import()``, which takes no integrity hash; the URL is pinned to a
   version.)

numpy, scipy and matplotlib are not bundled: the Pyodide kernel loads them (and Python itself) from
the Pyodide distribution's CDN when a reader opens a notebook, which is the only request the site
makes outside itself.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
LITE = ROOT / "lite"
#: packages that the chapters import in the browser but Pyodide's distribution does not have
BROWSER_WHEELS = ("ipywidgets", "comm", "jupyterlab_widgets")
INSTALL_CELL_ID = "lite-install"
OFFLINE_CHECK = "offline-check.js"
PYODIDE_RE = re.compile(r"https://cdn\.jsdelivr\.net/pyodide/v[\w.]+/full/pyodide\.mjs")
INSTALL_SOURCE = ("# Only in the browser copy of this notebook: install lintheory (and ipywidgets) from wheels\n"
                  "# served by this site; numpy, scipy and matplotlib come with Pyodide.\n"
                  "%pip install lintheory")


def install_cell() -> nbformat.NotebookNode:
    """The code cell that the browser copy of every chapter gets first (after the macro cell)."""
    cell = nbformat.v4.new_code_cell(INSTALL_SOURCE)
    cell.id = INSTALL_CELL_ID
    cell.metadata = {"tags": ["lite-install"]}
    return cell


def lite_notebook(path: Path) -> nbformat.NotebookNode:
    """A chapter notebook as the browser site serves it: the install cell inserted after the macro cell."""
    nb = nbformat.read(path, as_version=4)
    at = 1 if nb.cells and nb.cells[0].get("id") == "tex-macros" else 0
    nb.cells.insert(at, install_cell())
    return nb


def run(*cmd: str | Path, cwd: Path | None = None, env: dict | None = None) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=cwd, env=env)


def pyodide_url() -> str:
    """The Pyodide runtime URL that the installed kernel loads (read from its lab extension's code)."""
    ext = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyterlite" / "pyodide-kernel-extension"
    found = {m for p in ext.rglob("*.js") for m in PYODIDE_RE.findall(p.read_text(errors="ignore"))}
    if len(found) != 1:
        raise SystemExit(f"expected one Pyodide URL in {ext}, found {sorted(found)}")
    return found.pop()


def add_offline_check(output: Path) -> None:
    """Insert ``lite/offline-check.js`` (a plain message when offline or opened from file://) into every app page."""
    script = (LITE / OFFLINE_CHECK).read_text().replace("__PYODIDE_URL__", pyodide_url())
    pages = sorted(output.glob("*/index.html"))
    for page in pages:
        text = page.read_text()
        if "</head>" not in text:
            raise SystemExit(f"{page} has no </head>")
        page.write_text(text.replace("</head>", f"<script>{script}</script>\n</head>", 1))
    print(f"offline message added to {len(pages)} app pages")


def build(output: Path, work: Path) -> None:
    if work.exists():
        shutil.rmtree(work)
    pypi = work / "pypi"
    pypi.mkdir(parents=True)
    for name in ("jupyter-lite.json", "jupyter_lite_config.json"):
        shutil.copy2(LITE / name, work / name)

    # 1. wheels: lintheory from this checkout, and the widget packages at the installed versions
    src = work / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "lintheory", src / "lintheory", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # a version per content (0.1.0+<hash>): a browser that cached an older wheel under the same name
    # would fail the wheel index's sha256 check after the site is updated
    digest = hashlib.sha256()
    for path in sorted((src / "lintheory").rglob("*.py")):
        digest.update(path.relative_to(src).as_posix().encode() + b"\0" + path.read_bytes())
    pyproject = (src / "pyproject.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)
    (src / "pyproject.toml").write_text(pyproject.replace(f'version = "{version}"',
                                                          f'version = "{version}+{digest.hexdigest()[:12]}"', 1))
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", pypi, src)
    pins = [f"{name}=={importlib.metadata.version(name)}" for name in BROWSER_WHEELS]
    run(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
        "--dest", pypi, *pins)
    shutil.rmtree(src)

    # 2. the chapters, each with its install cell
    contents = work / "contents" / "chapters"
    contents.mkdir(parents=True)
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        nbformat.write(lite_notebook(path), contents / path.name)

    # 3. the site, offline: everything it needs is in this environment or in `work`. Proxies that lead
    #    nowhere make any attempt at an HTTP download fail the build instead of going unnoticed.
    if output.exists():
        shutil.rmtree(output)
    nowhere = "http://127.0.0.1:9"
    env = dict(os.environ, HTTP_PROXY=nowhere, HTTPS_PROXY=nowhere, http_proxy=nowhere, https_proxy=nowhere,
               NO_PROXY="", no_proxy="")
    run(sys.executable, "-m", "jupyterlite_core", "build", "--lite-dir", work, "--contents", work / "contents",
        "--output-dir", output, cwd=work, env=env)
    add_offline_check(output)
    listed = json.loads((output / "pypi" / "all.json").read_text())
    missing = {"lintheory", *(n.replace("_", "-") for n in BROWSER_WHEELS)} - set(listed)
    if missing:
        raise SystemExit(f"the site's wheel index lacks {sorted(missing)}")
    print(f"JupyterLite site in {output}: {len(list(contents.iterdir()))} chapters, wheels {sorted(listed)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "_build" / "html" / "lite")
    parser.add_argument("--work", type=Path, default=ROOT / "_build" / "lite")
    args = parser.parse_args(argv)
    build(args.output.resolve(), args.work.resolve())


if __name__ == "__main__":
    main()
