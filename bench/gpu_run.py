"""The capstone's device run in one command: train the GPU recipes of the checkpoints the
course grades (four in the kit) at the same time, export their checkpoints, grade them, and
write every result into one folder.

    make datasets MIRROR=.carry && make bench-gpu [OUT=dir]    # on the GPU machine (~9 min)
    make bench-gpu DRY=1 [OUT=dir]                              # the same code path on a CPU, seconds

Steps, the same in both modes:
  1. data: the cached MNIST and CIFAR-10 (vitdata; `make datasets` fills the cache). --dry writes
     small "motif" data sets into OUT/data as a vitdata cache instead, so the runs train on
     real (not synthetic) data and `submit.py export` accepts them as it would a student's.
  2. train: the GPU recipes as one process each on the one device at the same time (train.py,
     data on the device as uint8, batched augmentation incl. RandAugment/CutMix, bf16 and
     torch.compile on CUDA). RUN_SETTINGS shortens the CIFAR-10 runs so the whole call fits
     in ~9 minutes; --dry shrinks the models to seconds on the CPU.
  3. export: `submit.py export` per run into OUT/subs/reference/checkpoints/<name>/.
  4. grade: the grading engine, as `make grade ASSIGNMENT=a4` runs it (sandboxed; a4's
     assignment.toml has gpu = true, so the sandbox binds /dev/nvidia* when CUDA exists),
     with the course's own thresholds; --dry grades against a test course in OUT/course
     whose test sets are the motif arrays (as tests/a4 does).
  5. record: OUT/gpu_run.json (per recipe: accuracy over time, images/s, peak memory, wall
     time, grade) and a printed table.

The prepared device call (a GPU machine with its own python3 and torch but no kit venv and
perhaps no bubblewrap; only a few files come back from its $OUT). Here, once:
`cp -r <shared datasets folder> .carry` (.carry/ is git-ignored; carry it). There:

    make datasets MIRROR=.carry PY=python3 STAMP= && make bench-gpu PY=python3 STAMP= \
      OUT=/tmp/gpu-run ARGS="$(command -v bwrap >/dev/null || echo --unsafe-no-sandbox)"; rc=$?
    cp /tmp/gpu-run/gpu_run.json $OUT/; tar czf $OUT/gpu-run.tgz --exclude='*.safetensors' -C /tmp gpu-run
    exit $rc

Four recipes share one GPU, so each reaches less than it would alone in the same time: the
accuracies are a lower bound on each recipe's own. Any failure exits non-zero with the step
and the log that says why.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
A4 = ROOT / "solutions" / "a4_capstone"
sys.path[:0] = [str(ROOT), str(ROOT / "datasets")]


def course_checkpoints() -> dict:
    """course.toml's [capstone.checkpoints]: a course may hold only some of the kit's four."""
    with open(ROOT / "course.toml", "rb") as f:
        return tomllib.load(f).get("capstone", {}).get("checkpoints", {})


CHECKPOINTS = course_checkpoints()
# recipe -> graded checkpoint name, for the checkpoints the course grades
RECIPES = {r: n for r, n in {"vit_mnist_gpu": "vit_mnist", "convit_mnist_gpu": "convit_mnist",
                             "vit_cifar10_gpu": "vit_cifar10", "convit_cifar10_gpu": "convit_cifar10"}.items()
           if n in CHECKPOINTS}
# The device run: MNIST recipes as they are (60 s budgets); CIFAR-10 recipes cut to fit the
# call. bench/recipe_flops.py estimates ~0.4 s per CIFAR-10 epoch alone on an H200 (25 % of
# peak); sharing the GPU with the other CIFAR-10 run, and allowing 2x for elementwise work,
# ~1.5 s: 120 epochs finish their schedule in ~180 s, inside the 300 s budget. The call:
# ~20 s start-up + 300 s + final evaluation, export ~10 s, grading ~60 s: ~7 minutes.
RUN_SETTINGS = {"vit_cifar10_gpu": ["epochs=120", "time_budget_s=300.0", "eval_every=10"],
                "convit_cifar10_gpu": ["epochs=120", "time_budget_s=300.0", "eval_every=10"]}
DRY_SETTINGS = ["embed_dim=32", "depth=2", "num_heads=4", "local_layers=1", "stem_channels=8", "batch_size=50",
                "epochs=2", "time_budget_s=4.0", "eval_every=1", "eval_batch_size=200", "device='cpu'",
                "compile=false", "threads=1", "warmup_epochs=0.5", "lr=3e-3", "progress=false"]
DRY_SHAPE = {"mnist": (1, 28, 28, 4), "cifar10": (3, 32, 32, 4)}          # C, H, W, motif = patch size
# Seconds of training on a shared CPU learn little: the dry run checks that every checkpoint is
# loaded, evaluated and scored, not what it reaches (threshold 0 passes any loaded model).
DRY_THRESHOLDS = [0.0]
GRADE_TIMEOUT_S = 400


class RunFailed(RuntimeError):
    """A step of the run failed; the message names the step and where its log is."""


def parse(argv):
    p = argparse.ArgumentParser(prog="bench/gpu_run.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--dry", action="store_true", help="CPU, motif data, tiny models: seconds")
    p.add_argument("--out", type=Path, help="output folder (default build/gpu-run-<UTC time>)")
    p.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="grade without bubblewrap (a machine that has none, e.g. a gVisor GPU host); recorded")
    return p.parse_args(argv)


def log(msg: str) -> None:
    print(f"[gpu_run {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---- 1. data -------------------------------------------------------------------------------
def motif(dataset: str, n: int, seed: int):
    """Easy images uint8 (n, C, H, W) + labels: each class a fixed binary motif tiled, plus noise."""
    import numpy as np
    c, h, w, p = DRY_SHAPE[dataset]
    templates = np.random.default_rng(123).integers(0, 2, (10, c, p, p)) * 160
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 10)
    x = np.tile(templates[y], (1, 1, h // p, w // p)) + rng.integers(0, 80, (n, c, h, w))
    return x.clip(0, 255).astype(np.uint8), y.astype(np.int64)


def write_dry_data(out: Path) -> Path:
    """OUT/data as a vitdata cache of motif data, and OUT/course/data as the graders' test arrays."""
    import numpy as np
    from vitdata import cache
    root, course_data = out / "data", out / "course" / "data"
    course_data.mkdir(parents=True, exist_ok=True)
    for dataset in DRY_SHAPE:
        train, test = motif(dataset, 600, 0), motif(dataset, 200, 1)
        meta = {"display_name": f"{dataset} motif data (gpu_run --dry)", "source": "bench/gpu_run.py",
                "source_kind": "generated", "official": False, "counts": {"train": 600, "test": 200}}
        cache.write(dataset, {"train": train, "test": test}, meta, root)
        np.savez(course_data / f"{dataset}_train.npz", x=train[0], y=train[1])
        np.savez(course_data / f"{dataset}_test.npz", x=test[0], y=test[1])
    return root


def preflight(unsandboxed: bool) -> dict:
    """What grading needs, checked before minutes of training: the sandbox, and the device nodes
    a4's gpu = true binds into it (recorded; none on a CPU)."""
    from autograder.engine.sandbox import bwrap_path, gpu_devices
    if bwrap_path() is None and not unsandboxed:
        raise RunFailed("grade: bubblewrap (bwrap) is not installed; make setup installs it "
                        "(or grade unsandboxed, recorded as such: --unsafe-no-sandbox)")
    return {"bwrap": None if unsandboxed else bwrap_path(), "gpu_devices": list(gpu_devices())}


def check_real_data() -> None:
    import vitdata
    for dataset in sorted({name.split("_")[1] for name in RECIPES.values()}):
        try:
            vitdata.info(dataset)
        except vitdata.DatasetMissingError as e:
            raise RunFailed(f"data: {e}; run `make datasets MIRROR=.carry` first") from None


# ---- 2. train --------------------------------------------------------------------------------
def train_all(out: Path, dry: bool, data_root: Path | None) -> dict[str, dict]:
    """Start the recipes as processes at once, wait for all, return their metrics.json."""
    (out / "logs").mkdir(parents=True, exist_ok=True)
    procs = {}
    for recipe in RECIPES:
        sets = [f"out_dir='{out / 'runs' / recipe}'", *RUN_SETTINGS.get(recipe, [])]
        if dry:
            sets += [*DRY_SETTINGS, f"data_root='{data_root}'"]
        cmd = [sys.executable, str(A4 / "train.py"), "--config", str(A4 / "configs" / f"{recipe}.toml")]
        for kv in sets:
            cmd += ["--set", kv]
        logf = open(out / "logs" / f"{recipe}.log", "w", encoding="utf-8")
        logf.write(" ".join(cmd) + "\n")
        logf.flush()
        procs[recipe] = (subprocess.Popen(cmd, cwd=ROOT, stdout=logf, stderr=subprocess.STDOUT), logf, time.perf_counter())
        log(f"started {recipe} (pid {procs[recipe][0].pid})")
    metrics, failed = {}, []
    for recipe, (proc, logf, t0) in procs.items():
        rc = proc.wait()
        logf.close()
        wall = time.perf_counter() - t0
        log(f"{recipe} finished: exit {rc}, {wall:.1f} s")
        if rc != 0:
            failed.append(f"{recipe} (exit {rc}; see {out / 'logs' / (recipe + '.log')})")
            continue
        m = json.loads((out / "runs" / recipe / "metrics.json").read_text(encoding="utf-8"))
        metrics[recipe] = {**m, "process_wall_s": wall}
    if failed:
        raise RunFailed("train: " + "; ".join(failed) + "\n" + tail(out / "logs" / f"{failed[0].split()[0]}.log"))
    return metrics


def tail(path: Path, n: int = 3000) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-n:] if path.is_file() else ""


# ---- 3. export -------------------------------------------------------------------------------
def export_all(out: Path) -> Path:
    """The capstone folder as a student hands it in, plus `submit.py export` of each run."""
    sub = out / "subs" / "reference"
    shutil.copytree(A4, sub, symlinks=False,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "runs", "checkpoints", ".ipynb_checkpoints"))
    # submit.py's own command line (main), once per checkpoint, in one process: torch loads once
    calls = [["export", str(out / "runs" / recipe), name, "--dest", str(sub / "checkpoints")]
             for recipe, name in RECIPES.items()]
    code = ("import sys, json; sys.path.insert(0, sys.argv[1]); import submit\n"
            "for argv in json.loads(sys.argv[2]):\n"
            "    rc = submit.main(argv)\n"
            "    if rc: sys.exit(f'submit.py {\" \".join(argv)}: exit {rc}')\n")
    proc = subprocess.run([sys.executable, "-c", code, str(A4), json.dumps(calls)], cwd=ROOT,
                          capture_output=True, text=True)
    (out / "logs" / "export.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        raise RunFailed(f"export: exit {proc.returncode}: {proc.stderr.strip()[-1500:]}")
    return out / "subs"


# ---- 4. grade --------------------------------------------------------------------------------
def write_dry_course(out: Path) -> Path:
    """OUT/course: the real course.toml with a4 only and a [capstone] on the motif test arrays."""
    course = out / "course"
    folder = course / "solutions" / "a4_capstone"
    folder.mkdir(parents=True, exist_ok=True)
    for entry in A4.iterdir():
        if not (folder / entry.name).exists():
            (folder / entry.name).symlink_to(entry)
    head = (ROOT / "course.toml").read_text(encoding="utf-8").split("\n[capstone]")[0]
    head = "\n".join('assignments = ["a4_capstone"]' if line.startswith("assignments") else line
                     for line in head.splitlines())
    cap = ['[capstone]', 'checkpoint_dir = "checkpoints"', 'eval_batch_size = 100', 'eval_threads = 1',
           'testset_dir = "data"', 'max_params = 10_000_000',
           # motif arrays have no training split to draw from: the dry run checks the pipeline, not generalisation
           'holdout_train_images = 0', 'holdout_shifted_images = 0']
    for recipe, name in RECIPES.items():
        dataset = name.split("_")[1]
        models = '["vit"]' if name.startswith("vit") else '["convit", "convit_hybrid"]'
        task = str(CHECKPOINTS[name]["task"])
        cap += ["", f"[capstone.checkpoints.{name}]", f'task = "{task}"', f'dataset = "{dataset}"',
                f"models = {models}", f"thresholds = {DRY_THRESHOLDS}", "budget_s = 60"]
    (course / "course.toml").write_text(head + "\n" + "\n".join(cap) + "\n", encoding="utf-8")
    return course


def grade(out: Path, subs: Path, course: Path | None, unsandboxed: bool = False) -> dict:
    """`make grade ASSIGNMENT=a4`'s command on OUT/subs; returns the reference's tasks."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    cmd = [sys.executable, "-m", "autograder", "grade", "-q", "-a", "a4", "-s", str(subs), "-o", str(out / "grade"),
           "-j", "1"] + (["--course-root", str(course)] if course else []) + (["--unsafe-no-sandbox"] if unsandboxed else [])
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=GRADE_TIMEOUT_S)
    (out / "logs" / "grade.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        raise RunFailed(f"grade: exit {proc.returncode}: {(proc.stdout + proc.stderr)[-2000:]}")
    found = list((out / "grade").rglob("results.json"))
    ref = [p for p in found if "reference" in p.parts]
    if not ref:
        raise RunFailed(f"grade: no results.json for the reference under {out / 'grade'}")
    res = json.loads(ref[0].read_text(encoding="utf-8"))
    tasks = {}
    for t in res.get("tests", []):
        tasks[t.get("name", "?")] = {"score": t.get("score"), "max_score": t.get("max_score"),
                                     "status": t.get("status"), "output": (t.get("output") or "")[:300]}
    return {"score": res.get("score"), "tasks": tasks}


# ---- 5. record -------------------------------------------------------------------------------
def summarise(metrics: dict, cuda: bool) -> dict:
    rows = {}
    for recipe, m in metrics.items():
        hist = m.get("history", [])
        if not hist:
            hist = json.loads(Path(m["checkpoint"]).with_name("metrics.json").read_text()).get("history", [])
        rows[recipe] = {
            "model": m["model"], "dataset": m["dataset"], "params": m["params"], "epochs_run": m["epochs_run"],
            "epochs_planned": m["config"]["epochs"], "stopped_early": m.get("stopped_early"),
            "test_acc": m["test_acc"], "best_test_acc": m["best_test_acc"],
            "accuracy_over_time": [{"epoch": r["epoch"], "wall_s": round(r["wall_s"], 2), "test_acc": r["test_acc"]}
                                   for r in hist if r.get("test_acc") is not None],
            "images_per_s": m["train_images_per_s"], "peak_memory_mb": m.get("peak_memory_mb"),
            "peak_memory_kind": "torch.cuda.max_memory_allocated" if cuda else "ru_maxrss",
            "train_s": m["train_s"], "wall_s": m["wall_s"], "process_wall_s": m["process_wall_s"]}
    return rows


def print_table(rows: dict, graded: dict) -> None:
    head = (f"{'recipe':20s} {'epochs':>7s} {'test %':>7s} {'best %':>7s} {'img/s':>9s} {'peak MB':>8s} "
            f"{'train s':>8s} {'wall s':>7s}  grade")
    print(head)
    print("-" * len(head))
    tasks = list(graded["tasks"].items())
    for i, (recipe, r) in enumerate(rows.items()):
        g = next((f"{t['score']}/{t['max_score']} {t['status']}" for n, t in tasks if n.startswith(f"Task 4.{i + 1}:")), "?")
        print(f"{recipe:20s} {r['epochs_run']:>3d}/{r['epochs_planned']:<3d} {100 * r['test_acc']:>7.2f} "
              f"{100 * r['best_test_acc']:>7.2f} {r['images_per_s']:>9.0f} {r['peak_memory_mb'] or 0:>8.0f} "
              f"{r['train_s']:>8.1f} {r['wall_s']:>7.1f}  {g}")
    print("(the recipes shared one device: each accuracy is a lower bound on the recipe's own)")


def run(args) -> dict:
    import torch
    from vitlab.bench import hardware
    from vitlab.io import atomic_write_json
    cuda = torch.cuda.is_available()
    if not args.dry and not cuda:
        raise RunFailed("no CUDA device here: the device run needs one (make bench-gpu DRY=1 runs it on the CPU)")
    out = (args.out or ROOT / "build" / f"gpu-run-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}").resolve()
    if out.exists() and any(out.iterdir()):
        raise RunFailed(f"{out}: not empty; name a new folder with OUT=")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    log(f"{'dry run (CPU, motif data)' if args.dry else 'device run'}; results in {out}")
    sandbox = preflight(args.unsafe_no_sandbox)
    data_root = write_dry_data(out) if args.dry else None
    if not args.dry:
        check_real_data()
    metrics = train_all(out, args.dry, data_root)
    subs = export_all(out)
    log("exported; grading")
    graded = grade(out, subs, write_dry_course(out) if args.dry else None, args.unsafe_no_sandbox)
    rows = summarise(metrics, cuda)
    result = {"mode": "dry" if args.dry else "device", "cuda": cuda, "sandbox": sandbox,
              "hardware": hardware(), "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "settings": {"run": RUN_SETTINGS, "dry": DRY_SETTINGS if args.dry else None},
              "recipes": rows, "grade": graded, "total_wall_s": round(time.perf_counter() - t0, 1),
              "note": "the recipes shared one device: each accuracy is a lower bound on the recipe's own"}
    atomic_write_json(out / "gpu_run.json", result)
    print()
    print_table(rows, graded)
    bad = [n for n, t in graded["tasks"].items() if t["status"] not in ("passed", "failed")]
    if bad:
        raise RunFailed(f"grade: tasks ended in error: {', '.join(bad)} (see {out / 'grade'})")
    if len(graded["tasks"]) != len(RECIPES):
        raise RunFailed(f"grade: {len(graded['tasks'])} tasks graded, expected {len(RECIPES)}: {list(graded['tasks'])}")
    if args.dry and not all(t["status"] == "passed" for t in graded["tasks"].values()):
        raise RunFailed(f"grade: a dry-run checkpoint did not load or evaluate: {graded['tasks']}")
    log(f"done in {result['total_wall_s']} s: {out / 'gpu_run.json'}")
    return result


def main(argv=None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        run(args)
    except RunFailed as e:
        print(f"gpu_run: FAILED: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
