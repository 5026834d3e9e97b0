"""The graded model: the kit's own ViT / ConViT, built in the trusted process from a validated
config.json, with the student's weights loaded strictly.

No student code runs while a checkpoint is evaluated: the architecture is the course's
reference (solutions/a4_capstone's config.py and models.py, Assignment 3's), the student
supplies only numbers (a config within the ranges below and finite weights that fit it
exactly). A "model" that is not a real ViT or ConViT of a declared configuration cannot be
expressed. How the student trained is theirs to choose; what is graded is this model.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from autograder.engine.checks import GradingFailure
from autograder.engine.student import StudentError

IMAGE_SHAPE = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
NUM_CLASSES = 10
MAX_TEXT = 512
# key -> (low, high) for the numbers that shape the model; the parameter cap bounds the rest
RANGES = {"embed_dim": (8, 1024), "depth": (1, 24), "num_heads": (1, 16), "mlp_ratio": (0.25, 8.0),
          "local_layers": (0, 24), "locality_strength": (1e-3, 100.0), "stem_channels": (1, 256),
          "patch_size": (2, 32)}


def check_config(cfg: dict, spec: dict, where: str, reference) -> object:
    """The reference Config for `cfg` (config.json), after checking that every key is a Config
    field of the right type, the dataset / family / classes / image shape are the task's, and
    the architecture's numbers are within RANGES. GradingFailure names the key otherwise."""
    Config = reference("config").Config
    defaults = Config()
    fields = {f.name for f in dataclasses.fields(Config)}
    for key, value in cfg.items():
        if key not in fields:
            raise GradingFailure(f"{where}: unknown config key {key[:60]!r} (config.json must be the Config "
                                 "your run was trained with; export it with submit.py)")
        want = type(getattr(defaults, key))
        ok = type(value) is want or (want is float and type(value) is int)
        if not ok:
            raise GradingFailure(f"{where}: {key} = {str(value)[:60]!r} should be a {want.__name__}")
        if want is str and len(value) > MAX_TEXT:
            raise GradingFailure(f"{where}: {key} is {len(value):,} characters long")
    dataset = spec["dataset"]
    for key in ("model", "dataset", "num_classes", "img_size", "in_chans"):
        if key not in cfg:
            raise GradingFailure(f"{where}: its config has no {key!r}")
    if cfg["dataset"] != dataset:
        raise GradingFailure(f"{where}: trained for dataset {cfg['dataset'][:40]!r}; this task needs a "
                             f"{dataset!r} checkpoint")
    if cfg["model"] not in spec["models"]:
        raise GradingFailure(f"{where}: model {cfg['model'][:40]!r}; this task needs one of "
                             f"{', '.join(map(repr, spec['models']))}")
    if cfg["num_classes"] != NUM_CLASSES:
        raise GradingFailure(f"{where}: num_classes = {cfg['num_classes']!r}, but {dataset} has "
                             f"{NUM_CLASSES} classes")
    c, h, _ = IMAGE_SHAPE[dataset]
    if cfg["in_chans"] != c or cfg["img_size"] != h:
        raise GradingFailure(f"{where}: img_size = {cfg['img_size']!r}, in_chans = {cfg['in_chans']!r}; "
                             f"{dataset} images are {c} x {h} x {h}")
    for key, (low, high) in RANGES.items():
        value = cfg.get(key, getattr(defaults, key))
        if not low <= value <= high:
            raise GradingFailure(f"{where}: {key} = {value!r} is outside the graded range {low:g}..{high:g}")
    try:
        return Config.from_dict(dict(cfg), where)
    except ValueError as e:
        raise GradingFailure(str(e)[:300]) from None


def param_bound(cfg) -> int:
    """An upper bound on the parameter count of the model for `cfg`, from its numbers alone,
    so that an oversized config is refused before anything is allocated."""
    d, r, depth = cfg.embed_dim, cfg.mlp_ratio, cfg.depth
    block = (4 + 2 * r) * d * d + (12 + 2 * r) * d + 4 * cfg.num_heads + 16
    chans, patch = cfg.in_chans, cfg.patch_size
    stem = 0
    if cfg.model == "convit_hybrid":
        s = cfg.stem_channels
        chans, patch, stem = s, max(patch // 4, 1), 9 * (cfg.in_chans * s + s * s) + 2 * s
    tokens = (cfg.img_size // max(cfg.patch_size, 1)) ** 2 + 1
    return int(depth * block + (patch * patch * chans + 1) * d + tokens * d + (d + 1) * NUM_CLASSES + stem + 4 * d)


def build(cfg, tensors: dict, where: str, reference, max_params: int):
    """The reference model for `cfg` with `tensors` loaded strictly (every name and shape must
    match, nothing left over), in eval mode; GradingFailure naming the mismatch otherwise."""
    if param_bound(cfg) > 2 * max_params:
        raise GradingFailure(f"{where}: its config describes a model of about {param_bound(cfg):,} parameters; "
                             f"graded models have at most {max_params:,}")
    try:
        model = reference("models").build_model(cfg)
    except ValueError as e:
        raise GradingFailure(f"{where}: {str(e)[:300]}") from None
    params = sum(p.numel() for p in model.parameters())
    if params > max_params:
        raise GradingFailure(f"{where}: the model its config describes has {params:,} parameters; "
                             f"graded models have at most {max_params:,}")
    own = model.state_dict()
    missing = [k for k in own if k not in tensors]
    unexpected = [k for k in tensors if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing from the checkpoint: {', '.join(missing[:4])}" + (" ..." if len(missing) > 4 else ""))
        if unexpected:
            parts.append("not in the model: " + ", ".join(k[:60] for k in unexpected[:4])
                         + (" ..." if len(unexpected) > 4 else ""))
        raise GradingFailure(f"{where}: the weights do not fit the {cfg.model} its config.json describes "
                             f"({'; '.join(parts)}). Graded checkpoints are the course's own {cfg.model} "
                             "architecture (Assignment 3's modules); export the run with submit.py.")
    for key, value in tensors.items():
        if tuple(value.shape) != tuple(own[key].shape):
            raise GradingFailure(f"{where}: tensor {key!r} has shape {tuple(value.shape)} in the checkpoint but "
                                 f"{tuple(own[key].shape)} in the model its config.json describes")
    model.load_state_dict(tensors, strict=True)
    return model.eval()


def device_kind() -> str:
    """"cuda" when the grading machine has a GPU, else "cpu": where checkpoints are evaluated."""
    import torch
    return "cuda" if torch.cuda.is_available() else "cpu"


def _device():
    import torch
    return torch.device(device_kind())


def threads_for(cap: dict, job) -> int:
    """`eval_threads`, held to this student's share of the cores when several are graded at
    once (the engine's cpu_share; oversubscribed OpenMP threads spin and time out)."""
    n = int(cap.get("eval_threads", 0))
    share = int(getattr(getattr(job, "limits", None), "cpu_share", 0) or 0)
    return min(n, share) if n > 0 and share > 0 else n


def _threads(n: int) -> None:
    import torch
    if n and n > 0:
        torch.set_num_threads(int(n))


def predictions(model, x: np.ndarray, dataset: str, batch_size: int, threads: int, deadline: float,
                what: str, where: str) -> np.ndarray:
    """Predicted classes (N,) of `model` on uint8 images (N, C, H, W), normalised with the
    course's vitdata statistics; StudentError(timeout) once time.monotonic() passes `deadline`
    (checked between batches)."""
    import torch

    import vitdata

    _threads(threads)
    dev = _device()
    model = model.to(dev)
    mean = torch.tensor(vitdata.MEAN[dataset], dtype=torch.float32, device=dev).view(1, -1, 1, 1)
    std = torch.tensor(vitdata.STD[dataset], dtype=torch.float32, device=dev).view(1, -1, 1, 1)
    out = []
    with torch.inference_mode():
        for i in range(0, len(x), batch_size):
            if time.monotonic() > deadline:
                raise StudentError("Timeout", f"evaluating {where} ran past its time budget; stopped after "
                                   f"{i:,} of {len(x):,} {what}. Submit a smaller or faster model.", "timeout")
            xb = torch.from_numpy(np.ascontiguousarray(x[i:i + batch_size])).to(dev).float().div_(255.0)
            out.append(model((xb - mean) / std).argmax(dim=1).cpu().numpy())
    if time.monotonic() > deadline:
        raise StudentError("Timeout", f"evaluating {where} ran past its time budget on {len(x):,} {what}. "
                           "Submit a smaller or faster model.", "timeout")
    return np.concatenate(out) if out else np.zeros(0, np.int64)
