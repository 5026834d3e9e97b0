"""Two ways around a2's hidden graders that a security review found, each planted in a copy of
the reference and graded by the real graders of its task: the work they skip costs points.

* Task 2.3: mhsa_forward attends head by head in a thread of its own. The vectorisation check
  counted Python lines and calls in the calling thread only, so 16 heads looked like 2.
* Task 2.8: load_checkpoint reads the file (so a bad file is still refused) but hands back the
  arrays this process saved at that path, never the file's own. Every load the graders made
  came after the student's own save of the same arrays, so it kept full marks.

Only the graders' files that grade these two tasks are used (the others' tasks have no tests
here), so the run is one grading of three submissions.
"""
from __future__ import annotations

import shutil

import pytest

from a2_mutation_table import Mutation
from test_buggy_variants import A2, write_submission
from tests.mutation_helpers import tasks_by_student
from vitlab.course import ROOT

GRADERS = ROOT / "autograder" / "graders" / A2.folder
FILES = ("a2util.py", "test_a2_attention_blocks.py", "test_a2_checkpoint.py")

THREADED_HEADS = """    import threading
    a = np.empty_like(q)

    def every_head():  # one head at a time, in a thread the caller's tracer does not follow
        for h in range(H):
            a[:, h] = attention_forward(q[:, h], k[:, h], v[:, h])[0]
    worker = threading.Thread(target=every_head)
    worker.start()
    worker.join()
    _, attn_cache = attention_forward(q, k, v)  # (N, H, T, d)
"""

HOSTILE = {
    "threaded_heads": Mutation("mhsa_forward loops over the heads in a thread", "2.3", "attention.py", (
        ("    a, attn_cache = attention_forward(q, k, v)  # (N, H, T, d)\n", THREADED_HEADS),)),
    "remembered_load": Mutation("load_checkpoint returns what this process saved at the path", "2.8",
                                "checkpoint.py", (
        ('arrays["meta"] = np.array(json.dumps(meta))\n',
         'arrays["meta"] = np.array(json.dumps(meta))\n'
         '    load_checkpoint.saved = {**getattr(load_checkpoint, "saved", {}), '
         'os.path.abspath(path): {k: np.array(v) for k, v in arrays.items()}}\n'),
        ('    if "meta" not in files:\n',
         '    files = {**files, **getattr(load_checkpoint, "saved", {}).get(os.path.abspath(path), {})}\n'
         '    if "meta" not in files:\n'))),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from autograder.engine.grade import grade_all
    root = tmp_path_factory.mktemp("a2_hostile")
    graders = root / "graders" / A2.folder
    graders.mkdir(parents=True)
    for name in FILES:
        shutil.copy2(GRADERS / name, graders / name)
    write_submission(root / "subs" / "reference", {})
    for name, entry in HOSTILE.items():
        write_submission(root / "subs" / name, {entry.task: ("bug", entry)})
    summary = grade_all("a2", root / "subs", root / "out", workers=2, force=True, graders_root=root / "graders")
    return tasks_by_student(summary)


@pytest.mark.slow
def test_the_reference_keeps_full_marks(graded):
    for task in ("2.3", "2.8"):
        t = graded["reference"][task]
        assert t["score"] == t["max_score"], f"{task}: {t['status']}: {t['message'][:500]}"


@pytest.mark.slow
@pytest.mark.parametrize("name", list(HOSTILE))
def test_the_work_skipped_costs_points(graded, name):
    entry = HOSTILE[name]
    t = graded[name][entry.task]
    assert t["score"] < t["max_score"], f"{entry.name}: kept {t['score']}/{t['max_score']}"
