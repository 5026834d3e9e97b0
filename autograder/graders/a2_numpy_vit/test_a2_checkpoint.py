"""Hidden graders, task 2.8 (part): checkpoints.

Every file the student's load_checkpoint reads here either comes from the student's own save
(the round trip) or is made by the grader with the reference, holding weights the student's
process has never seen: a load that hands back what was saved earlier in the process, instead
of what the file holds, fails test_load_reads_the_file.
"""
import json

import numpy as np
import pytest

from autograder.engine.checks import GradingFailure, expect_close, listing_excerpt, same_bytes
from autograder.engine.untrusted import parse_json, read_npz

pytestmark = pytest.mark.task2_8

TINY = dict(model="ViT", image_size=8, in_chans=1, patch_size=4, dim=8, depth=1, num_heads=2, mlp_ratio=2.0,
            num_classes=3, pos="learned", pool="cls", final_norm=True, activation="gelu", dropout=0.0,
            label_smoothing=0.0, seed=0, dtype="float32")


def test_checkpoint_round_trip(student):
    r = student.call("harness:a2.checkpoint_roundtrip", TINY, 2, 0)
    loaded = r["loaded"]
    for k, v in r["params"].items():
        expect_close(loaded["params"].get(k), v, rtol=0, name=f"loaded params[{k!r}]")
    for name, st in r["optim"].items():
        for key, v in st.items():
            expect_close(loaded["optim"].get(name, {}).get(key), v, rtol=0, name=f"loaded optimiser state {name}/{key}")
    if loaded["meta"].get("config") != TINY:
        raise GradingFailure("the checkpoint's meta must hold the model's config")
    if r["listing"] != ["model.npz"]:
        raise GradingFailure(f"saving left extra files behind: {r['listing']}")


def test_checkpoint_file_format(student):
    """An .npz with a JSON 'meta' (format, format_version, config) and 'param/<name>' arrays; no pickles."""
    r = student.call("harness:a2.checkpoint_roundtrip", TINY, 1, 1)
    files = read_npz(np.asarray(r["file"]).tobytes(), "the checkpoint")   # bounded: the student's file
    meta = files.get("meta")
    if type(meta) is not np.ndarray or meta.dtype.kind != "U":
        raise GradingFailure("the checkpoint's meta must be a JSON object stored as a string array")
    meta = parse_json(str(meta), "the checkpoint's meta")
    if meta.get("format_version") != 1 or meta.get("format") != "vitlab-numpy-vit":
        raise GradingFailure("meta must name format 'vitlab-numpy-vit' and format_version 1")
    for k, v in r["params"].items():
        expect_close(files.get(f"param/{k}"), v, rtol=0, name=f"archive entry param/{k}")


def test_wrong_format_version_is_refused(student, reference, tmp_path):
    ck, models = reference("checkpoint"), reference("models")
    path = tmp_path / "old.npz"
    ck.save_checkpoint(path, models.build_model(TINY))
    with np.load(path, allow_pickle=False) as z:
        files = {k: z[k] for k in z.files}
    meta = json.loads(str(files["meta"]))
    meta["format_version"] = 99
    files["meta"] = np.array(json.dumps(meta))
    np.savez(path, **files)
    r = student.call("harness:a2.checkpoint_load_blob", np.frombuffer(path.read_bytes(), np.uint8))
    if "error" not in r or not r["error"][2] or "99" not in r["error"][1]:
        raise GradingFailure("loading a checkpoint of another format version must raise a ValueError "
                             "(CheckpointError) that names the version")
    r = student.call("harness:a2.checkpoint_load_blob", np.frombuffer(b"not a zip file at all", np.uint8))
    if "error" not in r or not r["error"][2] or r["path"] not in r["error"][1]:
        raise GradingFailure("loading a file that is not a checkpoint must raise a ValueError naming the file")


def test_pickled_arrays_are_refused(student, reference, tmp_path):
    """A checkpoint holding a pickled (object) array is refused with a ValueError naming the file:
    np.load(..., allow_pickle=False), since unpickling a file can run any code in it."""
    ck, models = reference("checkpoint"), reference("models")
    path = tmp_path / "pickled.npz"
    ck.save_checkpoint(path, models.build_model(TINY))
    with np.load(path, allow_pickle=False) as z:
        files = {k: z[k] for k in z.files}
    files["param/head.b"] = np.array([{"not": "an array of numbers"}], dtype=object)
    np.savez(path, **files)
    r = student.call("harness:a2.checkpoint_load_blob", np.frombuffer(path.read_bytes(), np.uint8))
    if "error" not in r:
        raise GradingFailure("load_checkpoint unpickled an object array from the file; load with "
                             "allow_pickle=False so a checkpoint can never run code",
                             hint="np.load(path, allow_pickle=False), and turn its errors into CheckpointError")
    if not r["error"][2] or r["path"] not in r["error"][1]:
        raise GradingFailure("a checkpoint with a pickled array must raise a ValueError (CheckpointError) naming "
                             "the file")


def test_save_is_atomic(student):
    """A crash while writing leaves the previous checkpoint intact and no temporary files."""
    r = student.call("harness:a2.checkpoint_crash", TINY)
    if not r["raised"]:
        raise GradingFailure("save_checkpoint should let the simulated crash propagate")
    if not same_bytes(r["before"], r["after"]):
        raise GradingFailure("a crash while saving damaged the existing checkpoint: write to a temporary file "
                             "in the same folder, then os.replace it into place")
    if r["listing"] != ["model.npz"]:
        raise GradingFailure(f"a crash while saving left files behind: {listing_excerpt(r['listing'])}")


def _grader_checkpoint(reference, tmp_path, rng):
    """A checkpoint made here with the reference: TINY with weights away from its initial ones and
    an AdamW state after two steps. Returns the file's bytes, the params and the optimiser state."""
    ck, models, optim = reference("checkpoint"), reference("models"), reference("optim")
    model = models.build_model(TINY)
    model.params = {k: (v + rng.standard_normal(v.shape)).astype(v.dtype) for k, v in model.params.items()}
    opt = optim.AdamW(model.params, lr=1e-2, weight_decay=0.05)
    for _ in range(2):
        opt.step({k: rng.standard_normal(v.shape).astype(v.dtype) for k, v in model.params.items()})
    path = tmp_path / "grader.npz"
    ck.save_checkpoint(path, model, opt, {"epoch": 3, "step": 2})
    state = {k: {kk: np.array(vv) for kk, vv in st.items()} for k, st in opt.state.items()}
    return np.frombuffer(path.read_bytes(), np.uint8), {k: np.array(v) for k, v in model.params.items()}, state


def test_load_reads_the_file(student, reference, tmp_path, rng):
    """load_checkpoint returns what the file holds: a checkpoint made by the grader, with weights unlike
    any the student's process has saved, restored into a freshly built model, makes that model equal
    to the saved one (and the optimiser state equal to the saved state)."""
    blob, params, state = _grader_checkpoint(reference, tmp_path, rng)
    r = student.call("harness:a2.checkpoint_restore_blob", TINY, blob)
    for k, v in params.items():
        expect_close(r["params"].get(k), v, rtol=0, name=f"restored params[{k!r}]",
                     hint="read the arrays from the file at path (np.load), never from memory")
    loaded = r["loaded"]
    for name, st in state.items():
        for key, v in st.items():
            expect_close(loaded["optim"].get(name, {}).get(key), v, rtol=0, name=f"loaded optimiser state {name}/{key}")
    if loaded["meta"].get("progress") != {"epoch": 3, "step": 2}:
        raise GradingFailure("the loaded meta must hold the progress stored in the file")


def _meta(blob):
    files = read_npz(np.asarray(blob).tobytes(), "the checkpoint")   # bounded: the student's file
    meta = files.get("meta")
    if type(meta) is not np.ndarray or meta.dtype.kind != "U":
        raise GradingFailure("the checkpoint's meta must be a JSON object stored as a string array")
    return parse_json(str(meta), "the checkpoint's meta")


def test_save_without_optimizer_or_progress(student):
    """save_checkpoint(path, model) alone: meta["optimizer"] is null and meta["progress"] is {} (None,
    the default, is stored as {} so meta["progress"] is always a dict)."""
    r = student.call("harness:a2.checkpoint_save_plain", TINY)
    meta = _meta(r["file"])
    if meta.get("progress") != {}:
        raise GradingFailure("with progress=None, meta['progress'] must be stored as {} (an empty dict)")
    if "optimizer" not in meta or meta["optimizer"] is not None:
        raise GradingFailure("with no optimiser, meta['optimizer'] must be null")
    if r["listing"] != ["model.npz"]:
        raise GradingFailure(f"saving left extra files behind: {listing_excerpt(r['listing'])}")


@pytest.mark.property
def test_save_writes_its_temporary_file_beside_the_target(student):
    """The temporary file is made in the checkpoint's own folder, so renaming it into place never
    crosses file systems (a rename from /tmp to another disk fails)."""
    r = student.call("harness:a2.checkpoint_save_plain", TINY)
    renames = r["renames"]
    if type(renames) is not list or any(type(x) is not list or len(x) != 2 for x in renames):
        raise GradingFailure("the harness could not watch save_checkpoint")
    if any(src != dst for src, dst in renames):
        raise GradingFailure("save_checkpoint renamed a temporary file from another folder into place: make it "
                             "in the checkpoint's folder (tempfile.mkstemp(dir=folder)), then os.replace it",
                             hint="a rename across file systems fails; the same folder is always the same one")
