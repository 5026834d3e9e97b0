"""nbgrader's configuration for this course (nbgrader reads it from the folder it runs in).

    make nbgrader-course                          # build/nbgrader/: source/<folder>/ = the student folder
                                                  # with the instructor's notebooks; release/, gradebook.db
    nbgrader release_assignment a2_numpy_vit      # to the exchange; students fetch_assignment and submit
    nbgrader collect a2_numpy_vit
    nbgrader autograde a2_numpy_vit               # the notebook's test cells, hidden ones included
    nbgrader generate_feedback a2_numpy_vit       # hidden tests cut out of the pages again
    make grade ASSIGNMENT=a2 SUBMISSIONS=build/nbgrader   # the .py tasks (and the notebook, trusted side)
    .venv/bin/jupyter lab                         # menu Nbgrader > Formgrader (or `jupyter server`, then
                                                  # /formgrader); nbgrader 0.9 has no `nbgrader formgrader`
    nbgrader export                               # nbgrader's own grades.csv, beside gradebook.db

Autograde keeps every file a student submitted (only a file missing from the submission
comes from source/), so the notebook runs against the student's own modules. `nbgrader
autograde` executes the test cells in the student's own kernel and trusts what it reports;
`make grade` does not. Start Jupyter at the kit's root so formgrader reads this file
(docs/instructors/nbgrader.md).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("VITLAB_NBGRADER_COURSE", os.path.join(HERE, "build", "nbgrader"))

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file
c.CourseDirectory.root = ROOT
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(ROOT, "gradebook.db")
# never released, collected or copied by autograde
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]
c.Exchange.root = os.path.join(ROOT, "exchange")
c.Exchange.path_includes_course = True
c.CourseDirectory.course_id = "vitlab"
# a student record: kept beside gradebook.db (build/, never committed), not in the folder it runs in
c.ExportPlugin.to = os.path.join(ROOT, "grades.csv")
sys.path.insert(0, HERE)
from autograder.engine.notebooks.feedback import safe_markdown  # noqa: E402
from autograder.engine.notebooks.hidden import HideHiddenTests, ReleasedCells  # noqa: E402
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (CheckCellMetadata, ClearOutput, DeduplicateIds, GetGrades,  # noqa: E402
                                    OverwriteKernelspec)


def student_files(source: str) -> dict:
    """{assignment: every file of its source folder but the notebooks}: autograde copies
    source files over the submission's, so a student's models.py would become the stub."""
    found = {}
    for folder in sorted(os.listdir(source)) if os.path.isdir(source) else []:
        top = os.path.join(source, folder)
        found[folder] = sorted(os.path.relpath(os.path.join(d, f), top) for d, _, files in os.walk(top)
                               for f in files if not f.endswith(".ipynb"))
    return found


c.Autograde.exclude_overwriting = student_files(os.path.join(ROOT, "source"))
# nbgrader's own list with OverwriteCells replaced: an untouched test cell is restored
# with its hidden tests without a spurious checksum warning (autograder/engine/notebooks/hidden.py)
c.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, OverwriteKernelspec, ReleasedCells,
                                      CheckCellMetadata]
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
# a2's notebook trains a small ViT for about 20 s: nbgrader's 30 s per cell is too tight on a busy machine
c.Execute.timeout = 600
# nbgrader's feedback and formgrade templates ignore sanitize_html for markdown cells, and
# nbconvert writes a raw cell into the page verbatim: for notebooks nbgrader autogrades by
# hand, student markdown is rendered through an allow-list and raw cells are left out
# (`make grade` records its notebooks with student text already as plain text).
c.HTMLExporter.sanitize_html = True
c.HTMLExporter.exclude_raw = True
c.HTMLExporter.filters = {"markdown2html": safe_markdown}
