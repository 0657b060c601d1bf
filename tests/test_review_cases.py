"""Every input of the reliability review's table gets a clear error, a right result, or a documented
convention (issue 17). The cases themselves are in ``tests/review_cases.py``."""

import pytest

from review_cases import CASES, verdict


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_review_case(case):
    kind, what = verdict(case)
    assert kind in ("CLEAR", "OK", "CONVENTION"), f"case {case[0]} ({case[2]}): {kind}: {what}"
