"""The values a notebook glues, read from its stored outputs: ``python tools/glued_values.py A.ipynb B.ipynb`` prints
the names whose stored value differs between two executions of a chapter (used after tools/hide_bookkeeping.py)."""

from __future__ import annotations

import json
import pathlib
import sys


def glued(path: pathlib.Path) -> dict[str, dict]:
    """name -> the glued mime bundle (text and images), from every output of every code cell."""
    out = {}
    for cell in json.loads(path.read_text())["cells"]:
        for o in cell.get("outputs", []):
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                out[name] = {k: v for k, v in o.get("data", {}).items() if "papermill.record" in k and "image" not in k}
    return out


if __name__ == "__main__":
    a, b = (glued(pathlib.Path(p)) for p in sys.argv[1:3])
    diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    print(f"{len(a)} and {len(b)} glued values; {len(diff)} differ: {diff}")
