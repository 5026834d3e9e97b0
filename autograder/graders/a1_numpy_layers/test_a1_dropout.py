"""Task 1.5: inverted dropout (mask statistics, eval-mode identity, seeding, dtype)."""
import numpy as np
import pytest

from a1_helpers import (F32_HINT, GradingFailure, check_inputs_unchanged, close, describe, expect_array, parts,
                        random_array)

pytestmark = pytest.mark.task1_5

FWD, BWD = "layers.dropout_forward", "layers.dropout_backward"


def _forward(student, x, p, **kw):
    return parts(student.call(FWD, x, p, **kw), 2, "dropout_forward return value (out, cache)")


@pytest.mark.hint("keep each element with probability 1 - p (one draw per element) and scale the kept ones by 1 / (1 - "
                  "p)")
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_mask_statistics(student, p):
    """Each element is kept with probability 1 - p and scaled by 1 / (1 - p); the rest are 0."""
    x = np.ones((200, 300))
    out, _ = _forward(student, x, p, train=True, rng=1234)
    expect_array(out, shape=x.shape, dtype=np.float64, name="out")
    kept = out != 0
    close(out[kept], np.full(int(kept.sum()), 1.0 / (1.0 - p)), "kept entries of out (x = 1)", rtol=1e-12)
    frac = kept.mean()
    # 60,000 Bernoulli(1 - p) draws: 5 standard deviations is at most 0.011
    if abs(frac - (1 - p)) > 5 * np.sqrt(p * (1 - p) / x.size):
        raise GradingFailure(f"out: kept fraction {frac:.4f} with p = {p}; expected about {1 - p:.2f}")
    # independence: neither whole rows nor whole columns share one draw
    if (kept == kept[:1]).all() or (kept == kept[:, :1]).all():
        raise GradingFailure("out: the mask repeats along an axis; draw one value per element")
    row_frac = kept.mean(axis=1)
    if row_frac.std() < 0.25 * np.sqrt(p * (1 - p) / x.shape[1]):
        raise GradingFailure("out: every row keeps the same number of elements; the mask is not random per element")


@pytest.mark.hint("one independent draw per element and per call: never a fixed number of kept elements (a "
                  "permutation), nor one draw shared by several elements")
def test_dropout_draws_are_independent_over_seeds(student, rng):
    """Over 100 seeds, each element of a (8, 25) input is kept with probability 1 - p on its
    own and independently of the others: the number kept varies from seed to seed as a
    binomial count does (a permutation that keeps exactly (1 - p) n elements does not), and
    every position is kept about as often as every other. Only statistics of the masks are
    checked, never which draw comes first."""
    p, x = 0.3, np.ones((8, 25))
    kept = []
    for seed in rng.integers(2**62, size=100):
        out, _ = _forward(student, x, p, train=True, rng=int(seed))
        expect_array(out, shape=x.shape, dtype=np.float64, name="out")
        kept.append(out != 0)
    kept = np.array(kept, dtype=np.float64)                 # (seeds, 8, 25)
    counts = kept.reshape(len(kept), -1).sum(axis=1)        # kept per seed: Binomial(200, 0.7)
    sd = np.sqrt(x.size * p * (1 - p))
    # the sample sd of 100 binomial counts lies within [0.5, 2] sd with probability 1 - 1e-15
    if not 0.5 * sd <= counts.std(ddof=1) <= 2 * sd:
        raise GradingFailure(f"out: the number of kept elements varies by {counts.std(ddof=1):.3g} (standard "
                             f"deviation over 100 seeds), where independent draws vary by about {sd:.3g}")
    per_position = kept.mean(axis=0)                         # each: Binomial(100, 0.7) / 100
    worst = float(np.abs(per_position - (1 - p)).max())
    if worst > 5.5 * np.sqrt(p * (1 - p) / len(kept)):
        raise GradingFailure(f"out: some position is kept in a share {1 - p:.2f} +- {worst:.2f} of 100 seeds; every "
                             f"element should be kept with probability 1 - p = {1 - p:.2f}")


@pytest.mark.hint("the backward multiplies dout by the cached, already scaled mask")
def test_dropout_backward_uses_the_same_mask(student, rng):
    x, dout = random_array(rng, (7, 11)), random_array(rng, (7, 11))
    p = 0.4
    out, cache = _forward(student, x, p, train=True, rng=7)
    expect_array(out, shape=x.shape, dtype=np.float64, name="out")
    mask = (out / x) * (1.0 - p)  # 1 where kept, 0 where dropped
    if not np.all((np.abs(mask) < 1e-9) | (np.abs(mask - 1.0) < 1e-9)):
        raise GradingFailure("out: entries are neither 0 nor x / (1 - p)")
    close(student.call(BWD, dout, cache), dout * np.round(mask) / (1.0 - p), "dropout_backward dx")


@pytest.mark.hint("train=False and p = 0 are the identity: return x itself, and cache None")
@pytest.mark.parametrize("case", ["eval", "p=0"])
def test_dropout_identity(student, rng, case):
    """Eval mode (any p) and p = 0 return x unchanged, and the backward returns dout."""
    x, dout = random_array(rng, (3, 4, 5)), random_array(rng, (3, 4, 5))
    kw = {"train": False} if case == "eval" else {"train": True}
    out, cache = _forward(student, x, 0.6 if case == "eval" else 0.0, rng=3, **kw)
    close(out, x, "out", rtol=0, atol=0)
    if cache is not None:   # the documented cache for the identity: the backward passes dout through as it is
        raise GradingFailure(f"dropout_forward cache: expected None for the identity, got {describe(cache)}",
                             "train=False and p = 0 are the identity: return x itself, and cache None")
    close(student.call(BWD, dout, cache), dout, "dropout_backward dx", rtol=0, atol=0)


@pytest.mark.hint("draw from np.random.default_rng(rng) (it keeps a Generator as it is), never from np.random.* "
                  "functions")
def test_dropout_seeding(student):
    """An int seed gives the same mask every time, different seeds different masks; a
    Generator advances between calls; rng=None draws fresh masks."""
    x = np.ones((40, 50))
    a, _ = _forward(student, x, 0.5, rng=11)
    b, _ = _forward(student, x, 0.5, rng=11)
    c, _ = _forward(student, x, 0.5, rng=12)
    close(b, a, "out for a repeated int seed", rtol=0, atol=0)
    if np.array_equal(a, c):
        raise GradingFailure("out: seeds 11 and 12 gave the same mask; use rng to draw it")
    first, second, again = parts(student.call("harness:a1.dropout_generator", x, 0.5, 5), 3, "outputs")
    for name, v in (("first", first), ("second", second), ("again", again)):
        expect_array(v, shape=x.shape, dtype=np.float64, name=f"out ({name} call with a Generator)")
    if np.array_equal(first, second):
        raise GradingFailure("out: two calls with the same np.random.Generator gave the same mask; "
                             "draw from the Generator you are given (np.random.default_rng(rng) keeps it)")
    close(again, first, "out for a fresh Generator with the same seed", rtol=0, atol=0)
    one, two = parts(student.call("harness:a1.dropout_no_rng", x, 0.5), 2, "outputs")
    if np.array_equal(one, two):
        raise GradingFailure("out: two calls with rng=None gave the same mask; use fresh entropy")


@pytest.mark.hint(F32_HINT)
def test_dropout_keeps_float32(student, rng):
    x = random_array(rng, (30, 40), dtype=np.float32) + np.float32(3.0)  # no zeros in x
    dout = random_array(rng, (30, 40), dtype=np.float32)
    p = 0.3
    out, cache = _forward(student, x, p, rng=2)
    expect_array(out, shape=x.shape, dtype=np.float32, name="out")
    kept = out != 0
    close(out[kept], (x[kept].astype(np.float64) / (1 - p)), "kept entries of out", rtol=1e-6, dtype=np.float32)
    dx = student.call(BWD, dout, cache)
    expect_array(dx, shape=x.shape, dtype=np.float32, name="dropout_backward dx")
    close(dx, np.where(kept, dout.astype(np.float64) / (1 - p), 0.0), "dropout_backward dx", rtol=1e-6,
          atol=1e-7, dtype=np.float32)


@pytest.mark.hint("p = 1 drops every element: handle it before dividing by 1 - p")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dropout_p_one_drops_everything(student, rng, dtype):
    """p = 1 (the docstring's edge case): out is all zeros, and so is dx."""
    x, dout = random_array(rng, (5, 6), dtype=dtype), random_array(rng, (5, 6), dtype=dtype)
    out, cache = _forward(student, x, 1.0, train=True, rng=4)
    close(out, np.zeros(x.shape), "out with p = 1", rtol=0, atol=0, dtype=dtype,
          hint="p = 1 drops every element: handle it before dividing by 1 - p")
    close(student.call(BWD, dout, cache), np.zeros(x.shape), "dropout_backward dx with p = 1", rtol=0, atol=0,
          dtype=dtype)


@pytest.mark.hint("the cache is the keep mask already scaled by 1 / (1 - p), in x's dtype")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dropout_cache_is_the_scaled_mask(student, rng, dtype):
    """The documented cache in train mode: the scaled keep mask (shape and dtype of x,
    entries 0 or 1/(1-p)), with out = x * mask."""
    x = random_array(rng, (20, 30), dtype=dtype) + dtype(3.0)  # no zeros in x
    p = 0.25
    out, mask = _forward(student, x, p, train=True, rng=9)
    expect_array(mask, shape=x.shape, dtype=dtype, name="dropout_forward cache (the mask)")
    scaled = np.float64(dtype(1.0) / dtype(1.0 - p))
    ok = (mask == 0) | (np.abs(mask.astype(np.float64) - scaled) <= 1e-6 * scaled)
    if not ok.all():
        raise GradingFailure("dropout_forward cache (the mask): entries should be 0 or 1/(1-p)",
                             hint="cache the keep mask already scaled by 1/(1-p), as the docstring says")
    close(out, x.astype(np.float64) * mask, "out (x * mask)", rtol=1e-6, atol=0, dtype=dtype)


@pytest.mark.hint("work on copies: never write into x or dout")
@pytest.mark.weight(0.5)
@pytest.mark.property
def test_dropout_leaves_inputs_unchanged(student, rng):
    """dropout_forward never writes into x, the backward never into dout."""
    x, dout = random_array(rng, (6, 7)), random_array(rng, (6, 7))
    check_inputs_unchanged(student, FWD, BWD, (x, 0.5), dout, {"train": True, "rng": 3})
