"""Task 2.8 (part): checkpoints as one .npz file.

Layout of the archive (np.savez; no pickles, so loading a file never runs code):

    "meta"              0-d str array: JSON {"format": FORMAT, "format_version": VERSION,
                        "config": model.config, "optimizer": {...} or null, "progress": {...}}
    "param/<name>"      every model parameter
    "optim/<name>/<k>"  optimiser state arrays (e.g. "optim/head.w/m")

The file is written to a temporary file in the same folder and renamed into place, so a
crash (or Ctrl-C) while saving never leaves a half-written checkpoint behind.
"""
import json
import os
import tempfile

import numpy as np

FORMAT = "vitlab-numpy-vit"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: unreadable, wrong format, or another model's."""


def save_checkpoint(path, model, optimizer=None, progress=None):
    """Write model (and optimiser) state to `path` (.npz) atomically.

    model: has .config (dict) and .params (dict of arrays); optimizer: None or has
    .state_dict(); progress: JSON-able dict (epoch, step, history...), or None (the default:
    nothing to record), which is stored as {} so meta["progress"] is always a dict.
    Returns path.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    raise NotImplementedError("Task 2.8: collect arrays + a JSON meta string, np.savez into a temp file in `folder`, os.replace")
    return path


def load_checkpoint(path):
    """Read a checkpoint. Returns {"meta": dict, "params": {name: array}, "optim": {name: {k: array}}}.

    Raises CheckpointError naming the file if it is missing, not a checkpoint, or of
    another format version.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path} does not exist")
    raise NotImplementedError("Task 2.8: np.load with allow_pickle=False; check meta; split the keys into params and optim state")
    return {"meta": meta, "params": params, "optim": optim}


def restore(model, ckpt, path="checkpoint"):
    """Copy a loaded checkpoint's parameters into `model` after checking it is the same model."""
    check_compatible(ckpt["meta"], model.config, path)
    for name, value in model.params.items():
        if name not in ckpt["params"] or ckpt["params"][name].shape != value.shape:
            got = ckpt["params"].get(name)
            raise CheckpointError(f"{path}: parameter {name!r} should have shape {value.shape}, "
                                  f"got {None if got is None else got.shape}")
        value[...] = ckpt["params"][name]
    return model


def check_compatible(meta, config, path="checkpoint"):
    """Raise CheckpointError naming the first config key where the checkpoint differs from config."""
    saved = meta.get("config", {})
    if saved.get("model") != config.get("model"):
        raise CheckpointError(f"{path} holds a {saved.get('model')!r} model, not a {config.get('model')!r}")
    for key in sorted(set(saved) | set(config)):
        if key in ("seed", "dtype", "dropout", "label_smoothing"):  # do not change the parameters' shapes
            continue
        if _jsonable(saved.get(key)) != _jsonable(config.get(key)):
            raise CheckpointError(f"{path} does not match this model: {key}={saved.get(key)!r} in the "
                                  f"checkpoint, {key}={config.get(key)!r} in the model")


def _check_format(meta, path):
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a {FORMAT} checkpoint (format {meta.get('format')!r})")
    if meta.get("format_version") != VERSION:
        raise CheckpointError(f"{path} has format version {meta.get('format_version')!r}; "
                              f"this code reads version {VERSION}")


def _hyper(optimizer):
    keys = ("momentum", "weight_decay", "nesterov", "betas", "eps")
    return {k: getattr(optimizer, k) for k in keys if hasattr(optimizer, k)}


def _jsonable(value):
    return json.loads(json.dumps(value))
