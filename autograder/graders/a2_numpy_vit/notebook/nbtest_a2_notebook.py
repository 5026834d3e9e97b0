"""Task 2.10, the notebook: its exported functions, called in the student's kernel, checked
here against the reference model and against expectations computed here."""
import numpy as np
import pytest

from autograder.engine.checks import expect_close, expect_equal

CFG = dict(image_size=28, in_chans=1, patch_size=7, dim=64, depth=4, mlp_ratio=2.0, num_classes=10)


def _params(reference, **cfg) -> int:
    return int(reference("models").ViT(**cfg).num_params)


@pytest.mark.task2_10
@pytest.mark.cell("task2_10_test_vit_num_params")
@pytest.mark.parametrize("changes", [{}, dict(pool="mean", pos="sin2d")], ids=["cls-learned", "mean-sin2d"])
def test_vit_num_params_public(student, reference, changes):
    expect_equal(student.call("vit_num_params", **CFG, **changes), _params(reference, **CFG, **changes),
                 name=f"vit_num_params({', '.join(changes) or 'defaults'})")


@pytest.mark.task2_10
@pytest.mark.cell("task2_10_test_vit_num_params")
def test_vit_num_params_no_final_norm(student, reference):
    cfg = dict(image_size=32, in_chans=3, patch_size=4, dim=48, depth=3, mlp_ratio=3.0, num_classes=7)
    expect_equal(student.call("vit_num_params", **cfg, final_norm=False),
                 _params(reference, **cfg, num_heads=3, final_norm=False),
                 name="vit_num_params(final_norm=False, 3 channels)", hint="count each LayerNorm's two vectors")


def _distance(attn, grid, patch_size):
    rows, cols = np.divmod(np.arange(grid * grid), grid)
    pos = np.stack([rows, cols], axis=1) * patch_size
    dist = np.sqrt(((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1))
    return (attn * dist).sum(-1).mean(axis=(0, 2))


@pytest.mark.task2_10
@pytest.mark.cell("task2_10_test_mean_attention_distance")
def test_mean_attention_distance_extremes(student):
    P = 16
    uniform = np.full((2, 1, P, P), 1.0 / P)
    identity = np.broadcast_to(np.eye(P), (2, 1, P, P))
    attn = np.ascontiguousarray(np.concatenate([uniform, identity], axis=1))
    expect_close(student.call("mean_attention_distance", attn, 4, 7), _distance(attn, 4, 7), rtol=1e-9, atol=1e-9,
                 name="mean_attention_distance(uniform and identity heads)")


@pytest.mark.task2_10
@pytest.mark.cell("task2_10_test_mean_attention_distance")
def test_mean_attention_distance_random(student, rng):
    attn = rng.random((3, 2, 9, 9))
    attn /= attn.sum(-1, keepdims=True)
    right = np.zeros((1, 1, 4, 4))
    right[0, 0, [0, 2], [1, 3]] = 1
    right[0, 0, [1, 3], [0, 2]] = 1
    expect_close(student.call("mean_attention_distance", right, 2, 5), np.array([5.0]), rtol=1e-9,
                 name="mean_attention_distance(neighbour heads)", hint="distances are in pixels: patch index x patch_size")
    expect_close(student.call("mean_attention_distance", attn, 3, 4), _distance(attn, 3, 4), rtol=1e-9,
                 name="mean_attention_distance(random attention)")


@pytest.mark.task2_10
@pytest.mark.cell("task2_10_test_cls_attention_map")
@pytest.mark.parametrize("shape,grid", [((2, 3, 17, 17), 4), ((1, 2, 10, 10), 3)])
def test_cls_attention_map(student, rng, shape, grid):
    a = rng.random(shape)
    want = a[:, :, 0, 1:].mean(axis=1).reshape(shape[0], grid, grid)
    expect_close(student.call("cls_attention_map", a, grid), want, rtol=1e-9, name="cls_attention_map",
                 hint="row 0 is the CLS token's attention; drop its own column and average the heads")
