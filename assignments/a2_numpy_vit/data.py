"""Task 2.7: mini-batches, augmentation and normalisation.

    for Xb, yb in iterate_minibatches(X, y, batch_size=128, seed=epoch):
        Xb = random_crop(Xb, padding=2, rng=rng)      # (B, C, H, W), same shape
        Xb = random_flip(Xb, rng=rng)                 # CIFAR-10 only: a flipped digit is not a digit
        Xb = normalize(Xb, vitdata.MEAN["mnist"], vitdata.STD["mnist"])

Randomness comes from a seed or a numpy Generator (`rng`), never from global state, so a
run can be repeated exactly.
"""
import numpy as np


def iterate_minibatches(X, y, batch_size, shuffle=True, seed=0):
    """Yield (X[idx], y[idx]) for consecutive mini-batches covering every example once.

    X: (N, ...); y: (N,). With shuffle, the order is a permutation drawn from
    np.random.default_rng(seed); without, the original order. The last batch holds the
    remaining N % batch_size examples (if any).

    Raises ValueError when X and y differ in length or batch_size is not a positive int.
    Written with `yield`, this is a generator function, so those checks run at the first
    next(), not when it is called; a version that checks at the call (one that returns an
    iterator instead of yielding) is just as correct: the tests only iterate valid arguments
    and never depend on when a bad one is reported.
    """
    if len(X) != len(y):
        raise ValueError(f"X and y disagree on the number of examples: {len(X)} vs {len(y)}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    raise NotImplementedError("Task 2.7: an index order (permuted or not), sliced batch_size at a time")


def random_crop(x, padding, rng=None):
    """Pad every image with `padding` zeros on each side, then cut a random H x W window.

    x: (N, C, H, W), any dtype, left unchanged. Each image gets its own offset (dy, dx), dy
    and dx drawn independently, each uniform in 0..2*padding. Returns an array of the same
    shape and dtype. padding=0 returns x unchanged (and draws nothing).
    Offsets come from np.random.default_rng(rng). The reference draws them in one call,
    rng.integers(0, 2*padding + 1, size=(N, 2)) (column 0 dy, column 1 dx); any other
    order of draws from rng is accepted: the tests check that every output is a window of
    its padded image, that offsets vary per image over the whole range, that over many seeds
    the (dy, dx) pairs spread evenly over all the windows, and that a seed repeats the result,
    never which offset a given image got.
    """
    if x.ndim != 4:
        raise ValueError(f"random_crop expects images (N, C, H, W), got shape {x.shape}")
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    rng = np.random.default_rng(rng)
    raise NotImplementedError("Task 2.7: np.pad, one offset pair per image, then slice (a loop over images is fine)")
    return out


def random_flip(x, rng=None, p=0.5):
    """Flip each image left-right with probability p. x: (N, C, H, W), left unchanged; returns a
    new array of the same shape.

    The reference flips image i where rng.random(N)[i] < p (one draw per image); as with
    random_crop, any per-image draw from rng is accepted (tests check properties and seeding).
    """
    if x.ndim != 4:
        raise ValueError(f"random_flip expects images (N, C, H, W), got shape {x.shape}")
    rng = np.random.default_rng(rng)
    raise NotImplementedError("Task 2.7: choose which images flip, reverse their last axis")
    return out


def normalize(x, mean, std, dtype=np.float32):
    """uint8 images (N, C, H, W) -> dtype, scaled to [0, 1], then (x - mean[c]) / std[c].

    mean, std: one number per channel (C,), on the [0, 1] scale (e.g. vitdata.MEAN["mnist"]).
    """
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    if x.ndim != 4 or mean.shape != (x.shape[1],) or std.shape != (x.shape[1],):
        raise ValueError(f"normalize needs images (N, C, H, W) and C means and stds; "
                         f"got x {x.shape}, mean {mean.shape}, std {std.shape}")
    raise NotImplementedError("Task 2.7: fold 1/255, mean and std into one scale and shift per channel")
    return out


def augment(x, rng, padding=0, flip=False):
    """The training augmentation: random crop (if padding) then random flip (if flip).

    Both draw from the same rng, in that order: the crop's offsets first, then the flips.
    """
    if padding:
        x = random_crop(x, padding, rng)
    if flip:
        x = random_flip(x, rng)
    return x
