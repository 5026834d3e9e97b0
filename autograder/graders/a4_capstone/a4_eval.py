"""Trusted-side helpers for the capstone graders: settings, data, checkpoints, provenance.

Everything that decides a grade happens here, in the trusted process, and no student code
runs for it:
- the course's `[capstone]` settings are read from the course.toml being graded;
- a submitted checkpoint is opened only as safetensors (a pickle is recognised by its first
  bytes and refused unread) and read with size and depth limits (a4_files);
- the model is the course's own architecture built from the validated config.json, with the
  weights loaded strictly (a4_model), and evaluated here against labels that never leave
  this process;
- a checkpoint whose accuracy on held-out images drawn at grading time (a4_holdout) does
  not agree with its test accuracy is held for review: status `review`, 0 points, until the
  instructor's override (hold_for_review);
- what the student's export recorded (provenance.json) is compared with what was measured,
  and anything odd goes to the instructor's log only (review_notes).

Problems with a submission raise `StudentError` (status `missing` or `timeout`) or
`GradingFailure` (status `failed`) with a message that names the file and the fix.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import a4_files
from autograder.engine.checks import GradingFailure
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


def load_split(job, cap: dict, dataset: str, split: str, sample=None) -> Split:
    """`testset_dir` in [capstone] (arrays `<dataset>_<split>.npz` with x, y) when set, else the
    cached official data through vitdata (memory-mapped). `sample(n)`, when given, returns the
    indices (sorted) of the images to keep out of the split's n; only those are read."""
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
        x, y = vitdata.load(dataset, split, data_dir, mmap=True)
        label = vitdata.display_name(dataset, data_dir)
    if sample is not None:
        pick = sample(len(y))
        x, y = x[pick], y[pick]
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
    """Find, sniff and read checkpoint `name`: safetensors only, at most `max_checkpoint_mb`,
    every tensor finite (a4_files); its config from config.json, else from the file's metadata."""
    ckpt, cfg_path = find_checkpoint(submission, cap, name)
    where = ckpt.relative_to(submission).as_posix()
    sniff_safetensors(ckpt, where)
    raw = a4_files.read_bounded(ckpt, where, int(cap.get("max_checkpoint_mb", 64)) << 20)
    _, metadata, _ = a4_files.safetensors_header(raw, where)
    tensors = a4_files.load_tensors(raw, where)
    if not tensors:
        raise GradingFailure(f"{where} holds no tensors.")
    return Checkpoint(where, read_config(submission, cfg_path, metadata, where), tensors)


def read_config(submission: Path, cfg_path: Path, metadata: dict, where: str) -> dict:
    """config.json as a flat JSON object (nesting depth 1), bounded in size."""
    if cfg_path.is_file():
        return a4_files.read_json(cfg_path, cfg_path.relative_to(submission).as_posix(), max_depth=1)
    if "config" in metadata:
        return a4_files.parse_json(metadata["config"], f"the metadata of {where}", max_depth=1)
    raise GradingFailure(f"{where}: no {cfg_path.name} beside it and no config in its metadata; "
                         "export with `python submit.py export` to get both files.")


def read_provenance(submission: Path, where: str) -> dict | None:
    """provenance.json beside the checkpoint (written by `submit.py export`); None when there
    is none, {"unreadable": why} when it cannot be read. It informs the instructor only."""
    path = (submission / where).with_name("provenance.json")
    if not path.is_file():
        return None
    try:
        return a4_files.read_json(path, "provenance.json", max_depth=3)
    except GradingFailure as e:
        return {"unreadable": e.message[:200]}


# ----------------------------------------------------------------------------- review
REVIEW_MESSAGE = ("{name}: awaiting your instructor's review, 0 points until then. Besides the test set, the "
                  "grader measures every checkpoint on other images drawn at grading time, and this one's "
                  "accuracy there does not agree with its test accuracy. Your instructor will look at it "
                  "(bring your run's metrics.json and log) and may set the score.")


def hold_for_review(request, name: str) -> None:
    """End the current threshold test with status `review` (0 points until an instructor's
    override): the record is written here because no student code ran to fail."""
    import pytest

    message = REVIEW_MESSAGE.format(name=name)
    record = session(request.config).records.get(request.node.nodeid)
    if record is not None:
        record.outcome, record.status, record.message, record.hint = "failed", "review", message, None
        record.internal = f"{name}: held for review (see the FLAG line of its review notes)"
    pytest.fail(message, pytrace=False)


def review_notes(name: str, measured: dict, prov: dict | None, cap: dict) -> list[str]:
    """What the instructor should look at for checkpoint `name`, never shown to the student.

    `measured`: a4_run.evaluate's result. A checkpoint held for review (its held-out accuracy
    below its test accuracy by more than the margin) gets a FLAG line with every number; so do
    a missing or synthetic provenance and a recorded accuracy far from the measured one."""
    notes = []
    gap = float(cap.get("review_gap", 3.0))
    test = measured["test"]
    if measured.get("disagree"):
        notes.append(f"FLAG {name}: held for review, 0 points until an override: test accuracy {test:.2f}% on "
                     f"{measured['n_test']:,} images, but {'; '.join(measured['disagree'])}; was it fitted "
                     "to the public test set?")
    held = "".join(f", {what} {acc:.2f}% ({n:,})" for what, (acc, n, _) in measured.get("held", {}).items())
    if prov is None:
        notes.append(f"FLAG {name}: no provenance.json (not exported with submit.py export)")
        return notes + [f"{name}: measured test {test:.2f}%{held}"]
    if "unreadable" in prov:
        notes.append(f"FLAG {name}: provenance.json unreadable: {prov['unreadable']}")
        return notes + [f"{name}: measured test {test:.2f}%{held}"]
    if prov.get("data") != "real":
        notes.append(f"FLAG {name}: provenance says data = {str(prov.get('data'))[:40]!r}, not 'real'")
    recorded = prov.get("test_acc")
    if not isinstance(recorded, (int, float)) or isinstance(recorded, bool):
        notes.append(f"FLAG {name}: provenance.json records no test accuracy")
    elif abs(100.0 * float(recorded) - test) > gap:
        notes.append(f"FLAG {name}: the export recorded {100.0 * float(recorded):.2f}% test accuracy, the grader "
                     f"measured {test:.2f}% (more than {gap:g} points apart)")
    shown = {k: str(prov.get(k))[:80] for k in ("recipe", "dataset", "data_copy", "epochs", "wall_s", "device")}
    notes.append(f"{name}: measured test {test:.2f}%{held}; provenance "
                 + ", ".join(f"{k}={v}" for k, v in shown.items()))
    return notes


# ----------------------------------------------------------------------------- scores
def accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    """Percent of predictions equal to the labels."""
    return 100.0 * float(np.mean(pred == y)) if len(y) else 0.0
