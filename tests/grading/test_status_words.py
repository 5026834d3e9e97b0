"""Every status the scoring can give has its words everywhere a person reads one: the report's
text, the term plots' colour, and both status tables of docs/instructors/grading.md."""
from pathlib import Path

import pytest

from autograder.engine import scoring
from autograder.engine.report import STATUS_TEXT
from autograder.term.plots import STATUS_COLORS

DOC = Path(__file__).resolve().parents[2] / "docs" / "instructors" / "grading.md"


@pytest.mark.parametrize("status", scoring.STATUSES)
def test_every_status_is_named_and_coloured(status):
    assert status in STATUS_TEXT and status in STATUS_COLORS


@pytest.mark.parametrize("status", scoring.STATUSES)
def test_every_status_is_in_both_tables_of_the_grading_page(status):
    if not DOC.is_file():
        pytest.skip("no instructors' manual in this course")
    rows = [ln for ln in DOC.read_text(encoding="utf-8").splitlines() if ln.startswith(f"| `{status}`")
            or ln.startswith(f"| (none, green) | `{status}`") or f"| `{status}` |" in ln[:40]]
    assert len(rows) >= 2, f"{status}: {rows}"
