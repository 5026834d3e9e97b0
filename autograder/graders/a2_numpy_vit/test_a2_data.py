"""Hidden graders, task 2.7: mini-batches, augmentation, normalisation."""
import numpy as np
import pytest

from autograder.engine.checks import GradingFailure, expect_array, expect_close, sweep

pytestmark = pytest.mark.task2_7


def _ids(n):
    X = np.arange(n, dtype=np.int64).reshape(n, 1, 1, 1) * np.ones((1, 1, 2, 2), np.int64)
    return X, np.arange(n, dtype=np.int64)


@pytest.mark.parametrize("n,bs", [(10, 4), (64, 16), (7, 10)])
def test_minibatches_cover_every_example(student, n, bs):
    X, y = _ids(n)
    batches = student.call("harness:a2.collect_batches", X, y, bs, True, 5)
    sizes = [len(b[1]) for b in batches]
    if sizes != [bs] * (n // bs) + ([n % bs] if n % bs else []):
        raise GradingFailure(f"batch sizes for N={n}, batch_size={bs}: got {sizes}")
    order = np.concatenate([b[1] for b in batches])
    if sorted(order.tolist()) != list(range(n)):
        raise GradingFailure("an epoch must visit every example exactly once")
    for Xb, yb in batches:
        if not np.array_equal(Xb[:, 0, 0, 0], yb):
            raise GradingFailure("images and labels were shuffled differently")


def test_shuffle_is_seeded(student):
    X, y = _ids(100)
    a = np.concatenate([b[1] for b in student.call("harness:a2.collect_batches", X, y, 32, True, 1)])
    b = np.concatenate([b[1] for b in student.call("harness:a2.collect_batches", X, y, 32, True, 1)])
    c = np.concatenate([b[1] for b in student.call("harness:a2.collect_batches", X, y, 32, True, 2)])
    if not np.array_equal(a, b):
        raise GradingFailure("the same seed must give the same order")
    if np.array_equal(a, c) or np.array_equal(a, np.arange(100)):
        raise GradingFailure("different seeds must give different (shuffled) orders")
    d = np.concatenate([b[1] for b in student.call("harness:a2.collect_batches", X, y, 32, False, 1)])
    if not np.array_equal(d, np.arange(100)):
        raise GradingFailure("shuffle=False must keep the original order")


def test_random_crop_windows(student, rng):
    """Every output is one H x W window of the zero-padded image; offsets differ between images and
    reach both ends, 0 and 2 * padding, in each direction."""
    x = rng.integers(1, 256, (100, 2, 6, 5), dtype=np.uint8)
    pad = 2
    out = expect_array(student.call("data.random_crop", x, pad, rng=7), shape=x.shape, dtype=np.uint8,
                       name="random_crop")
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    offsets = []
    for i in range(len(x)):
        found = [(dy, dx) for dy in range(2 * pad + 1) for dx in range(2 * pad + 1)
                 if np.array_equal(out[i], xp[i, :, dy:dy + 6, dx:dx + 5])]
        if not found:
            raise GradingFailure(f"image {i} is not a crop of the padded image")
        offsets.append(found[0])
    if len(set(offsets)) < 5:
        raise GradingFailure("crop offsets should be drawn per image (got almost the same offset everywhere)")
    for axis, name in ((0, "vertical"), (1, "horizontal")):
        seen = {o[axis] for o in offsets}
        if seen != set(range(2 * pad + 1)):
            raise GradingFailure(f"{name} crop offsets in 100 images were {sorted(seen)}; each should be uniform "
                                 f"in 0..2*padding = 0..{2 * pad}",
                                 hint="rng.integers(0, 2 * padding + 1): the upper bound is exclusive")
    again = student.call("data.random_crop", x, pad, rng=7)
    if not np.array_equal(out, again):
        raise GradingFailure("random_crop with the same seed must give the same result")
    same = student.call("data.random_crop", x, 0, rng=7)
    expect_close(same, x, rtol=0, name="random_crop with padding=0")


def _crop_offsets(x, out, pad):
    """(dy, dx) of each output window in its zero-padded image (None where it is no window)."""
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    found = []
    for i in range(N):
        hits = [(dy, dx) for dy in range(2 * pad + 1) for dx in range(2 * pad + 1)
                if np.array_equal(out[i], xp[i, :, dy:dy + H, dx:dx + W])]
        found.append(hits[0] if len(hits) == 1 else None)
    return found


# chi-square critical values at p = 1e-6 (24 and 16 degrees of freedom): a fair draw fails
# one grading in a million
CHI2_25, CHI2_4X4 = 73.0, 58.0


def test_random_crop_offsets_uniform_and_independent(student, rng):
    """Over many seeds, the offset pairs (dy, dx) are uniform over the (2p+1)^2 windows: dy and dx each
    uniform and drawn independently (any order of draws from rng is accepted)."""
    pad, seeds, n = 2, range(8), 75
    x = rng.integers(1, 256, (n, 1, 5, 4), dtype=np.uint8)
    counts = np.zeros((2 * pad + 1, 2 * pad + 1))
    for seed in seeds:
        out = expect_array(student.call("data.random_crop", x, pad, rng=seed), shape=x.shape, dtype=np.uint8,
                           name="random_crop")
        for o in _crop_offsets(x, out, pad):
            if o is None:
                raise GradingFailure("an output image is not a crop of its padded image")
            counts[o] += 1
    expected = counts.sum() / counts.size
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    if chi2 > CHI2_25:
        rows, cols = counts.sum(axis=1), counts.sum(axis=0)
        uniform = max(((rows - rows.mean()) ** 2 / rows.mean()).sum(), ((cols - cols.mean()) ** 2 / cols.mean()).sum())
        what = "dy and dx are not drawn independently" if uniform < 20 else "the offsets are not uniform"
        raise GradingFailure(f"over {len(seeds)} seeds x {n} images the (dy, dx) pairs are far from uniform over the "
                             f"{counts.size} windows: {what}",
                             hint="draw dy and dx separately for every image, each uniform in 0..2*padding")


def test_random_crop_keeps_dtype(student, rng):
    """random_crop takes images of any dtype and returns the same shape and dtype."""
    def check(case):
        x = (rng.integers(1, 256, (6, 2, 5, 7)).astype(case["dtype"]))
        out = expect_array(student.call("data.random_crop", x, 1, rng=4), shape=x.shape, dtype=x.dtype,
                           name=f"random_crop of {case['dtype']} images")
        if any(o is None for o in _crop_offsets(x, out, 1)):
            raise GradingFailure(f"random_crop of {case['dtype']} images: an output is not a crop of its padded image")
    sweep([{"dtype": d} for d in ("uint8", "float32", "float64")], check)


@pytest.mark.property
def test_augmentation_leaves_its_input_alone(student, rng):
    """random_crop and random_flip return new images: the batch passed in is not changed in place."""
    x = rng.integers(0, 256, (40, 1, 4, 4), dtype=np.uint8)

    def check(case):
        args = [x, 1] if case["function"] == "random_crop" else [x]
        r = student.call("harness:a2.call_and_inputs", f"data.{case['function']}", args, {"rng": 3})
        expect_close(r["args"][0], x, rtol=0, name=f"the images after {case['function']}",
                     hint="work on a copy (x.copy(), np.pad, np.empty_like), never on x itself")
    sweep([{"function": "random_crop"}, {"function": "random_flip"}], check)


def test_random_flip(student, rng):
    x = rng.integers(0, 256, (200, 3, 4, 4), dtype=np.uint8)
    out = expect_array(student.call("data.random_flip", x, rng=3), shape=x.shape, dtype=np.uint8, name="random_flip")
    flipped = np.array([np.array_equal(o, xi[..., ::-1]) for o, xi in zip(out, x)])
    kept = np.array([np.array_equal(o, xi) for o, xi in zip(out, x)])
    if not np.all(flipped | kept):
        raise GradingFailure("each image must be either unchanged or flipped left-right (last axis)")
    if not 0.3 < flipped.mean() < 0.7:
        raise GradingFailure(f"with p=0.5 about half the images should flip; {flipped.mean():.0%} did")
    none = student.call("data.random_flip", x, rng=3, p=0.0)
    expect_close(none, x, rtol=0, name="random_flip with p=0")
    expect_close(student.call("data.random_flip", x, rng=3, p=1.0), x[..., ::-1], rtol=0, name="random_flip with p=1")


@pytest.mark.parametrize("C", [1, 3])
def test_normalize(student, rng, C):
    x = rng.integers(0, 256, (5, C, 4, 4), dtype=np.uint8)
    mean, std = tuple(rng.uniform(0.2, 0.6, C)), tuple(rng.uniform(0.2, 0.4, C))
    expected = ((x / 255.0 - np.array(mean).reshape(1, C, 1, 1)) / np.array(std).reshape(1, C, 1, 1))
    out = student.call("data.normalize", x, mean, std)
    expect_close(out, expected.astype(np.float32), rtol=1e-5, atol=1e-5, name="normalize (float32)")
    out64 = student.call("data.normalize", x, mean, std, dtype="float64")
    expect_close(out64, expected, rtol=1e-10, atol=1e-12, name="normalize (dtype=float64)")
