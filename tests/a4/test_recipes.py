"""The capstone's recipes and settings agree with each other and with the issue's budgets.

Every recipe loads through a3's config loader (in a subprocess: the capstone's modules have
plain names that other assignments use too), the recipe set covers both model families on
both datasets for both budgets, and course.toml [capstone] matches assignment.toml and
submit.py. Nothing here trains.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
A4 = ROOT / "solutions" / "a4_capstone"
CONFIGS = A4 / "configs"
BASES = {"base", "mnist", "cifar10"}
RECIPES = sorted(p.stem for p in CONFIGS.glob("*.toml") if p.stem not in BASES)

LOAD_ALL = """
import json, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from config import load_config
from models import build_model, count_params
out = {}
for p in sorted(Path(sys.argv[1], "configs").glob("*.toml")):
    cfg = load_config(p)
    out[p.stem] = {**cfg.to_dict(), "params": count_params(build_model(cfg))}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def recipes() -> dict:
    proc = subprocess.run([sys.executable, "-c", LOAD_ALL, str(A4)], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def course() -> dict:
    return tomllib.loads((ROOT / "course.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def assignment() -> dict:
    return tomllib.loads((A4 / "assignment.toml").read_text(encoding="utf-8"))


def test_every_recipe_loads_and_builds(recipes):
    assert set(RECIPES) <= set(recipes)
    for name in RECIPES:
        assert recipes[name]["params"] > 0, name


def test_recipes_cover_both_families_datasets_and_budgets(recipes):
    for family, models in (("vit", {"vit"}), ("convit", {"convit", "convit_hybrid"})):
        for dataset in ("mnist", "cifar10"):
            for budget in ("gpu", "cpu"):
                name = f"{family}_{dataset}_{budget}"
                assert name in recipes, f"recipe {name}.toml is missing"
                cfg = recipes[name]
                assert cfg["model"] in models and cfg["dataset"] == dataset, name
                assert cfg["out_dir"] == f"runs/{name}", name


@pytest.mark.parametrize("name,limit", [("vit_mnist_gpu", 60), ("convit_mnist_gpu", 60), ("vit_cifar10_gpu", 600),
                                        ("convit_cifar10_gpu", 600), ("vit_mnist_cpu", 300),
                                        ("convit_mnist_cpu", 300), ("vit_cifar10_cpu", 900),
                                        ("convit_cifar10_cpu", 900)])
def test_time_budgets_match_the_goals(recipes, name, limit):
    cfg = recipes[name]
    assert 0 < cfg["time_budget_s"] <= limit, f"{name}: time_budget_s {cfg['time_budget_s']} vs goal {limit} s"
    if name.endswith("_cpu"):
        assert cfg["amp"] == "none", f"{name}: bf16 autocast is for CUDA"
    else:
        assert cfg["amp"] == "bf16" and cfg["device"] == "auto", name


def test_mnist_is_never_flipped(recipes):
    for name, cfg in recipes.items():
        if cfg["dataset"] == "mnist":
            assert not cfg["hflip"], f"{name}: a mirrored digit is another digit"


def test_recipes_stay_gradable_on_a_cpu(recipes, course):
    """Graders evaluate 10,000 images on a CPU and refuse models over [capstone] max_params;
    every reference recipe's model stays well under both."""
    cap = int(course["capstone"]["max_params"])
    for name in RECIPES:
        assert recipes[name]["params"] < min(8_000_000, cap), f"{name}: {recipes[name]['params']:,} parameters"


def test_course_settings_match_tasks(course, assignment):
    cap = course["capstone"]
    tasks = {t["id"]: t for t in assignment["tasks"]}
    named = [spec["task"] for spec in cap["checkpoints"].values()]
    assert sorted(named) == sorted(tasks), "every capstone task is graded by exactly one [capstone] entry"
    assert "retrain" not in cap, "the capstone grades checkpoints only"
    for name, spec in cap["checkpoints"].items():
        t = tasks[spec["task"]]
        assert name in t["title"], f"task {t['id']} title should name checkpoints/{name}"
        assert spec["thresholds"] == sorted(spec["thresholds"]) and all(0 < x <= 100 for x in spec["thresholds"])
        # the engine's hard limit covers sandbox start-up plus the evaluation budget
        assert t["timeout_s"] >= spec["budget_s"] + 45, name
    assert assignment.get("isolate_given") is False


def test_submit_knows_the_graded_checkpoints(course):
    src = (A4 / "submit.py").read_text(encoding="utf-8")
    table = src.split("CHECKPOINTS = {", 1)[1].split("}", 1)[0]
    for name, spec in course["capstone"]["checkpoints"].items():
        line = next(l for l in table.splitlines() if f'"{name}"' in l)
        assert f'"{spec["dataset"]}"' in line and all(f'"{m}"' in line for m in spec["models"]), line


def test_a3_code_is_shipped_by_symlink():
    for name in ("config.py", "models.py", "modules.py", "convit.py", "optim.py", "train.py", "checkpoint.py",
                 "augment.py", "attention_viz.py", "runlog.py", "atomic_io.py"):
        p = A4 / name
        assert p.is_symlink() and p.resolve().is_file(), f"{name} should link to ../a3_torch_vit/{name}"
    assert (A4 / "vitdata").is_symlink() and (A4 / "vitdata" / "__init__.py").is_file()
