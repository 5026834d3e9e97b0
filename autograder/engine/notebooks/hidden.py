"""Hidden tests in nbgrader's own autograde and feedback (nbgrader_config.py uses both).

nbgrader's generate_assignment saves each locked cell to the gradebook, checksum included,
*before* it cuts the hidden tests out of the released copy (nbgrader issue #1961). Its
autograde then finds every untouched test cell with hidden tests "changed", warns, and
restores the source. `ReleasedCells` restores such a cell silently when the student's copy
is exactly the released one; a cell changed in any other way is still reported.

nbgrader's feedback shows the autograded notebook, hidden tests restored. `HideHiddenTests`
cuts them out of the page again, and a test cell that had some keeps only the name of its
error: IPython's traceback quotes the failing line, a hidden one included.
"""
from __future__ import annotations

from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, OverwriteCells


def released_source(source: str, parent=None) -> str:
    """`source` as generate_assignment releases it: hidden test regions removed."""
    cell = NotebookNode(source=source)
    ClearHiddenTests(parent=parent)._remove_hidden_test_region(cell)
    return cell.source


class ReleasedCells(OverwriteCells):
    """OverwriteCells that knows a released test cell lacks its hidden tests."""

    def preprocess_cell(self, cell, resources, cell_index):
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid is not None and utils.is_locked(cell):
            try:
                source = self.gradebook.find_source_cell(gid, self.notebook_id, self.assignment_id)
            except MissingEntry:
                source = None       # OverwriteCells reports it
            if (source is not None and source.locked and cell.cell_type == source.cell_type
                    and cell.source != source.source and cell.source == released_source(source.source, self)):
                cell.source = source.source     # as released: put the hidden tests back, no warning
        return super().preprocess_cell(cell, resources, cell_index)


class HideHiddenTests(ClearHiddenTests):
    """For generate_feedback: no hidden test line, and nothing they printed, on the page."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or not self._remove_hidden_test_region(cell):
            return cell, resources
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        cell.outputs = [NotebookNode(output_type="error", ename=o.get("ename", "Error"), evalue="",
                                     traceback=[f"{o.get('ename', 'Error')}: a test of this cell failed"])
                        for o in errors[:1]]
        return cell, resources
