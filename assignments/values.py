"""Compare the values a test got from the student's code with those it got from the reference.

Each value is `[function name, canonical value]` (reporter.py). Numbers agree within a small
tolerance, so an implementation that adds in another order still agrees; NaN agrees with NaN.
"""

from __future__ import annotations

import json
import math

REL_TOL = 1e-4
ABS_TOL = 1e-6


def same(expected: object, got: object) -> bool:
    """Do two canonical values agree?"""
    if isinstance(expected, bool) or isinstance(got, bool):
        return type(expected) is type(got) and expected == got
    if isinstance(expected, int | float) and isinstance(got, int | float):
        if math.isnan(expected) or math.isnan(got):
            return math.isnan(expected) and math.isnan(got)
        return math.isclose(expected, got, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if isinstance(expected, list) and isinstance(got, list):
        return len(expected) == len(got) and all(same(e, g) for e, g in zip(expected, got, strict=True))
    if isinstance(expected, dict) and isinstance(got, dict):
        return expected.keys() == got.keys() and all(same(expected[k], got[k]) for k in expected)
    return type(expected) is type(got) and expected == got


def _short(value: object, chars: int = 200) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= chars else text[: chars - 3] + "..."


def difference(expected: list, got: list) -> str | None:
    """None if the student's values agree with the reference's, else what differs, briefly."""
    if not expected:
        return "the reference records no values for this test, so it cannot be graded (grader problem)"
    for number, (want, have) in enumerate(zip(expected, got, strict=False), 1):
        if not isinstance(have, list) or len(have) != 2 or have[0] != want[0]:
            return f"call {number}: the test called {want[0]} in the reference, but got {_short(have)}"
        if not same(want[1], have[1]):
            return f"call {number} ({want[0]}): your code returned {_short(have[1])}, the reference {_short(want[1])}"
    if len(got) != len(expected):
        return f"the test made {len(got)} calls into your code, with the reference {len(expected)}"
    return None
