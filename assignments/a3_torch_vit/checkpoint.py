"""Checkpoints as safetensors plus a JSON config: no pickle, ever.

    <run>/checkpoint.safetensors   model tensors; metadata: format, config (JSON), extra (JSON)
    <run>/config.json              the Config, readable and diffable
    <run>/train_state.safetensors  optimiser moments, scheduler, RNG and progress (for --resume)

`torch.load` unpickles, and unpickling a file can run any code in it, so a checkpoint from
somewhere else is never passed to it: a pickle or `torch.save` file is refused by name.
Every file is written to a temporary name and renamed into place, so an interrupted save
leaves the previous checkpoint intact.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn as nn
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from atomic_io import atomic_path, atomic_write_json
from config import ARCH_KEYS, Config, ConfigError

FORMAT = "vitlab-checkpoint-1"


class CheckpointError(ValueError):
    """A checkpoint is missing, not safetensors, or does not fit the model; the message says which key."""


def config_path(path: str | Path) -> Path:
    """The config.json that sits beside a checkpoint file."""
    return Path(path).with_name("config.json")


def save_checkpoint(path: str | Path, model: nn.Module, cfg: Config, extra: dict | None = None) -> Path:
    """Write model's state dict to `path` (safetensors) and cfg to config.json beside it, atomically.

    `extra` (JSON-serialisable: epoch, metrics, ...) is stored in the file's metadata.
    Returns the checkpoint path.
    """
    path = Path(path)
    model = getattr(model, "_orig_mod", model)   # a torch.compile wrapper saves its module's weights
    metadata = {"format": FORMAT, "config": json.dumps(cfg.to_dict(), sort_keys=True),
                "extra": json.dumps(extra or {}, sort_keys=True)}
    raise NotImplementedError("Task 3.9: detached, contiguous CPU copies of the state dict, saved with save_file to a temporary path renamed into place")
    atomic_write_json(config_path(path), cfg.to_dict())
    return path


def check_safetensors(path: str | Path) -> Path:
    """Raise CheckpointError unless `path` exists and starts like a safetensors file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    with open(path, "rb") as f:
        head = f.read(9)
    size = path.stat().st_size
    if len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") <= size - 8:
        return path                 # an 8-byte header length, then the JSON header: safetensors
    if head[:4] == b"PK\x03\x04" or head[:1] == b"\x80":
        raise CheckpointError(f"{path}: this is a pickle / torch.save file; it is not loaded because unpickling "
                              f"can run arbitrary code. Save weights with safetensors instead.")
    raise CheckpointError(f"{path}: not a safetensors file (bad header)")


def read_checkpoint(path: str | Path) -> tuple[dict, dict]:
    """(tensors, metadata) of a safetensors checkpoint, tensors on the CPU."""
    path = check_safetensors(path)
    try:
        tensors = load_file(path)
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            metadata = json.loads(f.read(n)).get("__metadata__") or {}
    except (SafetensorError, ValueError, OSError) as e:
        raise CheckpointError(f"{path}: cannot read safetensors file: {e}") from None
    return tensors, metadata


def read_config(path: str | Path) -> Config:
    """The Config saved beside a checkpoint (config.json), or in its metadata if the JSON is missing."""
    path = Path(path)
    cpath = config_path(path)
    try:
        if cpath.is_file():
            return Config.from_dict(json.loads(cpath.read_text(encoding="utf-8")), str(cpath))
        _, metadata = read_checkpoint(path)
        if "config" not in metadata:
            raise CheckpointError(f"{path}: no config.json beside it and no config in its metadata")
        return Config.from_dict(json.loads(metadata["config"]), f"{path} (metadata)")
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{cpath}: not valid JSON: {e}") from None
    except ConfigError as e:
        raise CheckpointError(f"checkpoint config: {e}") from None


def check_config_matches(saved: Config, model: nn.Module, path) -> None:
    """Raise CheckpointError naming the first architecture key where saved and model.cfg differ."""
    cfg = getattr(model, "cfg", None)
    if cfg is None:
        return
    # compared as dicts: a3's rules refuse attributes read by a computed name
    mine, theirs = saved.to_dict(), cfg.to_dict()
    for key in ARCH_KEYS:
        a, b = mine[key], theirs[key]
        if a != b:
            raise CheckpointError(f"{path}: config key {key!r} is {a!r} in the checkpoint but {b!r} in the model")


def load_checkpoint(path: str | Path, model: nn.Module | None = None) -> tuple[nn.Module, Config]:
    """Load a checkpoint into `model` (built from the saved config when None). Returns (model, cfg).

    Raises CheckpointError naming the key when the config or any tensor's name or shape disagrees.
    """
    path = check_safetensors(path)
    cfg = read_config(path)
    if model is None:
        from models import build_model
        model = build_model(cfg)
    check_config_matches(cfg, model, path)
    tensors, _ = read_checkpoint(path)
    raise NotImplementedError("Task 3.9: compare names and shapes with model.state_dict() (CheckpointError naming the key), then load strictly")
    return model, cfg


def checkpoint_extra(path: str | Path) -> dict:
    """The `extra` dict saved with a checkpoint (epoch, metrics, ...)."""
    _, metadata = read_checkpoint(path)
    try:
        return json.loads(metadata.get("extra", "{}"))
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: metadata 'extra' is not valid JSON: {e}") from None


def save_train_state(path: str | Path, optimizer: torch.optim.Optimizer, scheduler, progress: dict,
                     generator: torch.Generator | None = None) -> None:
    """Optimiser state, scheduler state, RNG state and `progress` (epoch, step, history) as safetensors."""
    opt_state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, state in opt_state["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"state.{idx}.{key}"] = value.detach().to("cpu").contiguous().clone()
            else:
                scalars[f"{idx}.{key}"] = value
    if generator is not None:
        tensors["rng.generator"] = generator.get_state().clone()
    tensors["rng.torch"] = torch.get_rng_state().clone()
    groups = [{k: v for k, v in g.items()} for g in opt_state["param_groups"]]
    metadata = {"format": FORMAT + "-train-state", "param_groups": json.dumps(groups),
                "scalars": json.dumps(scalars), "scheduler": json.dumps(scheduler.state_dict() if scheduler else {}),
                "progress": json.dumps(progress)}
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata=metadata)


def load_train_state(path: str | Path, optimizer: torch.optim.Optimizer, scheduler,
                     generator: torch.Generator | None = None) -> dict:
    """Restore what save_train_state wrote; returns the saved `progress` dict."""
    tensors, metadata = read_checkpoint(path)
    if metadata.get("format") != FORMAT + "-train-state":
        raise CheckpointError(f"{path}: not a training-state file (format {metadata.get('format')!r})")
    groups = json.loads(metadata["param_groups"])
    if len(groups) != len(optimizer.param_groups) or any(
            len(g["params"]) != len(o["params"]) for g, o in zip(groups, optimizer.param_groups)):
        raise CheckpointError(f"{path}: optimiser parameter groups do not match the model")
    state: dict = {}
    for name, value in tensors.items():
        if name.startswith("state."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = value
    for name, value in json.loads(metadata["scalars"]).items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    if scheduler is not None:
        scheduler.load_state_dict(json.loads(metadata["scheduler"]))
    if generator is not None and "rng.generator" in tensors:
        generator.set_state(tensors["rng.generator"])
    torch.set_rng_state(tensors["rng.torch"])
    return json.loads(metadata["progress"])
