"""nbgrader_config.py's preprocessors for hidden tests: autograde restores an untouched
test cell's hidden tests without a checksum warning (nbgrader's own OverwriteCells warns
for every one), still warns for an edited cell, and feedback pages show no hidden test."""
import logging

import nbformat
import pytest

from notebook_helpers import SOURCE, released


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    from autograder.engine.notebooks import prepare as notebooks

    root = tmp_path_factory.mktemp("nbcourse")
    notebooks.generate("a2_nb", {"tiny.ipynb": SOURCE}, root)
    return root


def sanitize(course, overwrite, nb, caplog):
    """One OverwriteCells pass as autograde makes it; the warnings it logged."""
    resources = {"nbgrader": {"notebook": "tiny", "assignment": "a2_nb",
                              "db_url": f"sqlite:///{course / 'gradebook.db'}"}}
    pre = overwrite()
    pre.log = logging.getLogger("sanitize-test")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sanitize-test"):
        nb, _ = pre.preprocess(nb, resources)
    return nb, [r.getMessage() for r in caplog.records]


def test_stock_overwrite_cells_warns_for_an_untouched_release(course, caplog):
    from nbgrader.preprocessors import OverwriteCells

    _, warned = sanitize(course, OverwriteCells, nbformat.reads(released(), as_version=4), caplog)
    assert len(warned) == 2 and all("checksum" in w for w in warned), warned    # nbgrader issue #1961


def test_released_cells_restore_hidden_tests_quietly(course, caplog):
    from autograder.engine.notebooks.hidden import ReleasedCells

    nb, warned = sanitize(course, ReleasedCells, nbformat.reads(released(), as_version=4), caplog)
    assert warned == []
    tests = {c.metadata.nbgrader["grade_id"]: c.source for c in nb.cells if c.metadata.nbgrader.get("grade")}
    assert "HIDDEN-MARK" in tests["task2_1_tests"] and "HIDDEN-MARK" in tests["task2_2_tests"]


def test_an_edited_test_cell_is_still_reported(course, caplog):
    from autograder.engine.notebooks.hidden import ReleasedCells

    nb = nbformat.reads(released(), as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "task2_1_tests")
    cell.source = "pass"
    nb, warned = sanitize(course, ReleasedCells, nb, caplog)
    assert len(warned) == 1 and "task2_1_tests" in warned[0] and "checksum" in warned[0], warned
    assert "HIDDEN-MARK" in next(c.source for c in nb.cells if c.metadata.nbgrader.get("grade_id") == "task2_1_tests")


def test_feedback_cuts_hidden_tests_and_their_tracebacks():
    from autograder.engine.notebooks.hidden import HideHiddenTests

    nb = nbformat.read(SOURCE, as_version=4)
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "task2_1_tests")
    test.outputs = [nbformat.v4.new_output("stream", name="stdout", text="HIDDEN-MARK printed"),
                    nbformat.v4.new_output("error", ename="AssertionError", evalue="HIDDEN-MARK",
                                           traceback=["assert double(-1.5) == -3.0  # HIDDEN-MARK"])]
    nb, _ = HideHiddenTests().preprocess(nb, {})
    assert "HIDDEN-MARK" not in nbformat.writes(nb)
    assert [(o.output_type, o.ename) for o in test.outputs] == [("error", "AssertionError")]
    assert test.source == "assert double(3) == 6"
