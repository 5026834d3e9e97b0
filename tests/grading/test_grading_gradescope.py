"""make gradescope, for every assignment of the course: the zip in Gradescope's layout,
unpacked the way Gradescope does (the zip into /autograder/source, run_autograder copied to
/autograder/run_autograder, the submission in /autograder/submission), run with
`bash run_autograder` in a simulated /autograder tree (AUTOGRADER_ROOT). The reference gets
full marks and the untouched release zero; the capstone's tiny trained checkpoints get the
statuses `make grade` gives them. Data is where setup.sh puts it (source/datasets/data),
here small vitdata caches of easy "motif" images (tests/a4/a4_build.py)."""
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile

import pytest

from autograder.engine import examples
from autograder.engine.gradescope import build as gradescope
from autograder.engine.gradescope.data import grading_datasets
from autograder.engine.leaderboard import checkpoints
from gradescope_helpers import A4_BUILD, ROOT, submit, tiny_data, unpack
from vitlab.course import load_course

COURSE = load_course()
IDS = [a.id for a in COURSE.assignments]


def is_capstone(a) -> bool:
    return bool(checkpoints(COURSE, a))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One zip per assignment, built once for this module."""
    out = tmp_path_factory.mktemp("gradescope")
    return {aid: gradescope.build(aid, out / aid / "autograder.zip") for aid in IDS}


@pytest.mark.parametrize("aid", IDS)
def test_zip_is_gradescopes_layout(built, aid):
    a = COURSE.assignment(aid)
    z = zipfile.ZipFile(built[aid])
    names = set(z.namelist())
    assert {"setup.sh", "run_autograder", "requirements.txt", "course.toml", "autograder/__main__.py",
            "autograder/engine/inside/worker.py", "vitlab/course.py", "datasets/vitdata/__init__.py"} <= names
    assert not any(n.startswith("source/") for n in names)
    for script in ("setup.sh", "run_autograder"):
        assert (z.getinfo(script).external_attr >> 16) & stat.S_IXUSR, script
    assert any(n.startswith(f"autograder/graders/{a.folder}/") for n in names)
    assert not any(n.startswith("autograder/graders/") and f"/{a.folder}/" not in n for n in names)
    others = [o for o in COURSE.assignments if o.folder != a.folder]
    for o in others:   # other assignments: only their assignment.toml (task ids are course-wide)
        assert {n for n in names if n.startswith(f"solutions/{o.folder}/")} == {f"solutions/{o.folder}/assignment.toml"}
    if (a.source_dir / "vitdata").exists():   # the given data package arrives as files, not a link
        assert f"solutions/{a.folder}/vitdata/__init__.py" in names
    assert "--unsafe-no-sandbox" in z.read("run_autograder").decode()
    assert "chmod -R go-rwx" in z.read("setup.sh").decode()
    assert gradescope.build(aid, built[aid].parent / "again.zip").read_bytes() == built[aid].read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("aid", [i for i in IDS if not is_capstone(COURSE.assignment(i))])
def test_reference_full_marks_release_zero(built, aid, tmp_path):
    a = COURSE.assignment(aid)
    root = unpack(built[aid], tmp_path / "autograder")
    tiny_data(root / "source" / "datasets" / "data", grading_datasets(COURSE, aid))
    ref = submit(root, lambda d: examples.write_base(a, d, "reference"))
    bad = [(t["number"], t["extra_data"]["status"], t["output"][:300]) for t in ref["tests"] if t["score"] != t["max_score"]]
    assert not bad and ref["score"] == pytest.approx(a.points), bad
    staff = (root / "results" / "stdout").read_text()
    assert "sandbox: " in staff and "---- grader.log ----" in staff and "wall " in staff
    rel = submit(root, lambda d: examples.write_base(a, d, "release"))
    assert rel["score"] == 0 and len(rel["tests"]) == len(a.tasks)
    assert {t["extra_data"]["status"] for t in rel["tests"]} == {"not_implemented"}
    for res in (ref, rel):   # what students see: results.json's visible parts, stdout hidden
        assert res["stdout_visibility"] == "hidden"
        assert set(res["extra_data"]) == {"assignment", "max_score"}
        assert all(t["visibility"] == "visible" and {"name", "score", "max_score", "output"} <= set(t)
                   for t in res["tests"])


@pytest.mark.slow
@pytest.mark.parametrize("aid", [i for i in IDS if is_capstone(COURSE.assignment(i))])
def test_capstone_statuses_match_make_grade(built, aid, tmp_path):
    """Tiny trained checkpoints (tests/a4/a4_build.py) with the course's real [capstone]:
    Gradescope's run and `make grade` agree task by task; leaderboard entries in both."""
    a = COURSE.assignment(aid)
    base = tmp_path / "build"
    subprocess.run([sys.executable, str(A4_BUILD), str(base)], check=True, capture_output=True, text=True)
    names = checkpoints(COURSE, a)
    subs = tmp_path / "subs"
    examples.write_base(a, subs / "trained", "reference")
    for name in names:
        shutil.copytree(base / "checkpoints" / name, subs / "trained" / "checkpoints" / name)
    examples.write_base(a, subs / "untouched", "release")

    root = unpack(built[aid], tmp_path / "autograder")
    data = root / "source" / "datasets" / "data"
    tiny_data(data, grading_datasets(COURSE, aid))
    gs = {s: submit(root, lambda d, s=s: shutil.copytree(subs / s, d)) for s in ("trained", "untouched")}

    env = {k: v for k, v in os.environ.items() if k not in ("VITLAB_MIRROR", "PYTHONPATH")}
    env["VITLAB_DATA"] = str(data)
    r = subprocess.run([sys.executable, "-m", "autograder", "grade", "-a", aid, "-s", str(subs), "-o",
                        str(tmp_path / "out"), "-q"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for s in ("trained", "untouched"):
        local = json.loads((tmp_path / "out" / s / "results.json").read_text())
        want = {t["task"]: t["status"] for t in local["extra_data"]["tasks"]}
        got = {t["number"]: t["extra_data"]["status"] for t in gs[s]["tests"]}
        assert got == want, (s, got, want)
        assert gs[s]["score"] == pytest.approx(local["score"])
        assert gs[s].get("leaderboard", []) == local.get("leaderboard", [])
    # the motif models learn one tiling, unshifted: where the course draws shifted test copies
    # (holdout_shifted_images), they are held for review (0 points) on both sides alike
    status = {t["number"]: t["extra_data"]["status"] for t in gs["trained"]["tests"]}
    assert set(status.values()) <= {"passed", "review"}, status
    held = [n for n, st in status.items() if st == "review"]
    assert gs["trained"]["score"] == pytest.approx(a.points - sum(t.points for t in a.tasks if t.id in held))
    assert gs["untouched"]["score"] == 0
    board = {e["name"]: e for e in gs["trained"].get("leaderboard", [])}
    for name in names:
        if f"{name} test accuracy (%)" in board:
            assert 90.0 <= board[f"{name} test accuracy (%)"]["value"] <= 100.0
            assert board[f"{name} parameters"]["order"] == "asc" and board[f"{name} parameters"]["value"] > 1000
    shown = json.dumps(gs["trained"]["tests"])
    assert "shifted" not in shown and "training images" not in shown     # the measurements are the staff's
    assert "leaderboard" not in gs["untouched"]
    csv_text = (tmp_path / "out" / "leaderboard.csv").read_text()
    assert csv_text.splitlines()[1].startswith("1,")
    assert (tmp_path / "out" / "leaderboard.html").read_text().startswith("<!DOCTYPE html>")
    staff = (root / "results" / "stdout").read_text()
    assert "FLAG" not in json.dumps(gs["trained"]) and "---- grader.log ----" in staff


def test_the_manual_names_each_assignments_settings():
    """The manual's Gradescope page lists what `make gradescope` prints: image, timeout, memory, CPUs."""
    text = (ROOT / "docs/instructors/gradescope.md").read_text(encoding="utf-8")
    for a in COURSE.assignments:
        s = gradescope.settings(COURSE, a)
        row = f"| {a.id} | Ubuntu 22.04, Base | {s['timeout_min']} min | {s['memory_gb']} GB | {s['cpus']} |"
        assert row in text, row
    assert "Ubuntu 22.04" in gradescope.settings(COURSE, COURSE.assignments[0])["image"]
