"""Bake the course template (defaults and several option combinations) with `make new-course`,
then run each baked course's own release check and, for a1, its grading round trip."""
import hashlib

import pytest

from vitlab.course import load_course

from .conftest import BAKED_AT, KIT, bake, make, ok, release_check, run, toml, tree_digest

KIT_COURSE = load_course(KIT)
# The kit's own code, copied as is into every course (reference code exists once).
SHARED = ["vitlab", "autograder/engine", "datasets/vitdata", "mk", "scripts", "Makefile", "CONTRIBUTING.md",
          "pyproject.toml", "requirements.txt", "requirements.lock", "template/exercise"]


def key_paths(d, prefix=""):
    for k, v in d.items():
        yield prefix + k
        if isinstance(v, dict):
            yield from key_paths(v, prefix + k + ".")


@pytest.fixture(scope="module")
def default_course(bake_root):
    return bake(bake_root, "defaults")


def test_defaults_give_the_whole_kit(default_course):
    cfg = toml(default_course / "course.toml")
    assert default_course.name == "vitlab"
    assert (cfg["name"], cfg["id"], cfg["assignments"]) == ("ViT Lab", "vitlab", [a.folder for a in KIT_COURSE.assignments])
    assert cfg["gpu"] is True and cfg["datasets"] == ["mnist", "cifar10"]
    assert cfg["capstone"] == toml(KIT / "course.toml")["capstone"]     # the kit's thresholds and budgets
    missing = set(key_paths(toml(KIT / "course.toml"))) - set(key_paths(cfg))
    assert not missing, f"template/course/.../course.toml lacks keys the kit's course.toml has: {sorted(missing)}"


def test_reference_code_and_tooling_are_the_kits_own(default_course):
    """Byte for byte, except the generated solutions/<a>/pytest.ini and kit files edited
    while the bake ran (the kit is a working tree)."""
    started = BAKED_AT[default_course]
    for part in SHARED + [f"solutions/{a.folder}" for a in KIT_COURSE.assignments] \
            + [f"autograder/graders/{a.folder}" for a in KIT_COURSE.assignments]:
        if not (KIT / part).exists():
            continue
        kit, baked = tree_digest(KIT / part), tree_digest(default_course / part)
        if (KIT / part).is_file():
            kit, baked = {"": hashlib.sha256((KIT / part).read_bytes()).hexdigest()}, \
                {"": hashlib.sha256((default_course / part).read_bytes()).hexdigest()}
        for rel in set(kit) | set(baked):
            src = KIT / part / rel
            if rel.endswith("pytest.ini") or (src.exists() and src.lstat().st_mtime >= started):
                continue
            assert kit.get(rel) == baked.get(rel), f"{part}/{rel}"


def test_local_state_is_not_copied(default_course):
    assert (default_course / ".venv").is_symlink()
    for part in (".git", "grading", "build", "datasets/data", "bench/results", "tests/template", "template/course"):
        assert not (default_course / part).exists(), part


def test_defaults_release_in_sync_and_readme_has_the_course_map(default_course):
    release_check(default_course)
    readme = (default_course / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# ViT Lab\n")
    for a, t in KIT_COURSE.all_tasks():
        assert f"| {t.id} | {t.title} |" in readme
    assert "make new-course" not in readme          # a baked course does not bake courses
    assert "make new-exercise" in readme


def test_defaults_grade_a1_round_trip(default_course):
    """Hidden graders: the reference gets full marks, the released stubs get zero."""
    ok(make(default_course, "grade-check", "ASSIGNMENT=a1"))


def test_a1_course_settings(a1_course):
    cfg = toml(a1_course / "course.toml")
    assert a1_course.name == "cs231x"
    assert (cfg["name"], cfg["id"], cfg["term"], cfg["assignments"]) == ("Deep Vision 101", "cs231x", "Spring-2027", ["a1_numpy_layers"])
    assert cfg["gpu"] is False and cfg["datasets"] == ["mnist"]
    assert "capstone" not in cfg                                        # no capstone, no settings for it
    assert (a1_course / "README.md").read_text(encoding="utf-8").startswith("# Deep Vision 101\n\ncs231x, Spring-2027.")
    for gone in ("solutions/a2_numpy_vit", "solutions/a4_capstone", "autograder/graders/a3_torch_vit", "assignments/a2_numpy_vit"):
        assert not (a1_course / gone).exists(), gone


def test_a1_points_are_scaled_then_overridden(a1_course):
    kit = {t.id: t.points for t in KIT_COURSE.assignment("a1").tasks}
    got = {t["id"]: t["points"] for t in toml(a1_course / "solutions/a1_numpy_layers/assignment.toml")["tasks"]}
    assert got["1.2"] == 7
    for tid, pts in kit.items():
        if tid != "1.2":
            assert float(got[tid]).is_integer() and abs(got[tid] - pts * 200 / sum(kit.values())) < 1, (tid, got[tid])


def test_a2_alone_keeps_the_a1_files_it_links_to(bake_root):
    course = bake(bake_root, "a2-only", "assignments=a2", "dataset=mnist", "course_id=vit_only")
    assert toml(course / "course.toml")["assignments"] == ["a2_numpy_vit"]
    kept = sorted(p.name for p in (course / "solutions/a1_numpy_layers").iterdir())
    assert kept == ["conv.py", "gradcheck.py", "layers.py"]         # no tests, no assignment.toml
    assert not (course / "autograder/graders/a1_numpy_layers").exists()
    assert not (course / "assignments/a1_numpy_layers").exists()
    assert (course / "solutions/a2_numpy_vit/layers.py").resolve() == (course / "solutions/a1_numpy_layers/layers.py").resolve()
    released = (course / "assignments/a2_numpy_vit/layers.py").read_text(encoding="utf-8")
    assert "NotImplementedError" not in released and "### BEGIN SOLUTION" not in released   # given code
    # every public test module of a2 imports (the kept a1 code included); task 2.1's tests pass
    assert " passed" in ok(make(course, "check", "ASSIGNMENT=a2", "TASK=2.1"))


def test_capstone_alone_keeps_its_a3_chain_and_takes_new_thresholds(bake_root):
    course = bake(bake_root, "a4-only", "assignments=a4", "mnist_thresholds=96,95.5", "cifar10_thresholds=75,60.5",
                  "cifar10_budget_s=200", "course_id=capstone", "points=90")
    cfg = toml(course / "course.toml")
    assert cfg["assignments"] == ["a4_capstone"] and (course / "assignments/a4_capstone").is_dir()   # released
    kit = toml(KIT / "course.toml")["capstone"]
    assert set(cfg["capstone"]["checkpoints"]) == set(kit["checkpoints"])
    for name, spec in cfg["capstone"]["checkpoints"].items():
        want = ([95.5, 96.0], kit["checkpoints"][name]["budget_s"]) if spec["dataset"] == "mnist" else ([60.5, 75.0], 200)
        assert (spec["thresholds"], spec["budget_s"]) == want, name
    assert "retrain" not in cfg["capstone"]
    guide = (course / "assignments/a4_capstone/README.md").read_text(encoding="utf-8")
    assert "| `vit_mnist` | 4.1 | 95.5 %, 96 % |" in guide and "| `vit_cifar10` | 4.3 | 60.5 %, 75 % | 200 s |" in guide
    tasks = toml(course / "solutions/a4_capstone/assignment.toml")["tasks"]
    assert [t["id"] for t in tasks] == [t.id for t in KIT_COURSE.assignment("a4").tasks]
    assert sum(t["points"] for t in tasks) == 90
    for link in (course / "solutions/a4_capstone").iterdir():
        assert link.exists(), f"{link} dangles"
    assert not (course / "solutions/a3_torch_vit/assignment.toml").exists()
    assert not (course / "solutions/a1_numpy_layers").exists() and not (course / "solutions/a2_numpy_vit").exists()
    for test in (course / "tests").rglob("*.py"):         # tests of the assignments that are gone
        text = test.read_text(encoding="utf-8")
        assert not any(f in text for f in ("a1_numpy_layers", "a2_numpy_vit")), test
    assert (course / "tests/a4/test_recipes.py").is_file()   # names a3_torch_vit, whose linked files stay


@pytest.mark.parametrize("opts, message", [
    ("course_id=9lives", "course_id: '9lives' is not a valid course id"),
    ("'course_slug=my course'", "course_slug: 'my course' is not a valid folder name"),
    ("assignments=a1,a7", "assignments: unknown assignment 'a7'"),
    ("mnist_thresholds=97,101", "mnist_thresholds: '101' is out of range (must be >= 0 and <= 100)"),
    ("cifar10_budget_s=0", "cifar10_budget_s: '0' is out of range (must be > 0)"),
    ("points=a2=50 assignments=a1", "points: 'a2' is not one of the chosen assignments (a1)"),
    ("dataset=svhn", "dataset: 'svhn' is not one of both, mnist, cifar10"),
    ("colour=red", "unknown option 'colour'"),
])
def test_bad_course_answers_generate_nothing(tmp_path, opts, message):
    proc = make(KIT, "new-course", "NO_INPUT=1", f"DEST={tmp_path}", f"OPTS={opts}")
    assert proc.returncode != 0
    assert message in proc.stderr and "nothing was generated" in proc.stderr, proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_existing_course_folder_is_not_overwritten(a1_course):
    before = tree_digest(a1_course)
    proc = make(KIT, "new-course", "NO_INPUT=1", f"DEST={a1_course.parent}", "OPTS=course_id=cs231x assignments=a1")
    assert proc.returncode != 0 and "already exists" in proc.stderr, proc.stderr
    assert tree_digest(a1_course) == before


def test_a_baked_course_adds_exercises_but_does_not_bake_courses(a1_course):
    assert (a1_course / "template/exercise/cookiecutter.json").is_file()
    proc = make(a1_course, "new-course", "NO_INPUT=1", f"DEST={a1_course.parent}")
    assert proc.returncode != 0 and "bake new courses from the ViT Lab kit itself" in proc.stderr, proc.stderr


def test_cifar_only_cpu_capstone_follows_its_options(bake_root):
    """dataset=cifar10 gpu=no: the CIFAR-10 checkpoint tasks and the CPU thresholds;
    `make datasets` fetches CIFAR-10 only and `make train` takes the CPU recipes; a larger
    budget raises the tasks' time limit; the capstone guide states the course's tasks,
    thresholds and review rules; the capstone's public
    tests, recipe checks and notebook (which exports vit_cifar10) pass in the course."""
    course = bake(bake_root, "cifar-cpu", "assignments=a4", "dataset=cifar10", "gpu=no", "cifar10_budget_s=600",
                  "course_id=cifar_cpu")
    cfg = toml(course / "course.toml")
    assert (cfg["gpu"], cfg["datasets"]) == (False, ["cifar10"])
    kit = toml(KIT / "course.toml")["capstone"]
    want = {n for n, s in kit["checkpoints"].items() if s["dataset"] == "cifar10"}
    assert set(cfg["capstone"]["checkpoints"]) == want
    assert all(s["thresholds"] == [45.0, 50.0, 55.0] and s["budget_s"] == 600
               for s in cfg["capstone"]["checkpoints"].values())                 # the CPU defaults
    assert "retrain" not in cfg["capstone"]
    tasks = {t["id"]: t for t in toml(course / "solutions/a4_capstone/assignment.toml")["tasks"]}
    kit_tasks = {t.id: t for t in KIT_COURSE.assignment("a4").tasks}
    assert sorted(tasks) == sorted(str(s["task"]) for s in kit["checkpoints"].values() if s["dataset"] == "cifar10")
    for name in want:
        tid = str(kit["checkpoints"][name]["task"])
        assert tasks[tid]["timeout_s"] == kit_tasks[tid].timeout_s + 600 - kit["checkpoints"][name]["budget_s"]
    assert "-m vitdata fetch cifar10 " in ok(make(course, "-n", "datasets"))
    assert "configs/vit_cifar10_cpu.toml" in ok(make(course, "-n", "train", "CONFIG=vit_cifar10"))
    release_check(course)
    guide = (course / "assignments/a4_capstone/README.md").read_text(encoding="utf-8")
    assert "checkpoints/vit_mnist/" not in guide and "checkpoints/convit_mnist/" not in guide
    assert "| `vit_cifar10` | 4.3 | 45 %, 50 %, 55 % | 600 s |" in guide
    assert "2,000 random images of the official training set" in " ".join(guide.split()) and "re-training check" in guide
    assert " passed" in ok(make(course, "check", "ASSIGNMENT=a4"))
    py = str(course / ".venv/bin/python")
    assert " passed" in ok(run([py, "-m", "pytest", "-q", "tests/a4/test_recipes.py", "tests/a4/test_a4_notebook.py",
                                "tests/a4/test_bench_train.py::test_make_train_runs_a_recipe"], course))


def test_a1_a3_course_readme_describes_only_its_own_parts(bake_root):
    """The README is written from the course's parts: no other assignment, data set or capstone
    of the kit, no GPU claim without a capstone; the manual's Gradescope rows are the course's."""
    import re

    course = bake(bake_root, "a1-a3", "assignments=a1,a3", "course_id=vit_torch", "course_name='Torch ViT'")
    readme = (course / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# Torch ViT\n\nvit_torch,")
    for gone in (r"\ba2\b", r"\ba4\b", "a2_numpy_vit", "a4_capstone", "(?i)capstone", "CIFAR", "GPU course",
                 "make new-course", r"Task 2\.", r"\| 4\.1 \|"):
        assert not re.search(gone, readme), (gone, readme)
    assert "MNIST (`a3_torch_vit`)" in readme
    for a in ("a1", "a3"):
        for t in KIT_COURSE.assignment(a).tasks:
            assert f"| {t.id} | {t.title} |" in readme
    for link in re.findall(r"\]\(([^)#]+)", readme):
        if not link.startswith("http"):
            assert (course / link).exists(), link
    page = (course / "docs/instructors/gradescope.md").read_text(encoding="utf-8")
    assert re.findall(r"^ *\| (a\d+) \| Ubuntu 22\.04, Base \|", page, re.M) == ["a1", "a3"]
    release_check(course)
