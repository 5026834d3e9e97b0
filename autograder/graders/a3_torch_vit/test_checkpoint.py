"""Task 3.9: checkpoints are safetensors + config.json, written atomically, and load back
exactly; a checkpoint that does not fit the model is refused with an error naming the key."""
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load as load_safetensors

from a3_common import build, cfg_dict, random_state, ref
from autograder.engine.checks import GradingFailure, expect_array, expect_close, listing_excerpt, same_bytes

pytestmark = pytest.mark.task3_9


def _parse(blob) -> tuple[dict, dict]:
    """(tensors, metadata) of safetensors bytes, parsed here without running anything."""
    expect_array(blob, dtype=np.uint8, name="checkpoint bytes", kind="numpy")
    data = blob.tobytes()
    try:
        tensors = load_safetensors(data)
        n = int.from_bytes(data[:8], "little")
        meta = json.loads(data[8:8 + n]).get("__metadata__") or {}
    except Exception:
        raise GradingFailure("checkpoint.safetensors is not a valid safetensors file") from None
    return tensors, meta


@pytest.mark.parametrize("model", ["convit", "vit"])
def test_round_trip(student, model):
    """save_checkpoint writes exactly checkpoint.safetensors + config.json (no temporary files left);
    the tensors, the metadata's config and config.json are right; load_checkpoint gives it all back."""
    cfg = cfg_dict(model=model)
    state = random_state(build(cfg), seed=91)
    got = student.call("harness:a3.checkpoint_roundtrip", cfg, state, {"epoch": 3})
    if got["files"] != ["checkpoint.safetensors", "config.json"]:
        raise GradingFailure(f"the folder holds {got['files']} after saving; expected exactly "
                             "['checkpoint.safetensors', 'config.json']",
                             hint="write to a temporary file beside the target and rename it into place")
    tensors, meta = _parse(got["bytes"]["checkpoint.safetensors"])
    if set(tensors) != set(state):
        raise GradingFailure(f"the file's tensors are not the model's state dict "
                             f"(missing: {sorted(set(state) - set(tensors))[:4]})")
    for k in sorted(state):
        expect_close(tensors[k], state[k], rtol=0, atol=0, name=f"saved tensor {k!r}")
    try:
        saved_cfg = json.loads(meta.get("config", "null"))
    except json.JSONDecodeError:
        saved_cfg = None
    if saved_cfg != cfg:
        raise GradingFailure("the safetensors metadata should carry the config (pass metadata= to save_file)")
    if json.loads(got["bytes"]["config.json"].tobytes()) != cfg:
        raise GradingFailure("config.json does not hold the run's config")
    if got["loaded_type"] != type(build(cfg)).__name__:
        raise GradingFailure(f"load_checkpoint built a {got['loaded_type']}, not the saved model")
    if got["config"] != cfg:
        raise GradingFailure("load_checkpoint returned a config different from the saved one")
    for k in sorted(state):
        expect_close(got["state"][k], state[k], rtol=0, atol=0, name=f"loaded tensor {k!r}")


@pytest.mark.parametrize("tamper,key", [("drop", "head.bias"), ("add", "blocks.9.attn.qkv.weight"),
                                        ("shape", "blocks.0.mlp.fc1.weight")])
def test_mismatch_names_the_key(student, tamper, key):
    """A checkpoint with a missing, unexpected or wrongly shaped tensor raises CheckpointError naming it."""
    cfg = cfg_dict(model="vit")
    state = random_state(build(cfg), seed=92)
    got = student.call("harness:a3.checkpoint_load_into", cfg, state, cfg, f"{tamper}:{key}")
    if got["ok"]:
        raise GradingFailure(f"loading a checkpoint whose tensor {key!r} is {tamper}ped did not fail")
    if got["error_type"] != "CheckpointError" or key not in got["message"]:
        raise GradingFailure(f"expected a CheckpointError naming {key!r}; got {got['error_type']}",
                             hint="compare names and shapes with model.state_dict() before loading")


def test_load_into_existing_model(student):
    """load_checkpoint(path, model) fills the given model with the saved weights."""
    cfg = cfg_dict(model="convit_hybrid", img_size=8, patch_size=4)
    state = random_state(build(cfg), seed=93)
    got = student.call("harness:a3.checkpoint_load_into", cfg, state, cfg, None)
    if not got["ok"]:
        raise GradingFailure(f"loading a matching checkpoint failed with {got['error_type']}: {got['message']}")
    for k in sorted(state):
        expect_close(got["state"][k], state[k], rtol=0, atol=0, name=f"loaded tensor {k!r}")


def test_crash_mid_save_keeps_the_old_checkpoint(student):
    """A save that dies half-way through writing the safetensors file (an OSError after half its
    bytes) propagates the error, leaves the previous checkpoint byte for byte, and no temporary file."""
    cfg = cfg_dict(model="vit")
    got = student.call("harness:a3.checkpoint_crash", cfg, random_state(build(cfg), seed=94))
    hint = "save_file to a temporary path in the same folder, then os.replace it onto the checkpoint"
    if not got["raised"]:
        raise GradingFailure("save_checkpoint swallowed an error raised while writing the file", hint=hint)
    if not same_bytes(got["before"], got["after"]):
        raise GradingFailure("a save that crashed half-way damaged the previous checkpoint: it wrote to the "
                             "checkpoint's own path", hint=hint)
    if got["listing"] != ["checkpoint.safetensors", "config.json"]:
        raise GradingFailure(f"a crashed save left {listing_excerpt(got['listing'])} in the folder; remove the "
                             "temporary file when the write fails", hint=hint)
