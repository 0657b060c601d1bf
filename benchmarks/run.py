"""Run every benchmark section in one process and print (and save) the tables and the goals.

Usage, from the project root, after ``pip install -r requirements.txt -r benchmarks/requirements.txt``::

    python benchmarks/run.py                 # everything (four minutes on 2 cores, and about fifteen more for
                                             # the chapters section); writes benchmarks/results/
    python benchmarks/run.py --only gd,flow  # some sections
    python benchmarks/run.py --quick         # a smoke test of the script in seconds; writes nothing

Each section's rows go to ``benchmarks/results/<section>.csv``, the verdict on every goal of the
performance issue to ``goals.csv`` (from the sections just run, and the saved tables of the others)
and the machine to ``machine.csv``; the book's Performance page renders those files. Ratios compare contenders timed in the same run, on the same machine.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import importlib
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import lookup  # noqa: E402  (the sections import _common the same way)

SECTIONS = {
    "gd": ("bench_gd", "Batched gradient descent (flat-minima Fig. 1 setting, 2000 steps)"),
    "flow": ("bench_flow", "Gradient flow: cost of 1e-6 accuracy"),
    "sharpness": ("bench_sharpness", "Sharpness: Lanczos on exact HVPs vs the dense Hessian"),
    "course": ("bench_course", "The course: chapter execution and widget frames"),
    "sweep": ("bench_sweep", "The full-scale flat-minima Fig. 1 sweep through lt.sweep"),
    "sgd": ("bench_sgd", "Batched minibatch SGD (chapter 2's diagonal-network setting, 2000 steps)"),
    "dispatch": ("bench_dispatch", "Where the compiled loop pays: the break-even behind backend='auto'"),
    "classification": ("bench_classification", "The course's classification runs: NumPy loop vs compiled loop"),
    "chapters": ("bench_chapters", "The course as a reader meets it: each chapter in a fresh kernel, both paths"),
}


def goals(tables: dict[str, list[dict]]) -> list[dict]:
    """The issue's targets, each as a measured ratio or time against its threshold."""
    out = []

    def add(goal: str, measured: float, target: str, met: bool) -> None:
        out.append({"goal": goal, "measured": measured, "target": target, "met": "yes" if met else "no"})

    gd = {row["R"]: row for row in tables.get("gd", [])}
    if 20 in gd:
        r = gd[20]["JAX first ratio"]
        add("batched GD, R = 20: JAX first call (incl. compile) / lintheory", r, "≥ 1", r >= 1)
    if 200 in gd:
        r = gd[200]["JAX steady ratio"]
        add("batched GD, R = 200: JAX steady state / lintheory", r, "≥ 0.5", r >= 0.5)
    for R, row in gd.items():
        r = row["PyTorch ratio"]
        add(f"batched GD, R = {R}: PyTorch eager / lintheory", r, "≥ 10", r >= 10)
    for R, row in gd.items():           # issue 20: the compiled step
        if "limit ratio" in row:
            r = row["JAX steady ratio"]
            add(f"batched GD, R = {R}: JAX steady state / lintheory steady state", r, "≥ 1", r >= 1)
            r = row["limit ratio"]
            add(f"batched GD, R = {R}: lintheory / hand-written compiled loop (steady)", r, "≤ 2", r <= 2)
    if "flow" in tables:
        for problem, r in lookup(tables["flow"], "eval ratio (Euler/GF)").items():
            add(f"gradient flow, {problem}: Euler / lintheory gradient evaluations", r, "≥ 50", r >= 50)
    total = [row for row in tables.get("course", []) if row["chapter"] == "all chapters"]
    if total and total[0]["widget frames"]:
        t = total[0]["slowest draw s"]
        add("slowest widget update: its computation and drawing, s", t, "< 0.1", t < 0.1)
        t = total[0]["slowest draw + PNG s"]
        add("slowest widget frame including PNG rendering, s", t, "< 0.1", t < 0.1)
    if total:
        t = total[0]["execution s"]
        add("all chapters executed, s", t, "< 300", t < 300)
    for row in tables.get("chapters", []):
        if row["chapter"] == "all chapters":
            continue
        for mode, limit in (("default", 30), ("NumPy path", 60)):
            t = row[f"{mode} s"]
            add(f"chapter {row['chapter']} in a fresh kernel, {mode}, s", t, f"≤ {limit}", t <= limit)
    for row in tables.get("dispatch", []):
        r = row["their lowest ratio"]
        if r != "":
            add(f"backend='auto', {row['outputs']} outputs: slowest compiled choice, NumPy / compiled", r,
                "≥ 0.8", r >= 0.8)
    if "sweep" in tables:
        t = lookup(tables["sweep"], "sweep s (all cores)")["value"]
        add("full Fig. 1 sweep through lt.sweep, s", t, "< 600", t < 600)
    return out


def machine() -> list[dict]:
    import numpy
    import scipy

    info = {"date": datetime.date.today().isoformat(), "python": platform.python_version(),
            "cores": os.cpu_count(), "processor": _cpu_name(), "numpy": numpy.__version__,
            "scipy": scipy.__version__}
    for name in ("jax", "torch"):
        try:
            info[name] = importlib.import_module(name).__version__
        except ImportError:
            info[name] = "not installed"
    return [{"item": k, "value": v} for k, v in info.items()]


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def print_table(title: str, rows: list[dict]) -> None:
    print(f"\n== {title}")
    if not rows:
        return
    cols = list(rows[0])
    cells = [[str(row.get(c, "")) for c in cols] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]
    print("  ".join(c.rjust(w) for c, w in zip(cols, widths)))
    for r in cells:
        print("  ".join(v.rjust(w) for v, w in zip(r, widths)))


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def read_csv(path: Path) -> list[dict]:
    """Rows of a table written by :func:`write_csv`, numbers parsed back."""
    def parse(value: str):
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                pass
        return value

    with path.open(newline="") as f:
        return [{k: parse(v) for k, v in row.items()} for row in csv.DictReader(f)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections among {', '.join(SECTIONS)}")
    parser.add_argument("--quick", action="store_true", help="tiny sizes; prints only, writes nothing")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="folder of the CSV files")
    args = parser.parse_args(argv)
    names = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in names if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown sections {unknown}; choose among {list(SECTIONS)}")
    tables = {}
    for name in names:
        module, title = SECTIONS[name]
        tables[name] = importlib.import_module(module).run(quick=args.quick)
        print_table(title, tables[name])
    if not args.quick:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, rows in tables.items():
            write_csv(args.out / f"{name}.csv", rows)
        for name in SECTIONS:      # the goals cover every section: earlier runs' tables fill the gaps
            if name not in tables and (args.out / f"{name}.csv").exists():
                tables[name] = read_csv(args.out / f"{name}.csv")
    verdicts = goals(tables)
    print_table("Goals", verdicts)
    if not args.quick:
        write_csv(args.out / "goals.csv", verdicts)
        write_csv(args.out / "machine.csv", machine())


if __name__ == "__main__":
    main()
