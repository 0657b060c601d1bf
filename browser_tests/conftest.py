"""Print the browser test's load report (bytes, first paint, load times, figures without alt text)."""

import os
from pathlib import Path

REPORT = Path(os.environ.get("LINTHEORY_SHOTS", Path(__file__).resolve().parent.parent / "_build" / "browser")) / "load-report.md"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if REPORT.exists() and REPORT.stat().st_mtime >= getattr(config, "_lintheory_start", 0):
        terminalreporter.write_sep("-", "built book: weight and load times (cold, 1366 px)")
        terminalreporter.write_line(REPORT.read_text())


def pytest_configure(config):
    import time
    config._lintheory_start = time.time()
