"""Print lintheory's line and branch coverage from a coverage.py JSON report, and fail below the floors.

Usage: ``python tests/coverage_check.py _build/coverage.json --lines 95 --branches 90``
"""

import argparse
import json
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("report")
    parser.add_argument("--lines", type=float, default=95.0)
    parser.add_argument("--branches", type=float, default=90.0)
    args = parser.parse_args(argv)
    totals = json.load(open(args.report))["totals"]
    lines = 100.0 * totals["covered_lines"] / max(totals["num_statements"], 1)
    branches = 100.0 * totals["covered_branches"] / max(totals["num_branches"], 1)
    print(f"lintheory coverage (fast tests): lines {lines:.1f} % ({totals['covered_lines']}/"
          f"{totals['num_statements']}), branches {branches:.1f} % ({totals['covered_branches']}/"
          f"{totals['num_branches']}); floors {args.lines:g} % and {args.branches:g} %")
    return 0 if lines >= args.lines and branches >= args.branches else 1


if __name__ == "__main__":
    sys.exit(main())
