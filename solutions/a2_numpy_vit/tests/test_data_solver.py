"""Tasks 2.7, 2.8 and 2.9: data pipeline, training loop, checkpoints, inference."""
import json
import os

import numpy as np
import pytest

import checkpoint
import data
import models
import predict
import vitdata
from solver import Solver


@pytest.mark.task2_7
def test_minibatches_cover_every_example_once():
    X, y = np.arange(10)[:, None], np.arange(10)
    batches = list(data.iterate_minibatches(X, y, 4, seed=1))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate([b[1] for b in batches])) == list(range(10))
    again = list(data.iterate_minibatches(X, y, 4, seed=1))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(batches, again))


@pytest.mark.task2_7
def test_crop_flip_normalize(rng):
    x = rng.integers(0, 256, (6, 1, 5, 5), dtype=np.uint8)
    crop = data.random_crop(x, 2, rng=0)
    assert crop.shape == x.shape and crop.dtype == np.uint8
    flip = data.random_flip(x, rng=0, p=1.0)
    assert np.array_equal(flip, x[..., ::-1])
    z = data.normalize(x, (0.5,), (0.25,))
    assert z.dtype == np.float32 and np.allclose(z, (x / 255 - 0.5) / 0.25, atol=1e-5)


def _tiny_data():
    X, y = vitdata.synthetic("mnist", "train", n=200, seed=0)
    Xv, yv = vitdata.synthetic("mnist", "test", n=100, seed=0)
    return {"X_train": X, "y_train": y, "X_val": Xv, "y_val": yv}


def _tiny_vit():
    return models.ViT(patch_size=7, dim=16, depth=1, num_heads=2, mlp_ratio=2.0)


@pytest.mark.task2_8
def test_solver_learns_and_checkpoints(tmp_path):
    model = _tiny_vit()
    solver = Solver(model, _tiny_data(), lr=3e-3, batch_size=50, num_epochs=3, warmup_epochs=0.5,
                    mean=vitdata.MEAN["mnist"], std=vitdata.STD["mnist"], checkpoint_path=tmp_path / "c.npz",
                    progress=False, verbose=False)
    h = solver.train()
    assert len(h["val_acc"]) == 3 and len(h["loss"]) == 12
    assert np.mean(h["loss"][-4:]) < np.mean(h["loss"][:4])
    ckpt = checkpoint.load_checkpoint(tmp_path / "c.npz")
    assert ckpt["meta"]["format_version"] == checkpoint.VERSION
    for k, v in model.params.items():
        assert np.array_equal(ckpt["params"][k], v)
    assert os.listdir(tmp_path) == ["c.npz"]  # no temporary file left behind
    solver.plot(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.task2_8
def test_checkpoint_from_another_model_is_refused(tmp_path):
    checkpoint.save_checkpoint(tmp_path / "c.npz", _tiny_vit())
    other = models.ViT(patch_size=4, dim=16, depth=1, num_heads=2)
    with pytest.raises(ValueError, match="patch_size"):
        checkpoint.restore(other, checkpoint.load_checkpoint(tmp_path / "c.npz"))


@pytest.mark.task2_9
def test_predict_command(tmp_path, capsys):
    from PIL import Image
    checkpoint.save_checkpoint(tmp_path / "c.npz", _tiny_vit())
    Image.fromarray(np.full((40, 30, 3), 200, np.uint8)).save(tmp_path / "digit.jpg")
    assert predict.main(["--checkpoint", str(tmp_path / "c.npz"), str(tmp_path / "digit.jpg")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and lines[1].strip().startswith("1.")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    assert predict.main(["--checkpoint", str(tmp_path / "c.npz"), str(tmp_path / "bad.png")]) != 0
    assert "bad.png" in capsys.readouterr().err


@pytest.mark.task2_9
def test_predict_reads_a_checkpoint_saved_without_progress(tmp_path, capsys):
    """save_checkpoint's default progress=None, stored as {} (as documented) or as null: predict works on both."""
    from PIL import Image
    path, image = tmp_path / "c.npz", str(tmp_path / "digit.png")
    checkpoint.save_checkpoint(path, _tiny_vit())
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(image)
    assert predict.main(["--checkpoint", str(path), image]) == 0, capsys.readouterr().err
    files = dict(np.load(path))
    meta = json.loads(str(files["meta"]))
    meta["progress"] = None
    files["meta"] = np.array(json.dumps(meta))
    np.savez(path, **files)
    assert predict.main(["--checkpoint", str(path), image]) == 0, capsys.readouterr().err
    assert len(capsys.readouterr().out.strip().splitlines()) == 8  # two runs of: the path and three classes


@pytest.mark.task2_9
def test_top_k():
    res = predict.top_k(np.array([0.0, 2.0, 1.0, -1.0]), k=3)
    assert [i for i, _ in res] == [1, 2, 0]
    assert np.isclose(sum(p for _, p in res) + np.exp(-1) / np.exp([0, 2, 1, -1]).sum(), 1.0)
