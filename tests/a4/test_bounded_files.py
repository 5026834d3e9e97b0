"""The capstone grader's readers for student files (a4_files) and its instructor review notes
(a4_eval.review_notes): every malformed input is a GradingFailure naming the file, found
before it is parsed or allocated, never a RecursionError or gigabytes of memory."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "autograder" / "graders" / "a4_capstone"))
import a4_eval  # noqa: E402
import a4_files  # noqa: E402
from autograder.engine.checks import GradingFailure  # noqa: E402


def _raw(header: dict, data: bytes = b"") -> bytes:
    h = json.dumps(header).encode()
    return len(h).to_bytes(8, "little") + h + data


@pytest.mark.parametrize("text,words", [
    ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "over the"),        # too long to parse at all
    ('{"a": ' + "[" * 1000 + "]" * 1000 + "}", "nested 1001 deep"),
    ('{"a": "[[[[[[", "b": 1}', None),                                    # brackets in strings do not count
    ('{"a": NaN}', "not valid JSON"),
    ('{"a": 1, "a": 2}', "appears twice"),
    ("[1, 2]", "expected a JSON object"),
    ("{", "not valid JSON"),
])
def test_json_is_bounded_and_strict(text, words):
    if words is None:
        assert a4_files.parse_json(text, "config.json", max_depth=1) == {"a": "[[[[[[", "b": 1}
        return
    with pytest.raises(GradingFailure, match=words) as e:
        a4_files.parse_json(text, "config.json", max_depth=4)
    assert "config.json" in e.value.message


def test_a_large_file_is_refused_unread(tmp_path):
    path = tmp_path / "config.json"
    path.write_bytes(b" " * (a4_files.MAX_JSON_BYTES + 1))
    with pytest.raises(GradingFailure, match="over the 65,536-byte limit"):
        a4_files.read_json(path, "checkpoints/x/config.json")


def test_a_link_is_refused(tmp_path):
    (tmp_path / "target.json").write_text("{}")
    (tmp_path / "config.json").symlink_to(tmp_path / "target.json")
    with pytest.raises(GradingFailure, match="not a plain file"):
        a4_files.read_json(tmp_path / "config.json", "config.json")


def test_a_valid_checkpoint_loads_as_float32():
    raw = save({"w": torch.ones(2, 3, dtype=torch.float16), "b": torch.zeros(3)})
    tensors = a4_files.load_tensors(raw, "c.safetensors")
    assert tensors["w"].dtype == torch.float32 and tuple(tensors["w"].shape) == (2, 3)


@pytest.mark.parametrize("raw,words", [
    ((1 << 40).to_bytes(8, "little") + b"{}" + bytes(8), "not a safetensors file"),
    (_raw({"w": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}, bytes(8)), "dtype 'I64'"),
    (_raw({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}, bytes(8)), "do not match its shape"),
    (_raw({"w": {"dtype": "F32", "shape": [1 << 30, 1 << 30], "data_offsets": [0, 4]}}, bytes(4)), "do not match"),
    (_raw({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, bytes(16)), "the file holds 16"),
    (_raw({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
           "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, bytes(12)), "overlaps"),
    (_raw({f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(2001)}), "at most 2,000"),
    (_raw({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "extra": 1}}, bytes(4)), "not a tensor"),
    (_raw({"__metadata__": {"x": 1}}), "__metadata__"),
    (save({"w": torch.tensor([1.0, float("inf")])}), "NaN/Inf"),
])
def test_a_bad_safetensors_file_is_named(raw, words):
    with pytest.raises(GradingFailure, match=words) as e:
        a4_files.load_tensors(raw, "checkpoints/x/checkpoint.safetensors")
    assert "checkpoints/x/checkpoint.safetensors" in e.value.message


CAP = {"review_gap": 3.0}
PROV = {"data": "real", "test_acc": 0.98, "recipe": "vit_mnist_gpu", "dataset": "mnist", "epochs": 12,
        "wall_s": 60.0, "device": "cuda", "data_copy": "MNIST"}
TRAIN, SHIFTED = "training images drawn at grading time", "shifted test copies"


def _notes(test, train, prov, disagree=()):
    held = {TRAIN: (train, 2000, 2.0), SHIFTED: (test - 1.0, 2000, 5.0)}
    return "\n".join(a4_eval.review_notes("vit_mnist", {"test": test, "held": held, "n_test": 10000,
                                                        "disagree": list(disagree)}, prov, CAP))


def test_an_honest_checkpoint_raises_no_flag():
    text = _notes(98.1, 99.4, PROV)
    assert "FLAG" not in text and "recipe=vit_mnist_gpu" in text
    assert f"measured test 98.10%, {TRAIN} 99.40% (2,000), {SHIFTED} 97.10% (2,000)" in text


@pytest.mark.parametrize("test,train,prov,disagree,words", [
    (99.5, 60.0, PROV, [f"60.00% on 2,000 {TRAIN} (margin 2)"],
     f"held for review, 0 points until an override: test accuracy 99.50% on 10,000 images, but 60.00% on "
     f"2,000 {TRAIN} (margin 2)"),
    (98.0, 99.0, {**PROV, "test_acc": 0.80}, [], "recorded 80.00% test accuracy, the grader measured 98.00%"),
    (98.0, 99.0, {**PROV, "data": "synthetic"}, [], "data = 'synthetic'"),
    (98.0, 99.0, {**PROV, "test_acc": "high"}, [], "records no test accuracy"),
    (98.0, 99.0, None, [], "no provenance.json"),
    (98.0, 99.0, {"unreadable": "JSON nested 9 deep"}, [], "provenance.json unreadable"),
])
def test_suspicious_checkpoints_are_flagged(test, train, prov, disagree, words):
    text = _notes(test, train, prov, disagree)
    assert "FLAG vit_mnist" in text and words in text


CONFIG_SCRIPT = r"""
import importlib, json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import a4_model
from autograder.engine.checks import GradingFailure
spec = {"dataset": "mnist", "models": ["vit"]}
base = {"model": "vit", "dataset": "mnist", "num_classes": 10, "img_size": 28, "in_chans": 1,
        "patch_size": 7, "embed_dim": 16, "depth": 1, "num_heads": 4}
out = {}
for key, change in json.loads(sys.argv[3]).items():
    try:
        cfg = a4_model.check_config({**base, **change}, spec, "config.json", importlib.import_module)
        a4_model.build(cfg, {}, "config.json", importlib.import_module, 50_000)
        out[key] = "ok"
    except GradingFailure as e:
        out[key] = e.message
print(json.dumps(out))
"""
CASES = {
    "unknown": ({"lookup_table": 1}, "unknown config key 'lookup_table'"),
    "type": ({"depth": "2"}, "depth = '2' should be a int"),
    "range": ({"embed_dim": 4096}, "embed_dim = 4096 is outside the graded range"),
    "patch": ({"patch_size": 1}, "patch_size = 1 is outside"),
    "family": ({"model": "convit"}, "this task needs one of 'vit'"),
    "cap": ({"embed_dim": 256, "depth": 4}, "graded models have at most 50,000"),
    "config_error": ({"patch_size": 5}, "does not divide"),
    "empty": ({}, "missing from the checkpoint"),
}


def test_config_json_is_validated_before_a_model_is_built():
    import subprocess
    root = Path(__file__).resolve().parents[2]
    changes = {k: v[0] for k, v in CASES.items()}
    proc = subprocess.run([sys.executable, "-c", CONFIG_SCRIPT, str(root / "solutions" / "a4_capstone"),
                           str(root / "autograder" / "graders" / "a4_capstone"), json.dumps(changes)],
                          cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for key, (_, words) in CASES.items():
        assert words in out[key], (key, out[key])
