"""Every shell command of README.md and docs/ is run as typed by a test (the RUN of each
module in RUNNERS) or carries the marker that says why not (docs/contributing/testing.md,
"Commands in the manual"). Fast: it reads Markdown only."""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from tests.docs.commands import MARKER, ROOT, Command, commands_in, documented

if not (ROOT / "template" / "course").is_dir():
    pytest.skip("a baked course: its README is the bake's, and the manual is checked in the kit it comes from",
                allow_module_level=True)

# The test modules that run documented commands as typed, each listing them in its RUN (a test
# elsewhere that reads its commands from the docs joins here).
RUNNERS = ("tests.docs.test_term_by_make", "tests.docs.test_designer_by_make",
           "tests.grading.test_nbgrader_course_cli")
RUN = tuple(c for name in RUNNERS for c in importlib.import_module(name).RUN)


def uncovered(commands: list[Command], run: set[str]) -> list[Command]:
    """The commands neither run nor marked with a reason (a marker with no reason counts as none)."""
    return [c for c in commands if c.text not in run and not c.reason]


def report(bad: list[Command]) -> str:
    return (f"{len(bad)} documented command(s) neither run as typed by a test (RUN of {', '.join(RUNNERS)}) "
            f"nor marked "
            f"'# {MARKER} <reason>':\n" + "\n".join(c.where() for c in bad))


def test_every_documented_command_is_run_or_marked():
    commands = documented()
    assert len(commands) > 40 and any(c.file == "README.md" for c in commands)
    bad = uncovered(commands, set(RUN))
    assert not bad, report(bad)


def test_every_command_the_tests_run_is_in_the_docs():
    shown = {c.text for c in documented()}
    assert not [c for c in RUN if c not in shown]


def test_a_planted_unmarked_command_fails(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# A page\n\n```bash\nmake release\nmake frobnicate ASSIGNMENT=a1   # a note, no marker\n"
                    f"make bench-gpu   # {MARKER} needs a GPU\nmake lonely   # {MARKER}\n```\n", encoding="utf-8")
    bad = uncovered(commands_in(page, tmp_path), set(RUN))
    assert [c.where() for c in bad] == ["page.md:5: make frobnicate ASSIGNMENT=a1", "page.md:7: make lonely"]
    message = report(bad)
    assert "page.md:5: make frobnicate ASSIGNMENT=a1" in message and MARKER in message


def test_what_counts_as_a_command(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "```\nMakefile, mk/*.mk     make targets\nsolutions/<a>/        code\n```\n\n"          # a listing
        "```python\nimport os\n```\n\n"
        "```\n$ make grade\ngrade: 5 example submissions\n```\n\n"                             # a transcript
        '```bash\nmake regrade STUDENT=s02 REASON="request #7"   # one student\n'
        "make grade \\\n  ASSIGNMENT=a1\n# a comment line\n"
        f"# {MARKER} needs a GPU\nmake train\nmake bench-gpu\n\nmake after\n```\n\n"
        "1. A list item:\n\n   ```bash\n   cd assignments && zip -r ../a1.zip a1\n   ```\n", encoding="utf-8")
    got = [(c.line, c.text, c.reason) for c in commands_in(page, tmp_path)]
    assert got == [(11, "make grade", None),
                   (16, 'make regrade STUDENT=s02 REASON="request #7"', None),
                   (17, "make grade ASSIGNMENT=a1", None),
                   (21, "make train", "needs a GPU"), (22, "make bench-gpu", "needs a GPU"),
                   (24, "make after", None),
                   (30, "cd assignments && zip -r ../a1.zip a1", None)]


def test_an_included_file_is_read(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("no commands\n", encoding="utf-8")
    (tmp_path / "docs" / "index.md").write_text('--8<-- "GUIDE.md"\n', encoding="utf-8")
    (tmp_path / "GUIDE.md").write_text("```bash\nmake guide\n```\n", encoding="utf-8")
    assert [c.where() for c in documented(tmp_path)] == ["GUIDE.md:2: make guide"]


def test_the_convention_is_documented():
    text = (ROOT / "docs" / "contributing" / "testing.md").read_text(encoding="utf-8")
    assert f"# {MARKER}" in text and "tests/docs/test_commands_covered.py" in text
    assert Path(__file__).name in text
