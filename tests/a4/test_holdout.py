"""The capstone's held-out check (a4_holdout) and the `review` status it leads to.

The images a checkpoint is held to besides the test set are drawn at grading time from
os.urandom, so no student can know them: random training images and randomly shifted test
copies (zero padding, never the unmoved image). A checkpoint whose test accuracy is more than
a margin above either is held: status `review`, 0 points, whatever else passed. Graded end to
end (a ViT fitted to the test set, one fitted to every public image) in test_a4_graders.py.
"""
from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "autograder" / "graders" / "a4_capstone"))
import a4_eval  # noqa: E402
import a4_holdout  # noqa: E402
from autograder.engine import scoring  # noqa: E402


def _reference_translate(x, dy, dx):
    """The same translation, pixel by pixel."""
    out = np.zeros_like(x)
    n, _, h, w = x.shape
    for i in range(n):
        for r in range(h):
            for c in range(w):
                if 0 <= r - dy[i] < h and 0 <= c - dx[i] < w:
                    out[i, :, r, c] = x[i, :, r - dy[i], c - dx[i]]
    return out


def test_translate_moves_each_image_by_its_own_offset_with_zero_padding():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 256, (30, 3, 9, 7), dtype=np.uint8)
    dy, dx = rng.integers(-3, 4, 30), rng.integers(-3, 4, 30)
    out = a4_holdout.translate(x, dy, dx)
    assert out.shape == x.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out, _reference_translate(x, dy, dx))


def test_offsets_cover_every_shift_but_none():
    dy, dx = a4_holdout.random_offsets(20_000, 2, np.random.default_rng(1))
    seen = set(zip(dy.tolist(), dx.tolist()))
    assert (0, 0) not in seen and len(seen) == 24
    assert dy.min() == dx.min() == -2 and dy.max() == dx.max() == 2
    counts = np.unique(dy * 5 + dx, return_counts=True)[1]
    assert counts.min() > 0.8 * 20_000 / 24           # uniform over the 24 offsets


def test_every_shifted_copy_differs_from_every_test_image():
    rng = np.random.default_rng(2)
    test = a4_eval.Split(rng.integers(1, 256, (200, 1, 28, 28), dtype=np.uint8), np.arange(200) % 10, "t")
    copies = a4_holdout.shifted_copies(test, 150, 2, rng)
    assert len(copies.y) == 150
    flat = {row.tobytes() for row in test.x}
    assert not any(row.tobytes() in flat for row in copies.x)


def test_draws_are_fresh_at_every_grading():
    """Seeded from os.urandom: two gradings draw different images (not a fixed, public slice)."""
    first = a4_holdout.sample_indices(60_000, 2000, a4_holdout.draw_rng())
    second = a4_holdout.sample_indices(60_000, 2000, a4_holdout.draw_rng())
    assert len(set(first)) == 2000 and list(first) == sorted(first)
    assert len(set(first) & set(second)) < 400         # ~67 expected in common


def test_a_split_reads_only_the_sampled_images(tmp_path):
    x = np.arange(50, dtype=np.uint8).repeat(784).reshape(50, 1, 28, 28)
    np.savez(tmp_path / "mnist_train.npz", x=x, y=np.arange(50) % 10)
    job = SimpleNamespace(solutions_dir=str(tmp_path / "solutions" / "a4"))
    split = a4_eval.load_split(job, {"testset_dir": str(tmp_path)}, "mnist", "train", sample=lambda n: np.array([3, 7]))
    assert split.x[:, 0, 0, 0].tolist() == [3, 7] and split.y.tolist() == [3, 7]


@pytest.mark.parametrize("test,held,expected", [
    (99.0, {"a": (97.0, 100, 2.0)}, []),                                   # exactly the margin
    (99.0, {"a": (96.9, 100, 2.0)}, ["96.90% on 100 a (margin 2)"]),
    (99.0, {"a": (96.9, 100, 5.0), "b": (90.0, 100, 5.0)}, ["90.00% on 100 b (margin 5)"]),
    (99.0, {"a": (float("nan"), 100, 5.0)}, ["nan% on 100 a (margin 5)"]),
    (99.0, {"a": (10.0, 0, 5.0)}, []),                                      # nothing drawn, nothing held
])
def test_disagreements(test, held, expected):
    assert a4_holdout.disagreements(test, held) == expected


def test_margins_are_per_checkpoint_with_a_course_default():
    cap = {"holdout_train_images": 5, "holdout_shifted_images": 6, "holdout_max_shift": 1,
           "holdout_margin": 3.0, "shifted_margin": 4.0}
    assert a4_holdout.settings(cap, {}) == a4_holdout.Settings(5, 6, 1, 3.0, 4.0)
    assert a4_holdout.settings(cap, {"holdout_margin": 1.5, "shifted_margin": 9}).margin == 1.5
    assert a4_holdout.settings({}, {}).train_images == a4_holdout.settings({}, {}).shifted_images == 0


def test_the_course_declares_the_check_for_every_checkpoint():
    cap = tomllib.loads((ROOT / "course.toml").read_text(encoding="utf-8"))["capstone"]
    assert cap["holdout_train_images"] >= 1000 and cap["holdout_shifted_images"] >= 1000
    assert 1 <= cap["holdout_max_shift"] <= 4
    for name, spec in cap["checkpoints"].items():
        hold = a4_holdout.settings(cap, spec)
        assert 0 < hold.margin <= 10 and 0 < hold.shifted_margin <= 15, name
    for key in ("eval_memory_mb", "eval_memory_limit_mb"):
        assert cap[key] > 0, key
    assert "train_slice" not in cap


def _record(status: str, outcome: str = "failed"):
    return SimpleNamespace(task="4.1", outcome=outcome, status=status, weight=1.0, name="t", message=status,
                           hint=None, check="", credit=0.0)


def test_a_task_held_for_review_scores_zero_whatever_else_passed():
    task = SimpleNamespace(id="4.1", title="vit_mnist", points=15)
    res = scoring.score_task(task, [_record("passed", "passed"), _record("review"), _record("failed")], [])
    assert res.status == "review" and res.score == 0.0 and res.message == "review"
    assert "review" in scoring.STATUSES and "review" in scoring.ZERO
