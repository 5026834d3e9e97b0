"""The capstone's batched RandAugment and CutMix (solutions/a4_capstone/randaug.py) on the CPU:
shapes and dtypes kept, a seed reproduces a batch, images differ from one another, magnitude
0 is the identity, and each op does what its name says."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("capstone_randaug", ROOT / "solutions/a4_capstone/randaug.py")
ra = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ra)


def batch(B=16, C=3, H=32, W=32, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (B, C, H, W), dtype=torch.uint8, generator=g)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def one(op: str, x: torch.Tensor, m: float, sign: float = 1.0) -> torch.Tensor:
    B = x.shape[0]
    return ra.apply_ops(x, torch.full((B,), ra.OPS.index(op)), torch.full((B,), m), torch.full((B,), sign))


@pytest.mark.parametrize("shape", [(8, 3, 32, 32), (5, 1, 28, 28)])
def test_shape_and_dtype_kept(shape):
    x = batch(*shape)
    out = ra.rand_augment(x, 2, 9.0, gen())
    assert out.shape == x.shape and out.dtype == torch.uint8


def test_seeded_runs_repeat_and_seeds_differ():
    x = batch()
    a, b = ra.rand_augment(x, 2, 9.0, gen(1)), ra.rand_augment(x, 2, 9.0, gen(1))
    assert torch.equal(a, b)
    assert not torch.equal(a, ra.rand_augment(x, 2, 9.0, gen(2)))


def test_each_image_gets_its_own_ops():
    x = batch(1).expand(64, -1, -1, -1).contiguous()          # one image, 64 times
    out = ra.rand_augment(x, 1, 9.0, gen())
    distinct = {bytes(o.numpy().tobytes()) for o in out}
    assert len(distinct) > 20


def test_magnitude_zero_and_no_ops_are_the_identity():
    x = batch()
    assert torch.equal(ra.rand_augment(x, 2, 0.0, gen()), x)
    assert torch.equal(ra.rand_augment(x, 0, 9.0, gen()), x)
    for op in ra.OPS:                                          # every op at magnitude 0, through the batch path
        assert torch.equal(one(op, x, 0.0), x), op


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="uint8"):
        ra.rand_augment(batch().float(), 1, 5.0)
    with pytest.raises(ValueError, match="magnitude"):
        ra.rand_augment(batch(), 1, 11.0)
    with pytest.raises(ValueError, match="unknown ops"):
        ra.rand_augment(batch(), 1, 5.0, choices=("warp",))


def test_brightness_scales_and_solarize_inverts_bright_pixels():
    x = torch.full((2, 3, 8, 8), 100, dtype=torch.uint8)
    assert int(one("brightness", x, 10.0, -1.0).max()) == 10              # factor 1 - 0.9
    assert int(one("brightness", x, 10.0, 1.0).min()) == 190              # factor 1 + 0.9
    y = torch.tensor([0, 100, 200, 255], dtype=torch.uint8).view(1, 1, 2, 2)
    assert one("solarize", y, 10.0).flatten().tolist() == [255, 155, 55, 0]   # threshold 0: all inverted
    assert one("solarize", y, 5.0).flatten().tolist() == [0, 100, 55, 0]    # threshold 128


def test_color_and_contrast_towards_grey():
    x = batch(4)
    grey = one("color", x, 10.0, -1.0).float()
    assert grey.std(dim=1).mean() < x.float().std(dim=1).mean() * 0.2       # channels nearly equal
    flat = one("contrast", x, 10.0, -1.0).float()
    assert flat.std(dim=(1, 2, 3)).mean() < x.float().std(dim=(1, 2, 3)).mean() * 0.2


def test_posterize_keeps_the_high_bits():
    out = one("posterize", batch(), 10.0)                                  # 4 bits removed
    assert torch.all(out % 16 == 0)


def test_sharpness_leaves_a_flat_image_and_the_border():
    flat = torch.full((2, 3, 8, 8), 77, dtype=torch.uint8)
    assert torch.equal(one("sharpness", flat, 10.0), flat)
    x = batch()
    out = one("sharpness", x, 10.0)
    assert torch.equal(out[..., 0, :], x[..., 0, :]) and not torch.equal(out, x)


def test_geometric_ops_move_pixels():
    x = torch.zeros(1, 1, 32, 32, dtype=torch.uint8)
    x[..., 20:24, 20:24] = 255
    moved = one("translate_x", x, 10.0, 1.0)                               # 0.45 * 32 = 14.4 pixels
    cols = moved[0, 0].float().sum(0).nonzero().flatten()
    assert cols.numel() and 4 <= int(cols.min()) and int(cols.max()) <= 10, cols
    rows = moved[0, 0].float().sum(1).nonzero().flatten()
    assert rows.min() == 20 and rows.max() == 23                           # rows untouched
    up = one("translate_y", x, 10.0, 1.0)
    rows = up[0, 0].float().sum(1).nonzero().flatten()
    assert rows.numel() and 4 <= int(rows.min()) and int(rows.max()) <= 10, rows
    rot = one("rotate", torch.full((1, 1, 32, 32), 200, dtype=torch.uint8), 10.0)
    assert rot[0, 0, 0, 0] == 0 and rot[0, 0, 16, 16] == 200                # corners leave, centre stays
    for op in ("shear_x", "shear_y"):
        assert not torch.equal(one(op, x, 10.0), x), op


def test_cutmix_targets_match_the_pasted_area():
    x = torch.zeros(32, 1, 16, 16)
    x += torch.arange(32.0).view(32, 1, 1, 1)                             # image b is all b
    y = torch.arange(32) % 10
    out, t = ra.mix_batch(x, y, 10, 0.0, 1.0, gen())
    assert out.shape == x.shape and t.shape == (32, 10)
    assert torch.allclose(t.sum(1), torch.ones(32))
    own = (out == x).flatten(1).float().mean(1)                            # share of the image kept
    assert torch.allclose(t[torch.arange(32), y], torch.maximum(own, t[torch.arange(32), y]))
    assert (own < 1).any()


def test_mixup_and_cutmix_together_are_seeded():
    x, y = torch.randn(16, 3, 8, 8), torch.arange(16) % 10
    a, b = ra.mix_batch(x, y, 10, 0.2, 1.0, gen(3)), ra.mix_batch(x, y, 10, 0.2, 1.0, gen(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
