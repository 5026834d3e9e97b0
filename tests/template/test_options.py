"""The template's answer parsing and checks, run in-process against the kit (fast)."""
import tomllib

import pytest

from template.options import TemplateError, mapping, number, parse_extra, words, yes
from template.plan import course_plan, needed_sources
from template.points import scale
from template.tomltext import set_points

from .conftest import KIT

DEFAULTS = {"course_name": "ViT Lab", "course_id": "vitlab", "course_slug": "vitlab", "term": "2026",
            "instructor": "Staff", "assignments": "a1,a2,a3,a4", "points": "", "task_points": "",
            "dataset": "both", "gpu": True, "mnist_thresholds": "97,98,99", "mnist_budget_s": "120",
            "cifar10_thresholds": "70,80,87", "cifar10_budget_s": "300"}


def plan(**changes):
    return course_plan({**DEFAULTS, **changes}, KIT)


def test_words_mapping_and_numbers():
    assert words(" a1, a2 a3,,") == ["a1", "a2", "a3"]
    assert mapping("points", "a1=100, 1.2=5") == {"a1": "100", "1.2": "5"}
    assert number("x", "12.5", low=0, high=100) == 12.5
    assert yes("gpu", "no") is False and yes("gpu", True) is True
    assert parse_extra(["course_name=Deep Vision 101", "term="]) == {"course_name": "Deep Vision 101", "term": ""}


@pytest.mark.parametrize("call, message", [
    (lambda: mapping("points", "a1"), "'a1' is not of the form key=value"),
    (lambda: mapping("points", "a1=1,a1=2"), "'a1' is given twice"),
    (lambda: number("threshold", "101", low=0, high=100), "threshold: '101' is out of range (must be >= 0 and <= 100)"),
    (lambda: number("budget", "0", low=0, low_open=True), "budget: '0' is out of range (must be > 0)"),
    (lambda: number("budget", "nan"), "'nan' is not a finite number"),
    (lambda: number("points", "ten"), "points: 'ten' is not a number"),
    (lambda: yes("gpu", "maybe"), "gpu: 'maybe' is not yes or no"),
    (lambda: parse_extra(["course-id=x"]), "'course-id=x' is not of the form name=value"),
])
def test_bad_values_are_named(call, message):
    with pytest.raises(TemplateError, match=None) as e:
        call()
    assert message in str(e.value)


def test_scale_keeps_the_total_exact():
    assert scale({"1.1": 10, "1.2": 30}, 100) == {"1.1": 25, "1.2": 75}
    got = scale({"a": 8, "b": 12, "c": 12, "d": 0}, 50)
    assert sum(got.values()) == 50 and got["d"] == 0 and all(float(v).is_integer() for v in got.values())
    assert scale({"a": 1, "b": 2}, 7.5) == {"a": 2.5, "b": 5.0}


def test_set_points_edits_one_task_and_keeps_comments():
    text = ('id = "a9"\n# keep me\n\n[[tasks]]\nid = "9.1"\npoints = 3  # why\n\n'
            '[[tasks]]\ntitle = "id after points"\npoints = 4\nid = "9.2"\n')
    out = set_points(set_points(text, "9.1", 7), "9.2", 2.5)
    assert "# keep me" in out and "points = 7  # why" in out
    assert [t["points"] for t in tomllib.loads(out)["tasks"]] == [7, 2.5]
    with pytest.raises(TemplateError, match="task 9.3 has no `points = ...` line"):
        set_points(text, "9.3", 1)


def test_default_plan_takes_every_assignment_in_order():
    p = plan(assignments="a4, a1 2 a3_torch_vit")
    assert p.folders == ["a1_numpy_layers", "a2_numpy_vit", "a3_torch_vit", "a4_capstone"]
    assert p.kept == {} and p.dropped == []


FAKE_TOML = """name = "Fake"
id = "fake"
assignments = ["a1_one", "a4_capstone"]

# The capstone's checkpoints.
[capstone]
checkpoint_dir = "checkpoints"

[capstone.checkpoints.vit_mnist]
task = "4.1"
dataset = "mnist"
thresholds = [90.0]
budget_s = 10

[capstone.checkpoints.vit_cifar10]   # goes with dataset=mnist
task = "4.2"
dataset = "cifar10"
thresholds = [50.0]
budget_s = 10
"""


def _tasks(*specs):
    return "".join(f'\n[[tasks]]\nid = "{i}"\ntitle = "T{i}"\npoints = {p}\n' for i, p in specs)


@pytest.fixture
def fake_kit(tmp_path):
    """A two-assignment kit whose capstone has one checkpoint per dataset."""
    (tmp_path / "course.toml").write_text(FAKE_TOML)
    for folder, aid, tasks in (("a1_one", "a1", [("1.1", 4), ("1.2", 6)]),
                               ("a4_capstone", "a4", [("4.1", 10), ("4.2", 10), ("4.3", 5)])):
        (tmp_path / "solutions" / folder / "tests").mkdir(parents=True)
        (tmp_path / "solutions" / folder / "assignment.toml").write_text(f'id = "{aid}"\n' + _tasks(*tasks))
    (tmp_path / "solutions/a4_capstone/tests/test_a4.py").write_text("import pytest\npytestmark = pytest.mark.task4_1\n")
    return tmp_path


def fake_plan(kit, **changes):
    return course_plan({**DEFAULTS, "assignments": "a1,a4", **changes}, kit)


def test_dataset_choice_drops_the_other_datasets_checkpoint_tasks(fake_kit):
    p = fake_plan(fake_kit, dataset="mnist", points="a4=30")
    assert p.dropped_tasks == {"4.2": "vit_cifar10"}
    assert p.capstone == {"mnist": ([97.0, 98.0, 99.0], 120.0)}
    assert any("drops task(s) 4.2 (vit_cifar10)" in n for n in p.notes)
    assert fake_plan(fake_kit, dataset="cifar10", assignments="a1").dropped_tasks == {}   # no capstone: nothing to drop
    with pytest.raises(TemplateError, match=r"task_points: task 4.2 \(vit_cifar10\) is not in a course with dataset=mnist"):
        fake_plan(fake_kit, dataset="mnist", task_points="4.2=3")


def test_a_public_test_naming_a_dropped_task_refuses_the_dataset(fake_kit):
    (fake_kit / "solutions/a4_capstone/tests/test_a4.py").write_text("MARKS = ['task4_1', 'task4_2']\n")
    with pytest.raises(TemplateError) as e:
        fake_plan(fake_kit, dataset="mnist")
    assert ("dataset: 'mnist' drops task 4.2 (vit_cifar10) from the capstone, but "
            "solutions/a4_capstone/tests/test_a4.py:1 names its marker task4_2") in str(e.value)
    assert fake_plan(fake_kit, dataset="both").dropped_tasks == {}


def test_drop_tasks_removes_whole_entries_and_keeps_the_rest():
    from template.tomltext import drop_tasks

    text = 'id = "a4"\n# about the tasks\n' + _tasks(("4.1", 10), ("4.2", 10), ("4.3", 5))
    out = drop_tasks(text, {"4.2"})
    assert "# about the tasks" in out and "T4.2" not in out
    assert [t["id"] for t in tomllib.loads(out)["tasks"]] == ["4.1", "4.3"]


def test_capstone_tables_are_the_kits_with_new_values():
    from template.capstone import course_tables

    text = (KIT / "course.toml").read_text(encoding="utf-8")
    out = tomllib.loads(course_tables(text, ["a4_capstone"], {"cifar10": ([60.0, 75.0], 200.0)}))["capstone"]
    assert "goes with dataset=mnist" not in course_tables(FAKE_TOML, ["a4_capstone"], {"mnist": ([1.0], 1.0)})
    kit = tomllib.loads(text)["capstone"]
    assert set(out["checkpoints"]) == {n for n, s in kit["checkpoints"].items() if s["dataset"] == "cifar10"}
    assert all(s["thresholds"] == [60.0, 75.0] and s["budget_s"] == 200 for s in out["checkpoints"].values())
    assert "retrain" not in out                                    # the capstone grades checkpoints only
    without = course_tables(text, ["a1_numpy_layers"], {})        # no capstone: no tables, no comments
    assert "capstone" not in without.lower()


def test_later_assignments_keep_the_earlier_files_they_link_to():
    assert needed_sources(KIT, ["a2_numpy_vit"])["a1_numpy_layers"] == ["conv.py", "gradcheck.py", "layers.py"]
    assert "a1_numpy_layers" not in needed_sources(KIT, ["a1_numpy_layers", "a2_numpy_vit"])
    kept = plan(assignments="a4").kept["a3_torch_vit"]
    assert {"modules.py", "train.py", "atomic_io.py", "vitdata"} <= set(kept)   # vitdata: train.py runs from a3
    assert any("a3_torch_vit" in n and "given code" in n for n in plan(assignments="a4").notes)


@pytest.mark.parametrize("changes, message", [
    ({"course_id": "9lives"}, "course_id: '9lives' is not a valid course id"),
    ({"course_id": "CS231"}, "course_id: 'CS231' is not a valid course id"),
    ({"course_slug": "my course"}, "course_slug: 'my course' is not a valid folder name"),
    ({"assignments": "a1,a7"}, "assignments: unknown assignment 'a7'"),
    ({"assignments": "a1,1"}, "assignments: an assignment is named twice"),
    ({"assignments": " "}, "assignments: choose at least one"),
    ({"cifar10_thresholds": "70,100.5"}, "cifar10_thresholds: '100.5' is out of range (must be >= 0 and <= 100)"),
    ({"mnist_thresholds": "-1"}, "mnist_thresholds: '-1' is out of range"),
    ({"mnist_thresholds": "97,97"}, "mnist_thresholds: '97,97' repeats a threshold"),
    ({"mnist_thresholds": ""}, "mnist_thresholds: give at least one accuracy threshold"),
    ({"mnist_budget_s": "0"}, "mnist_budget_s: '0' is out of range (must be > 0)"),
    ({"dataset": "svhn"}, "dataset: 'svhn' is not one of both, mnist, cifar10"),
    ({"assignments": "a1", "points": "a2=10"}, "points: 'a2' is not one of the chosen assignments (a1)"),
    ({"points": "0"}, "points: '0' is out of range"),
    ({"assignments": "a1", "task_points": "3.1=4"}, "task_points: '3.1' is not a task of the chosen assignments"),
    ({"instructor": " "}, "instructor: must not be empty"),
])
def test_bad_course_answers_are_refused(changes, message):
    with pytest.raises(TemplateError) as e:
        plan(**changes)
    assert message in str(e.value)


def test_unwanted_keeps_only_the_linked_files_of_a_dropped_assignment():
    from template.bake import unwanted
    from template.plan import CoursePlan

    plan = CoursePlan(KIT, ["a2_numpy_vit"], dropped=["a1_numpy_layers", "a3_torch_vit"],
                      kept={"a1_numpy_layers": ["layers.py", "data"]})
    keep = ["solutions/a1_numpy_layers", "solutions/a1_numpy_layers/layers.py", "solutions/a1_numpy_layers/data/x.npy",
            "solutions/a2_numpy_vit/models.py", "autograder/graders/a2_numpy_vit/test_x.py", "vitlab/course.py"]
    drop = ["solutions/a1_numpy_layers/conv.py", "solutions/a1_numpy_layers/tests/test_x.py",
            "autograder/graders/a1_numpy_layers/test_x.py", "examples/submissions/a3_torch_vit/r/recipe.toml",
            "solutions/a3_torch_vit", ".venv", "vitlab/__pycache__", "grading/x", "datasets/data/mnist",
            "course.toml", "solutions/a2_numpy_vit/runs/log.csv", "tests/template/test_x.py"]
    assert [p for p in keep if unwanted(p, plan)] == []
    assert [p for p in drop if not unwanted(p, plan)] == []


def test_course_datasets_add_what_the_assignments_train_on():
    assert plan(assignments="a1", dataset="cifar10").uses == ("cifar10",)
    assert plan(assignments="a4", dataset="mnist").uses == ("mnist",)
    p = plan(assignments="a1,a2,a4", dataset="cifar10")
    assert p.uses == ("mnist", "cifar10") and p.datasets == ("cifar10",)
    assert any("also lists MNIST, which a2_numpy_vit train on" in n for n in p.notes), p.notes


def test_a_larger_evaluation_budget_raises_the_tasks_time_limit():
    from template.capstone import checkpoint_timeouts
    from vitlab.course import load_course

    course = load_course(KIT)
    a4 = {t.id: t.timeout_s for t in course.assignment("a4").tasks}
    kit = {"mnist": ([97.0], 120.0), "cifar10": ([70.0], 300.0)}
    assert checkpoint_timeouts(course, kit) == {}
    assert checkpoint_timeouts(course, {"mnist": ([97.0], 10.0)}) == {}        # a smaller budget keeps the limit
    got = checkpoint_timeouts(course, {"cifar10": ([70.0], 600.0)})
    assert got == {"4.3": a4["4.3"] + 300, "4.4": a4["4.4"] + 300}
