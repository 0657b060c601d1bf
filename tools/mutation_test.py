"""Mutation testing of the simulator core with mutmut (issue 28, item 5): how many plausible bugs the
fast tests catch.

mutmut (3.x) copies the package, rewrites each function of the chosen modules into many mutants (an
operator, constant or argument changed, ...), and runs, for each mutant, the tests that call that
function: a mutant the tests fail on is *killed*, one they pass is *survived* (a test gap, or an
equivalent mutant that behaves exactly like the original). The score is killed / (killed + survived).

It runs in a scratch directory (nothing in the work tree changes): a copy of ``lintheory/`` and
``tests/`` and the project's ``pyproject.toml`` with a ``[tool.mutmut]`` section naming the modules and
the fast tests. mutmut is not a dependency of the course: install it anywhere the course's packages
are importable (a scratch venv that sees them, or the course venv), e.g. ``pip install 'mutmut==3.*'``.

Usage::

    python tools/mutation_test.py --mutmut /path/to/mutmut [--workdir DIR] [--only NAME ...]

``--only`` runs one target of ``TARGETS`` (default: all). Prints mutmut's own counts per target and
writes ``mutmut results`` (the survivors, by name) to ``DIR/<target>.results.txt``. The compiled
kernel (``lintheory/dynamics/compiled.py``) is not mutated: numba compiles it from its source, which
mutmut's rewriting would break; the tests compare it with the NumPy loop on every record instead.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# target: (modules to mutate, the fast tests that exercise them)
TARGETS = {
    "losses": (["lintheory/losses.py"],
               ["tests/test_losses.py", "tests/test_properties.py", "tests/test_sgd.py",
                "tests/test_validation.py", "tests/test_review_bugs.py"]),
    "descent": (["lintheory/dynamics/descent.py", "lintheory/dynamics/trajectory.py"],
                ["tests/test_dynamics.py", "tests/test_simulator_contracts.py", "tests/test_review_bugs.py"]),
}


def run_target(name: str, mutmut: str, workdir: Path) -> None:
    modules, tests = TARGETS[name]
    where = workdir / name
    if where.exists():
        shutil.rmtree(where)
    where.mkdir(parents=True)
    shutil.copytree(ROOT / "lintheory", where / "lintheory", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", where / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    listed = lambda items: "[" + ", ".join(f'"{x}"' for x in items) + "]"
    config = (ROOT / "pyproject.toml").read_text() + (
        "\n[tool.mutmut]\n"
        'source_paths = ["lintheory"]\n'
        f"only_mutate = {listed(modules)}\n"
        f"pytest_add_cli_args_test_selection = {listed(tests)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-x", "-q", "-m", "not slow"]\n')
    (where / "pyproject.toml").write_text(config)
    start = time.perf_counter()
    run = subprocess.run([mutmut, "run", "--max-children", "1"], cwd=where, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    (where.parent / f"{name}.run.txt").write_text(run.stdout + run.stderr)
    results = subprocess.run([mutmut, "results", "--all", "true"], cwd=where, capture_output=True, text=True)
    (where.parent / f"{name}.results.txt").write_text(results.stdout + results.stderr)
    tail = [line for line in (run.stdout + run.stderr).replace("\r", "\n").splitlines() if line.strip()][-3:]
    print(f"{name}: mutmut run exit {run.returncode} in {seconds:.0f} s; its last lines:", *tail, sep="\n  ")
    counts: dict[str, int] = {}
    for line in results.stdout.splitlines():
        if ": " in line:
            status = line.rsplit(": ", 1)[1].strip()
            counts[status] = counts.get(status, 0) + 1
    killed, survived = counts.get("killed", 0), counts.get("survived", 0)
    score = killed / (killed + survived) if killed + survived else float("nan")
    print(f"  statuses: {counts}; killed / (killed + survived) = {score:.1%}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mutmut", default=shutil.which("mutmut") or "mutmut")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "lintheory-mutmut")
    parser.add_argument("--only", nargs="*", choices=sorted(TARGETS), default=sorted(TARGETS))
    args = parser.parse_args()
    for name in args.only:
        run_target(name, args.mutmut, args.workdir)


if __name__ == "__main__":
    sys.exit(main())
