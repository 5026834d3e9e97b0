"""Task 3.11, the notebook: head offsets, nonlocality and the parameter count, called in the
student's kernel. What they are compared with is computed here, from the paper's formula and
the reference Config and models: nothing depends on the student's own convit.py, config.py or
models.py."""
import dataclasses

import pytest
import torch

from autograder.engine.checks import expect_close, expect_equal


def _reference_offsets(reference, heads: int, alpha: float) -> torch.Tensor:
    """Head h1 + k*h2 of a k x k kernel looks at (h2 - c, h1 - c), from the paper's formula: the
    trusted side's GPSA.local_init is task 3.5's test double while 3.11 is graded."""
    k = int(heads ** 0.5)
    c = (k - 1) / 2 if k % 2 == 0 else k // 2
    out = torch.empty(heads, 2)
    for h1 in range(k):
        for h2 in range(k):
            out[h1 + k * h2] = torch.tensor([h2 - c, h1 - c])
    return out


@pytest.mark.task3_11
@pytest.mark.cell("task3_11_test_head_offsets")
@pytest.mark.parametrize("heads", [9, 1, 4, 16])
def test_head_offsets(student, reference, heads):
    expect_close(student.call("head_offsets", heads), _reference_offsets(reference, heads, 2.0), atol=1e-6,
                 name=f"head_offsets({heads})",
                 hint="head h1 + k*h2 looks at (h2 - c, h1 - c), c the centre of the k x k grid of heads")


def _nonlocality(attn: torch.Tensor, grid: int) -> torch.Tensor:
    idx = torch.arange(grid * grid)
    pos = torch.stack([idx // grid, idx % grid], dim=1).double()
    dist = torch.cdist(pos, pos)
    return (attn.double() * dist).sum(-1).mean(dim=(0, 2)).to(attn.dtype)


@pytest.mark.task3_11
@pytest.mark.cell("task3_11_test_nonlocality")
def test_nonlocality_extremes(student):
    eye = torch.eye(16).expand(2, 3, 16, 16).contiguous()
    expect_close(student.call("nonlocality", eye, 4), torch.zeros(3), atol=1e-6, name="nonlocality(identity)")
    right = torch.zeros(1, 1, 4, 4)
    right[0, 0, 0, 1] = right[0, 0, 1, 0] = right[0, 0, 2, 3] = right[0, 0, 3, 2] = 1
    expect_close(student.call("nonlocality", right, 2), torch.ones(1), atol=1e-6, name="nonlocality(neighbours)")


@pytest.mark.task3_11
@pytest.mark.cell("task3_11_test_nonlocality")
def test_nonlocality_random(student):
    a = torch.rand(2, 2, 9, 9, generator=torch.Generator().manual_seed(3)).softmax(-1)
    expect_close(student.call("nonlocality", a, 3), _nonlocality(a, 3), atol=1e-5, name="nonlocality(random)",
                 hint="distance in patches between grid positions, weighted by attention, averaged over batch and queries")


@pytest.mark.task3_11
@pytest.mark.cell("task3_11_test_vit_num_params")
@pytest.mark.parametrize("changes", [{}, dict(pool="mean"), dict(pos_embed="sincos"), dict(qkv_bias=False, mlp_ratio=3.0),
                                     dict(img_size=32, in_chans=3, patch_size=4, num_classes=7, depth=2)],
                         ids=["base", "mean", "sincos", "no-qkv-bias", "cifar-like"])
def test_vit_num_params(student, reference, changes):
    cfg = reference("config").Config(model="vit", patch_size=7, embed_dim=64, depth=4, num_heads=4).replace(**changes)
    models = reference("models")
    want = int(models.count_params(models.build_model(cfg)))
    fields = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}
    plain = {k: v for k, v in fields.items() if v is None or type(v) in (int, float, str, bool)}
    expect_equal(student.call("vit_num_params", student.call("@namespace", **plain)), want,
                 name=f"vit_num_params({', '.join(changes) or 'base config'})")
