"""nbgrader's configuration for this course (nbgrader reads it from the folder it runs in).

    make nbgrader-course                      # build/nbgrader/: notebooks-only source tree, release, gradebook.db
    make grade ASSIGNMENT=a2 SUBMISSIONS=...  # grades on the trusted side, records students there
    .venv/bin/jupyter lab                     # menu Nbgrader > Formgrader (or `jupyter server`, then /formgrader):
                                              # grade written answers by hand; nbgrader 0.9 has no `nbgrader formgrader`
    make grade ASSIGNMENT=a2 SUBMISSIONS=... FORCE=1   # folds the manual grades into grading/a2/gradebook.csv
    nbgrader export                           # nbgrader's own grades.csv

The course root holds notebooks only: nbgrader copies its source folder verbatim into the
release and over autograded submissions, so a `.py` reference there would ship to
students and overwrite their modules. `nbgrader autograde` run by hand executes the test
cells in the student's own kernel and trusts what it reports; `make grade` does not.
Start Jupyter at the kit's root so formgrader reads this file (docs/instructors/nbgrader.md).
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
# source/ is rebuilt by `make nbgrader-course` with notebooks only; collect keeps the students' own files
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]
c.Exchange.root = os.path.join(ROOT, "exchange")
c.Exchange.path_includes_course = True
c.CourseDirectory.course_id = "vitlab"
# nbgrader's feedback and formgrade templates ignore sanitize_html for markdown cells, and
# nbconvert writes a raw cell into the page verbatim: for notebooks nbgrader autogrades by
# hand, student markdown is rendered through an allow-list and raw cells are left out
# (`make grade` records its notebooks with student text already as plain text).
sys.path.insert(0, HERE)
from autograder.engine.nbfeedback import safe_markdown  # noqa: E402

c.HTMLExporter.sanitize_html = True
c.HTMLExporter.exclude_raw = True
c.HTMLExporter.filters = {"markdown2html": safe_markdown}
