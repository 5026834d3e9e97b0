"""Capstone helpers that run *inside* the sandbox, next to the student's code (nothing here is secret).

Hidden graders call them as `student.call("harness:a4.<name>", ...)`:

    model = load_model(cfg_dict, tensors)             # the student's models.build_model + weights
    logits = predict(model, images, "mnist", 500)     # uint8 (N, C, H, W) -> float32 (N, K)
    run = retrain(cfg_dict, x_train, y_train, x_val, y_val)   # the student's train.train()

The trusted grader reads every checkpoint itself (safetensors only) and sends plain tensors
here, so nothing in the sandbox ever opens a submitted file, and no pickle is ever read.
Labels of the test images never come here: accuracy is computed in the trusted process.
"""
from __future__ import annotations

import os
import tempfile

import numpy as np
import torch

from autograder.harness.torch_state import settle_torch


def device() -> torch.device:
    """The GPU when the sandbox can see one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def ready() -> str:
    """Nothing but an answer ("cuda" or "cpu"): the grader's first call starts the sandbox, so
    that starting it is not counted against an evaluation's time budget."""
    return device().type


def _threads(n: int) -> None:
    # The sandbox starts with OMP_NUM_THREADS=1; evaluation of 10,000 images wants more, but
    # no more than the engine's share of the cores for this sandbox (students graded in parallel).
    share = int(os.environ.get("VITLAB_CPU_SHARE", "0") or 0)
    if n and n > 0:
        torch.set_num_threads(min(int(n), share) if share > 0 else int(n))


def load_model(cfg_dict: dict, tensors: dict, threads: int = 0) -> torch.nn.Module:
    """Build the student's model for `cfg_dict` with the student's own config.py and models.py,
    load `tensors` ({name: tensor}) strictly and return it in eval mode on `device()`.

    Raises ValueError naming the first tensor whose name or shape does not fit the model.
    """
    import config
    import models

    _threads(threads)
    cfg = config.Config.from_dict(dict(cfg_dict))
    model = models.build_model(cfg)
    own = model.state_dict()
    missing = [k for k in own if k not in tensors]
    unexpected = [k for k in tensors if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing from the checkpoint: {', '.join(missing[:4])}" + (" ..." if len(missing) > 4 else ""))
        if unexpected:
            parts.append(f"not in the model: {', '.join(unexpected[:4])}" + (" ..." if len(unexpected) > 4 else ""))
        raise ValueError(f"the checkpoint does not fit the model built from its config ({'; '.join(parts)})")
    for key, value in tensors.items():
        if tuple(value.shape) != tuple(own[key].shape):
            raise ValueError(f"tensor {key!r} has shape {tuple(value.shape)} in the checkpoint but "
                             f"{tuple(own[key].shape)} in the model built from its config")
    model.load_state_dict(tensors, strict=True)
    return model.to(device()).eval()


@torch.no_grad()
def predict(model: torch.nn.Module, images: np.ndarray, dataset: str, batch_size: int = 500,
            threads: int = 0) -> np.ndarray:
    """Logits float32 (N, K) of `model` on images uint8 (N, C, H, W), normalised with the
    submission's vitdata.MEAN/STD for `dataset`, in batches of `batch_size`, in float32."""
    import vitdata

    _threads(threads)
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError("predict: expected uint8 images (N, C, H, W)")
    dev = next(model.parameters()).device
    mean = torch.tensor(vitdata.MEAN[dataset], dtype=torch.float32, device=dev).view(1, -1, 1, 1)
    std = torch.tensor(vitdata.STD[dataset], dtype=torch.float32, device=dev).view(1, -1, 1, 1)
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        x = torch.from_numpy(images[i:i + batch_size]).to(dev).float().div_(255.0)  # (B, C, H, W)
        logits = model((x - mean) / std)                                            # (B, K)
        out.append(logits.float().cpu())
    return torch.cat(out).numpy().astype(np.float32, copy=False)


def retrain(cfg_dict: dict, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray,
            y_val: np.ndarray, threads: int = 0) -> dict:
    """Run the student's `train.train(cfg, data=...)` for `cfg_dict` in a fresh folder and
    return what it produced: {"config": the Config it ran with (dict), "state": the tensors of
    the checkpoint it saved ({name: tensor}), "history": its per-epoch metrics}."""
    import config
    import train
    from safetensors.torch import load_file

    _threads(threads)
    settle_torch()
    out_dir = tempfile.mkdtemp(prefix="a4-retrain-")
    extra = {"out_dir": out_dir}
    if hasattr(config.Config(), "progress"):
        extra["progress"] = False          # an optional field: not every student's Config has it
    cfg = config.Config.from_dict({**cfg_dict, **extra})
    result = train.train(cfg, data=(x_train, y_train, x_val, y_val))
    path = os.path.join(out_dir, "checkpoint.safetensors")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"train() wrote no checkpoint.safetensors into cfg.out_dir ({out_dir})")
    history = result.get("history", []) if isinstance(result, dict) else []
    keep = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc")
    rows = [{k: (float(r[k]) if isinstance(r.get(k), (int, float)) else None) for k in keep}
            for r in history if isinstance(r, dict)]
    return {"config": cfg.to_dict(), "state": load_file(path), "history": rows}
