"""Put trained checkpoints where the graders look for them, and check them before submitting.

    python submit.py export runs/vit_mnist_gpu vit_mnist    # -> checkpoints/vit_mnist/
    python submit.py check                                  # what the graders will find
    python submit.py check --evaluate                       # + accuracy on your local test set

A submission is this folder: your code (config.py, models.py, ... as you trained with them)
plus one folder per graded checkpoint:

    checkpoints/<name>/checkpoint.safetensors    the weights (safetensors only; < 64 MB)
    checkpoints/<name>/config.json               the Config they were trained with
    checkpoints/<name>/provenance.json           how the run was trained (written by export)

The graders build the course's own ViT / ConViT from config.json (none of your code runs
there), load the weights strictly and evaluate them on the full official test set. A pickle
or torch.save file is never loaded. `export` refuses a run trained on synthetic data.
"""
from __future__ import annotations

import argparse
import platform
import re
import shutil
import sys
import time
import tomllib
from pathlib import Path

from atomic_io import atomic_path, atomic_write_json
from checkpoint import CheckpointError, load_checkpoint
from config import ConfigError

# name -> (dataset, accepted models); the task ids are in assignment.toml.
CHECKPOINTS = {
    "vit_mnist": ("mnist", ("vit",)),
    "convit_mnist": ("mnist", ("convit", "convit_hybrid")),
    "vit_cifar10": ("cifar10", ("vit",)),
    "convit_cifar10": ("cifar10", ("convit", "convit_hybrid")),
}
MAX_BYTES = 64 << 20          # larger files are dropped when a submission is collected


def graded_names() -> list[str]:
    """The checkpoints this course grades: those named in assignment.toml's task titles
    ("... (checkpoints/<name>)"), or all of CHECKPOINTS when there is no assignment.toml."""
    path = Path(__file__).resolve().with_name("assignment.toml")
    if not path.is_file():
        return list(CHECKPOINTS)
    titles = [t.get("title", "") for t in tomllib.loads(path.read_text(encoding="utf-8")).get("tasks", [])]
    found = {m.group(1) for t in titles if (m := re.search(r"\(checkpoints/(\w+)\)", t))}
    return [name for name in CHECKPOINTS if name in found]


class SubmitError(ValueError):
    """A run cannot be exported as the named checkpoint; the message says why."""


def check_run(ckpt: Path, name: str):
    """Load `ckpt` with config.json beside it into a freshly built model (your code) and check
    that it suits checkpoint `name`. Returns (model, cfg); raises SubmitError naming the problem."""
    if name not in CHECKPOINTS:
        raise SubmitError(f"unknown checkpoint name {name!r} (this course grades: {', '.join(graded_names())})")
    dataset, models = CHECKPOINTS[name]
    try:
        model, cfg = load_checkpoint(ckpt)
    except (CheckpointError, ConfigError) as e:
        raise SubmitError(str(e)) from None
    if cfg.dataset != dataset:
        raise SubmitError(f"{ckpt}: trained on {cfg.dataset!r}, but {name!r} must be a {dataset!r} checkpoint")
    if cfg.model not in models:
        raise SubmitError(f"{ckpt}: model {cfg.model!r}, but {name!r} must be one of {', '.join(models)}")
    if ckpt.stat().st_size > MAX_BYTES:
        raise SubmitError(f"{ckpt}: {ckpt.stat().st_size / 2**20:.0f} MB; checkpoints over "
                          f"{MAX_BYTES >> 20} MB are not collected. Train a smaller model.")
    return model, cfg


def provenance(src: Path, cfg) -> dict:
    """How the run that wrote `src` was trained, from its metrics.json (train.py writes it
    beside the checkpoint): data (real or synthetic, and which copy), recipe, epochs, wall
    time, device and the accuracy the run measured last. SubmitError when there is none."""
    import json

    metrics_path = src.with_name("metrics.json")
    if not metrics_path.is_file():
        raise SubmitError(f"{src}: no metrics.json beside it; export the out_dir of a train.py run "
                          "(it records how the checkpoint was trained)")
    try:
        m = json.loads(metrics_path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise SubmitError(f"{metrics_path}: not valid JSON ({e})") from None
    from config import Config
    defaults = Config().to_dict()
    recipe = {k: v for k, v in cfg.to_dict().items() if defaults.get(k) != v and k not in ("out_dir", "progress")}
    # "real" only for the data set vitdata loaded; arrays a script passed to train() may be anything
    source = m.get("data_source", "vitdata")
    data = "synthetic" if cfg.synthetic else ("real" if source == "vitdata" else str(source)[:80])
    copy = _data_copy(cfg) if data in ("real", "synthetic") else f"{data} (not loaded by vitdata)"
    return {"format": 1, "data": data, "dataset": cfg.dataset,
            "data_copy": copy, "recipe": Path(cfg.out_dir).name, "recipe_settings": recipe,
            "epochs": m.get("epochs_run"), "epochs_planned": cfg.epochs, "wall_s": m.get("wall_s"),
            "train_s": m.get("train_s"), "device": m.get("device"), "params": m.get("params"),
            "train_acc": m.get("train_acc"), "test_acc": m.get("test_acc"),
            "torch": _torch_version(), "python": platform.python_version(),
            "exported": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def _data_copy(cfg) -> str:
    """Which copy of the data the run used, e.g. "CIFAR-10 (JPEG copy)" (vitdata's cache record)."""
    if cfg.synthetic:
        return f"vitdata.synthetic({cfg.dataset!r})"
    try:
        import vitdata
        info = vitdata.info(cfg.dataset, cfg.data_root or None)
    except Exception as e:  # noqa: BLE001 - a missing cache only means the copy is unknown
        return f"unknown ({type(e).__name__})"
    return f"{info.get('display_name')}; source {info.get('source_kind', info.get('source'))}"


def _torch_version() -> str:
    import torch
    return torch.__version__


def export(run_dir: str | Path, name: str, dest: str | Path = "checkpoints") -> Path:
    """Copy <run_dir>/checkpoint.safetensors + config.json to <dest>/<name>/ after checking that they
    load into your model and come from a run on the real data set, and write provenance.json
    beside them. Returns the exported checkpoint's path."""
    run_dir = Path(run_dir)
    src = run_dir / "checkpoint.safetensors" if run_dir.is_dir() else run_dir
    _, cfg = check_run(src, name)
    if cfg.synthetic:
        raise SubmitError(f"{src}: trained on synthetic data (synthetic = true, e.g. the smoke recipe); "
                          f"{name!r} must be trained on the real {cfg.dataset} training set")
    record = provenance(src, cfg)
    out = Path(dest) / name
    out.mkdir(parents=True, exist_ok=True)
    for source, target in ((src.with_name("config.json"), out / "config.json"),
                           (src, out / "checkpoint.safetensors")):
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
    atomic_write_json(out / "provenance.json", record)
    return out / "checkpoint.safetensors"


def check(dest: str | Path = "checkpoints", evaluate: bool = False, data_dir=None) -> dict[str, str]:
    """What the graders will find under `dest`: {name: "ok ..." | "missing ..." | "error: ..."}.
    With evaluate=True, also the accuracy on the local copy of the official test set."""
    status = {}
    for name in graded_names():
        ckpt = Path(dest) / name / "checkpoint.safetensors"
        if not ckpt.is_file():
            status[name] = f"missing ({ckpt} not found)"
            continue
        try:
            model, cfg = check_run(ckpt, name)
        except SubmitError as e:
            status[name] = f"error: {e}"
            continue
        if cfg.synthetic or not ckpt.with_name("provenance.json").is_file():
            why = "trained on synthetic data" if cfg.synthetic else "no provenance.json beside it"
            status[name] = f"error: {why}; export a real run with `python submit.py export runs/<recipe> {name}`"
            continue
        params = sum(p.numel() for p in model.parameters())
        line = f"ok: {cfg.model}, {params:,} parameters, {ckpt.stat().st_size / 2**20:.1f} MB"
        if evaluate:
            line += f", {_test_accuracy(model, cfg, data_dir)}"
        status[name] = line
    return status


def _test_accuracy(model, cfg, data_dir=None) -> str:
    import torch

    import vitdata
    from train import evaluate
    x, y = vitdata.load(cfg.dataset, "test", data_dir)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    _, acc = evaluate(model.eval(), x, y, cfg.replace(device="cpu", amp="none"))
    return f"test accuracy {100 * acc:.2f}% on {len(y):,} images ({vitdata.display_name(cfg.dataset, data_dir)})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("export", help="copy a run's checkpoint into checkpoints/<name>/")
    ex.add_argument("run_dir", help="a training run's out_dir (or its checkpoint.safetensors)")
    ex.add_argument("name", choices=list(CHECKPOINTS))
    ex.add_argument("--dest", default="checkpoints")
    ch = sub.add_parser("check", help="list what the graders will find")
    ch.add_argument("--dest", default="checkpoints")
    ch.add_argument("--evaluate", action="store_true", help="also measure test accuracy (needs the data)")
    args = parser.parse_args(argv)
    if args.cmd == "export":
        try:
            path = export(args.run_dir, args.name, args.dest)
        except SubmitError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(f"exported {path} (+ config.json, provenance.json)")
        if args.name not in graded_names():
            print(f"note: this course does not grade {args.name} (it grades: {', '.join(graded_names())})",
                  file=sys.stderr)
        return 0
    status = check(args.dest, args.evaluate)
    for name, line in status.items():
        print(f"{name:16s} {line}")
    return 0 if all(s.startswith("ok") for s in status.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
