"""Hidden graders, task 2.10: the analysis functions of the assignment notebook.

The harness runs only the notebook's solution cells (no kernel: the sandbox allows no new
processes) and calls the functions they define.
"""
import numpy as np
import pytest

from autograder.engine.checks import GradingFailure, expect_close

pytestmark = pytest.mark.task2_10


def _call(student, name, *args, **kwargs):
    return student.call("harness:a2.notebook_call", name, *args, **kwargs)


@pytest.mark.parametrize("cfg", [
    dict(image_size=28, in_chans=1, patch_size=7, dim=64, depth=4, mlp_ratio=2.0, num_classes=10),
    dict(image_size=28, in_chans=1, patch_size=4, dim=48, depth=2, mlp_ratio=4.0, num_classes=10, pool="mean",
         pos="sin1d"),
    dict(image_size=32, in_chans=3, patch_size=4, dim=36, depth=3, mlp_ratio=1.5, num_classes=7, final_norm=False),
])
def test_vit_num_params(student, reference, cfg):
    heads = 3 if cfg["dim"] % 4 else 4
    expected = reference("models").ViT(**cfg, num_heads=heads).num_params
    got = _call(student, "vit_num_params", **cfg)
    if type(got) is not int or got != expected:
        raise GradingFailure(f"vit_num_params({cfg}) is wrong (expected an int equal to the model's count)")


def _distance(attn, grid, p):
    rows, cols = np.divmod(np.arange(grid * grid), grid)
    pos = np.stack([rows, cols], 1) * p
    dist = np.sqrt(((pos[:, None] - pos[None]) ** 2).sum(-1))
    return (attn * dist).sum(-1).mean(axis=(0, 2))


@pytest.mark.parametrize("grid,p", [(4, 7), (7, 4), (3, 2)])
def test_mean_attention_distance(student, rng, grid, p):
    P = grid * grid
    a = rng.random((3, 5, P, P))
    a /= a.sum(-1, keepdims=True)
    got = _call(student, "mean_attention_distance", a, grid, p)
    expect_close(np.asarray(got, dtype=np.float64) if type(got) is np.ndarray else got, _distance(a, grid, p),
                 rtol=1e-9, name="mean_attention_distance")


@pytest.mark.parametrize("grid", [2, 4, 7])
def test_cls_attention_map(student, rng, grid):
    T = 1 + grid * grid
    a = rng.random((2, 3, T, T))
    expected = a[:, :, 0, 1:].mean(1).reshape(2, grid, grid)
    expect_close(_call(student, "cls_attention_map", a, grid), expected, rtol=1e-12, name="cls_attention_map")
