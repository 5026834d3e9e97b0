"""Trusted-side helpers for the capstone graders: settings, test sets, checkpoints, evaluation.

Everything that decides a grade happens here, in the trusted process:
- the course's `[capstone]` settings are read from the course.toml being graded;
- a submitted checkpoint is opened only with safetensors (a pickle is recognised by its first
  bytes and refused unread), its config and tensors are checked (dataset, model family,
  number of classes, finite weights);
- test images go into the sandbox in chunks, logits come back, and accuracy is computed here
  against labels that never leave this process; a time budget is checked between chunks.

Problems with a submission raise `StudentError` (status `missing` or `timeout`) or
`GradingFailure` (status `failed`) with a message that names the file and the fix.
"""
from __future__ import annotations

import json
import os
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder.engine.checks import GradingFailure, expect_array
from autograder.engine.student import StudentError

IMAGE_SHAPE = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
NUM_CLASSES = 10
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".tar")


# ----------------------------------------------------------------------------- settings
def session(config):
    from autograder.engine.plugin import _session
    return _session(config)


def course_root(job) -> Path:
    """The course being graded: solutions/<assignment> sits two levels below course.toml."""
    return Path(job.solutions_dir).parent.parent


def settings(job) -> dict:
    """The `[capstone]` table of the graded course's course.toml."""
    path = course_root(job) / "course.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    if "capstone" not in raw:
        raise RuntimeError(f"{path}: no [capstone] section (thresholds and budgets of the capstone)")
    return raw["capstone"]


def task_mark(task_id: str):
    import pytest
    return getattr(pytest.mark, "task" + str(task_id).replace(".", "_"))


# ----------------------------------------------------------------------------- data
@dataclass
class Split:
    x: np.ndarray           # uint8 (N, C, H, W)
    y: np.ndarray           # int64 (N,)
    label: str              # how results on it are named, e.g. "CIFAR-10 (JPEG copy)"


def load_split(job, cap: dict, dataset: str, split: str) -> Split:
    """`testset_dir` in [capstone] (arrays `<dataset>_<split>.npz` with x, y) when set, else the
    cached official data through vitdata."""
    root = course_root(job)
    if cap.get("testset_dir"):
        path = (root / cap["testset_dir"]) / f"{dataset}_{split}.npz"
        with np.load(path, allow_pickle=False) as f:
            x, y = f["x"], f["y"]
        label = f"{dataset} {split} arrays from {path.name}"
    else:
        import vitdata
        data_dir = None
        if not os.environ.get("VITLAB_DATA") and (root / "datasets" / "data").is_dir():
            data_dir = root / "datasets" / "data"
        x, y = vitdata.load(dataset, split, data_dir)
        label = vitdata.display_name(dataset, data_dir)
    if x.dtype != np.uint8 or x.shape[1:] != IMAGE_SHAPE[dataset] or len(x) != len(y):
        raise RuntimeError(f"{dataset} {split} data: unexpected arrays {x.dtype} {x.shape} / {y.shape}")
    return Split(np.ascontiguousarray(x), np.asarray(y, dtype=np.int64), label)


# ----------------------------------------------------------------------------- checkpoints
@dataclass
class Checkpoint:
    where: str              # path shown to the student, relative to the submission
    config: dict
    tensors: dict           # name -> torch.Tensor (CPU)


def _missing(message: str) -> StudentError:
    return StudentError("MissingCheckpoint", message, "missing")


def find_checkpoint(submission: Path, cap: dict, name: str) -> tuple[Path, Path]:
    """(checkpoint, config.json) of checkpoint `name`; StudentError(missing) if there is none.

    Accepted layouts: checkpoints/<name>/checkpoint.safetensors + config.json (what
    `python submit.py export` writes), or checkpoints/<name>.safetensors + <name>.json.
    """
    folder = submission / cap.get("checkpoint_dir", "checkpoints")
    layouts = [(folder / name / "checkpoint.safetensors", folder / name / "config.json"),
               (folder / f"{name}.safetensors", folder / f"{name}.json")]
    for ckpt, cfg in layouts:
        if ckpt.is_file():
            return ckpt, cfg
    rel = layouts[0][0].relative_to(submission)
    pickles = sorted(p.relative_to(submission).as_posix() for p in folder.glob(f"{name}*") if p.is_file()
                     and p.suffix in PICKLE_SUFFIXES) if folder.is_dir() else []
    pickles += sorted(p.relative_to(submission).as_posix() for p in (folder / name).glob("*")
                      if p.is_file() and p.suffix in PICKLE_SUFFIXES) if (folder / name).is_dir() else []
    if pickles:
        raise _missing(f"{rel} not found; {pickles[0]} is there, but only safetensors checkpoints are "
                       "graded (a pickle / torch.save file can run code when loaded). "
                       f"Export your run with `python submit.py export <run dir> {name}`.")
    raise _missing(f"{rel} not found. Train a recipe, then `python submit.py export <run dir> {name}` "
                   "(writes checkpoint.safetensors and config.json there).")


def sniff_safetensors(path: Path, where: str) -> None:
    """Refuse a pickle / torch.save file by its first bytes, and anything that is not safetensors."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(9)
    # safetensors: 8-byte little-endian header length, then the JSON header. Checked first: the
    # length's low byte can be 0x80 or spell "PK", so the pickle/zip signatures alone would misfire.
    n = int.from_bytes(head[:8], "little") if len(head) >= 8 else 0
    if len(head) == 9 and head[8:9] == b"{" and 2 <= n <= size - 8:
        return
    if head[:2] == b"PK" or (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")):
        raise GradingFailure(f"{where} is a pickle / torch.save file, not safetensors. It was not loaded: "
                             "unpickling can run arbitrary code. Save weights with save_checkpoint() "
                             "(safetensors) and export again.")
    raise GradingFailure(f"{where} is not a safetensors file (its header is malformed or truncated).")


def read_checkpoint(submission: Path, cap: dict, name: str) -> Checkpoint:
    """Find, sniff and read checkpoint `name` (safetensors only); config from config.json, else
    from the file's metadata."""
    from safetensors import safe_open

    ckpt, cfg_path = find_checkpoint(submission, cap, name)
    where = ckpt.relative_to(submission).as_posix()
    sniff_safetensors(ckpt, where)
    try:
        with safe_open(str(ckpt), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # noqa: BLE001 - safetensors raises several types for a bad file
        raise GradingFailure(f"{where} cannot be read as safetensors: {str(e)[:200]}") from None
    if not tensors:
        raise GradingFailure(f"{where} holds no tensors.")
    return Checkpoint(where, read_config(submission, cfg_path, metadata, where), tensors)


def read_config(submission: Path, cfg_path: Path, metadata: dict, where: str) -> dict:
    if cfg_path.is_file():
        shown, text = cfg_path.relative_to(submission).as_posix(), cfg_path.read_text(encoding="utf-8", errors="replace")
    elif "config" in metadata:
        shown, text = f"the metadata of {where}", metadata["config"]
    else:
        raise GradingFailure(f"{where}: no {cfg_path.name} beside it and no config in its metadata; "
                             "export with `python submit.py export` to get both files.")
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as e:
        raise GradingFailure(f"{shown}: not valid JSON ({e})") from None
    if not isinstance(cfg, dict):
        raise GradingFailure(f"{shown}: expected a JSON object of config settings")
    return cfg


def check_checkpoint(ck: Checkpoint, spec: dict) -> None:
    """The config says what the task expects (dataset, model family, classes, image shape) and
    every floating-point weight is finite."""
    cfg, dataset = ck.config, spec["dataset"]
    for key in ("model", "dataset", "num_classes", "img_size", "in_chans"):
        if key not in cfg:
            raise GradingFailure(f"{ck.where}: its config has no {key!r}")
    if cfg["dataset"] != dataset:
        raise GradingFailure(f"{ck.where}: trained for dataset {cfg['dataset']!r}; this task needs a "
                             f"{dataset!r} checkpoint")
    if cfg["model"] not in spec["models"]:
        raise GradingFailure(f"{ck.where}: model {cfg['model']!r}; this task needs one of "
                             f"{', '.join(map(repr, spec['models']))}")
    if cfg["num_classes"] != NUM_CLASSES:
        raise GradingFailure(f"{ck.where}: num_classes = {cfg['num_classes']!r}, but {dataset} has "
                             f"{NUM_CLASSES} classes")
    c, h, _ = IMAGE_SHAPE[dataset]
    if cfg["in_chans"] != c or cfg["img_size"] != h:
        raise GradingFailure(f"{ck.where}: img_size = {cfg['img_size']!r}, in_chans = {cfg['in_chans']!r}; "
                             f"{dataset} images are {c} x {h} x {h}")
    for key, t in ck.tensors.items():
        if t.is_floating_point():
            bad = int((~t.float().isfinite()).sum())
            if bad:
                raise GradingFailure(f"{ck.where}: tensor {key!r} holds {bad} NaN/Inf value(s); "
                                     "the run diverged. Export a checkpoint from before it did, or retrain "
                                     "with a lower lr.")


# ----------------------------------------------------------------------------- evaluation
def sandbox_predictions(student, cfg: dict, tensors: dict, x: np.ndarray, dataset: str, cap: dict,
                        budget_s: float, where: str) -> np.ndarray:
    """Build the student's model in the sandbox, load `tensors`, send `x` in chunks; return the
    predicted classes (N,). Stops with StudentError(timeout) once `budget_s` is exceeded."""
    chunk, bs, threads = int(cap.get("eval_chunk", 1000)), int(cap.get("eval_batch_size", 500)), \
        int(cap.get("eval_threads", 0))
    student.call("harness:a4.ready")     # starts the sandbox; the budget counts from here
    t0 = time.monotonic()
    model = student.call("harness:a4.load_model", cfg, tensors, threads)
    preds = []
    for i in range(0, len(x), chunk):
        _check_budget(t0, budget_s, i, len(x), where)
        xb = x[i:i + chunk]
        logits = student.call("harness:a4.predict", model, xb, dataset, bs, threads)
        expect_array(logits, shape=(len(xb), NUM_CLASSES), dtype=np.float32,
                     name=f"logits of your model for test images {i}..{i + len(xb) - 1}",
                     hint="the model must return one row of class scores per image")
        preds.append(np.argmax(logits, axis=1))
    _check_budget(t0, budget_s, len(x), len(x), where)
    return np.concatenate(preds) if preds else np.zeros(0, np.int64)


def _check_budget(t0: float, budget_s: float, done: int, total: int, where: str) -> None:
    spent = time.monotonic() - t0
    if spent > budget_s:
        raise StudentError("Timeout", f"evaluating {where} took {spent:.1f} s, past its {budget_s:g} s budget; "
                           f"stopped after {done:,} of {total:,} test images. Submit a smaller or faster "
                           "model.", "timeout")


def accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    """Percent of predictions equal to the labels."""
    return 100.0 * float(np.mean(pred == y)) if len(y) else 0.0
