"""Task 3.8: on-device augmentation (by its properties), the training step (against the
reference with plain SGD), overfitting one batch (accuracy measured here, on the returned
weights) and evaluation."""
import pytest
import torch

from a3_common import build, cfg_dict, close, gen, random_state, ref
from autograder.engine.checks import GradingFailure, expect_array, expect_close

pytestmark = pytest.mark.task3_8


def _images(n, c=2, h=6, w=6, seed=0) -> torch.Tensor:
    # values 1..255, never 0, so zero padding is recognisable; no image is left-right symmetric
    return torch.randint(1, 256, (n, c, h, w), generator=gen(seed), dtype=torch.uint8)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_random_crop_windows(student, dtype):
    """Every output is one (2p+1)^2 window of the zero-padded image; all windows occur."""
    x = _images(300, seed=81).to(dtype)
    p = 2
    out = student.call("harness:a3.augment", "random_crop", x, 81, p)
    expect_array(out, shape=tuple(x.shape), dtype=dtype, name="random_crop output", kind="torch")
    xp = torch.nn.functional.pad(x, (p, p, p, p))
    which = torch.full((len(x),), -1)
    for a in range(2 * p + 1):
        for b in range(2 * p + 1):
            match = (xp[:, :, a:a + 6, b:b + 6] == out).flatten(1).all(dim=1)
            which[match & (which < 0)] = a * (2 * p + 1) + b
    if (which < 0).any():
        i = int((which < 0).nonzero()[0])
        raise GradingFailure(f"image {i} of the batch is not a 6 x 6 window of the zero-padded image",
                             hint="pad by `padding` zeros on every side, then cut an H x W window")
    counts = torch.bincount(which, minlength=(2 * p + 1) ** 2)
    if (counts == 0).any():
        raise GradingFailure(f"only {int((counts > 0).sum())} of the {(2 * p + 1) ** 2} possible windows occur "
                             f"in 300 images; draw each image's offsets uniformly in [0, 2 * padding]")


# chi-square bounds a correct sampler exceeds with probability 1e-6 (df 4: one axis's 5 offsets;
# df 24: the 25 windows), so a fair draw in any order never fails
CHI2_DF4, CHI2_DF24 = 33.38, 72.23


def _chi2(counts: torch.Tensor) -> float:
    want = counts.sum() / counts.numel()
    return float(((counts.double() - want) ** 2 / want).sum())


def test_random_crop_offsets_uniform(student):
    """Over 2000 images (8 generator seeds), each direction's offset is uniform on 0..2*padding
    and the two directions are independent (a chi-square test on the offsets and on the windows)."""
    p, side = 2, 2 * 2 + 1
    counts = torch.zeros(side, side, dtype=torch.long)
    for seed in range(8):
        x = _images(250, seed=180 + seed)
        out = student.call("harness:a3.augment", "random_crop", x, 180 + seed, p)
        expect_array(out, shape=tuple(x.shape), dtype=torch.uint8, name="random_crop output", kind="torch")
        xp = torch.nn.functional.pad(x, (p, p, p, p))
        for a in range(side):
            for b in range(side):
                counts[a, b] += int((xp[:, :, a:a + 6, b:b + 6] == out).flatten(1).all(dim=1).sum())
    if int(counts.sum()) < 2000:
        raise GradingFailure("some outputs are not a window of their zero-padded image",
                             hint="pad by `padding` zeros on every side, then cut an H x W window")
    for axis, name in ((1, "vertical"), (0, "horizontal")):
        if _chi2(counts.sum(dim=axis)) > CHI2_DF4:
            raise GradingFailure(f"the {name} offsets of 2000 crops are far from uniform on 0..2*padding",
                                 hint="draw integers uniformly, e.g. torch.randint(0, 2 * padding + 1, ...)")
    if _chi2(counts.flatten()) > CHI2_DF24:
        raise GradingFailure("the vertical and horizontal offsets of 2000 crops are not independent",
                             hint="draw the two offsets of each image separately")


def test_random_crop_no_padding(student):
    """padding = 0 returns the images unchanged."""
    x = _images(8, seed=82)
    out = student.call("harness:a3.augment", "random_crop", x, 82, 0)
    expect_close(out, x, name="random_crop(x, 0)")


def test_random_hflip(student):
    """Each image is itself or its mirror image; about half are mirrored."""
    x = _images(200, seed=83)
    out = student.call("harness:a3.augment", "random_hflip", x, 83)
    expect_array(out, shape=tuple(x.shape), dtype=torch.uint8, name="random_hflip output", kind="torch")
    same = (out == x).flatten(1).all(dim=1)
    flipped = (out == x.flip(-1)).flatten(1).all(dim=1)
    if not (same | flipped).all():
        raise GradingFailure("some images are neither unchanged nor mirrored left-right (flip the width axis)")
    n = int(flipped.sum())
    if not 60 <= n <= 140:
        raise GradingFailure(f"{n} of 200 images were mirrored; each should be mirrored with probability 1/2")


def test_random_hflip_draws_from_its_generator(student):
    """All randomness comes from the `generator` argument: the same generator seed gives the same
    batch whatever the global RNG holds, the generator is used, and another seed gives another batch."""
    _draws_from_its_generator(student, "random_hflip", ())


def test_random_crop_draws_from_its_generator(student):
    """All randomness comes from the `generator` argument: the same generator seed gives the same
    batch whatever the global RNG holds, the generator is used, and another seed gives another batch."""
    _draws_from_its_generator(student, "random_crop", (2,))


def _draws_from_its_generator(student, fn, args):
    x = _images(64, seed=89)
    a = student.call("harness:a3.augment_seeded", fn, x, 89, 1, *args)
    b = student.call("harness:a3.augment_seeded", fn, x, 89, 2, *args)
    c = student.call("harness:a3.augment_seeded", fn, x, 90, 1, *args)
    expect_array(a["out"], shape=tuple(x.shape), dtype=torch.uint8, name=f"{fn} output", kind="torch")
    hint = f"pass generator=generator to every random call in {fn} (torch.rand / torch.randint)"
    if not a["advanced"]:
        raise GradingFailure(f"{fn} never drew from the generator it was given", hint=hint)
    if not torch.equal(a["out"], b["out"]):
        raise GradingFailure(f"{fn} with the same generator seed gave different batches when the global RNG "
                             "changed: it draws from the global RNG", hint=hint)
    if torch.equal(a["out"], c["out"]):
        raise GradingFailure(f"{fn} gave the same batch for two generator seeds", hint=hint)


def _batches(cfg, n_batches, soft=False, seed=0):
    g = gen(seed)
    c = cfg
    out = []
    for _ in range(n_batches):
        x = torch.randn(8, c["in_chans"], c["img_size"], c["img_size"], generator=g)
        if soft:
            y = torch.rand(8, c["num_classes"], generator=g)
            y = y / y.sum(dim=1, keepdim=True)
        else:
            y = torch.randint(0, c["num_classes"], (8,), generator=g)
        out.append((x, y))
    return out


def _reference_sgd(cfg, state, batches, lr):
    model = build(cfg, state)
    c = ref("config").Config.from_dict(cfg)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    losses = [ref("train").train_step(model, x, y, opt, c)[0] for x, y in batches]
    return losses, model.state_dict()


@pytest.mark.parametrize("case", ["smoothing+clip", "soft targets"])
def test_train_step(student, case):
    """Two steps with SGD(lr=0.5): the losses and the weights after each step match the reference
    (label smoothing 0.1 and clipping to norm 0.05; or soft targets, no clipping)."""
    if case == "smoothing+clip":
        cfg = cfg_dict(model="vit", label_smoothing=0.1, grad_clip=0.05)
    else:
        cfg = cfg_dict(model="vit", label_smoothing=0.0, grad_clip=0.0)
    state = random_state(build(cfg), seed=84)
    batches = _batches(cfg, 2, soft=case == "soft targets", seed=85)
    got = student.call("harness:a3.sgd_steps", cfg, state, batches, 0.5)
    losses, want_state = _reference_sgd(cfg, state, batches, 0.5)
    for i, (g, w) in enumerate(zip(got["losses"], losses)):
        expect_array(g, shape=(), dtype=torch.float32, name=f"loss of step {i + 1}", kind="torch")
        close(g, w, 1e-5, f"loss of step {i + 1}",
              hint="cross-entropy with label_smoothing, on float32 logits")
    for k in sorted(want_state):
        close(got["state"][k], want_state[k], 1e-5, f"weights {k!r} after two steps",
              hint="zero the gradients before backward; clip their global norm to cfg.grad_clip before the step")


def test_overfits_one_batch(student):
    """A small ViT, trained with your train_step (AdamW, lr 3e-3) for 80 steps on one batch of 16
    images, classifies all 16 correctly; accuracy is measured here on the weights you return."""
    cfg = cfg_dict(model="vit", lr=3e-3, weight_decay=0.0, grad_clip=1.0, label_smoothing=0.0)
    g = gen(86)
    x = torch.randn(16, 1, 8, 8, generator=g)
    y = torch.randint(0, 4, (16,), generator=g)
    state = student.call("harness:a3.overfit", cfg, x, y, 80, 86)
    model = build(cfg)
    want = model.state_dict()
    if type(state) is not dict or set(state) != set(want):
        raise GradingFailure("the trained model's state dict does not have the expected tensors")
    for k, v in want.items():
        expect_array(state[k], shape=tuple(v.shape), dtype=v.dtype, name=f"trained weights {k!r}", kind="torch")
    model.load_state_dict(state)
    with torch.no_grad():
        acc = float((model.eval()(x).argmax(dim=1) == y).float().mean())
    if acc < 1.0:
        raise GradingFailure(f"after 80 steps on one batch the model classifies {acc:.0%} of it correctly; "
                             "a working training step reaches 100%",
                             hint="loss.backward() and optimizer.step() on every call; zero the gradients")


def test_evaluate(student):
    """Loss and accuracy on 20 uint8 images in batches of 7, in eval mode (dropout is on in this model)."""
    cfg = cfg_dict(model="vit", drop_rate=0.3, eval_batch_size=7, dataset="mnist")
    state = random_state(build(cfg), seed=87)
    x = torch.randint(0, 256, (20, 1, 8, 8), generator=gen(87), dtype=torch.uint8)
    y = torch.randint(0, 4, (20,), generator=gen(88))
    got = student.call("harness:a3.evaluate", cfg, state, x, y, True)
    model = build(cfg, state)
    loss, acc = ref("train").evaluate(model, x, y, ref("config").Config.from_dict(cfg))
    if type(got) not in (tuple, list) or len(got) != 2:
        raise GradingFailure("evaluate should return (loss, accuracy)")
    kinds = [type(v).__name__ for v in got]
    if kinds != ["float", "float"]:
        raise GradingFailure(f"evaluate returned ({', '.join(kinds)}); both should be Python floats",
                             hint="turn tensors into numbers with .item() (numpy scalars are not Python floats)")
    expect_close(got[0], loss, rtol=1e-5, name="evaluation loss",
                 hint="mean cross-entropy over all images (no smoothing), in eval mode")
    expect_close(got[1], acc, rtol=1e-9, name="evaluation accuracy",
                 hint="fraction of all images whose argmax logit is the label, in eval mode")
