"""Task 3.10: attention maps read with hooks, attention rollout (including ConViT's GPSA
layers, which come before the class token) and GPSA gate values, against the reference."""
import pytest
import torch

from a3_common import build, cfg_dict, close, gen, random_state, ref
from autograder.engine.checks import GradingFailure

pytestmark = pytest.mark.task3_10


def _softmax_maps(shapes, seed):
    g = gen(seed)
    return [torch.randn(*s, generator=g).mul(2).softmax(dim=-1) for s in shapes]


@pytest.mark.parametrize("model", ["vit", "convit"])
def test_attention_maps(student, model):
    """One (B, h, N, N) map per block, in order, equal to the weights the blocks used."""
    cfg = cfg_dict(model=model, depth=3, local_layers=2)
    state = random_state(build(cfg), seed=101)
    images = torch.randn(2, 1, 8, 8, generator=gen(102))
    got = student.call("harness:a3.attention_maps", cfg, state, images)
    want = ref("attention_viz").attention_maps(build(cfg, state), images)
    if type(got) is not list or len(got) != len(want):
        raise GradingFailure(f"expected a list of {len(want)} maps (one per block), got "
                             f"{len(got) if type(got) is list else type(got).__name__}")
    for i, (g, w) in enumerate(zip(got, want)):
        close(g, w, 1e-5, f"attention map of block {i}",
              hint="hook each block's attn.attn_drop; run the model in eval mode without gradients")


def test_attention_maps_leave_the_model_as_found(student):
    """attention_maps removes its hooks: a second call still gives one map per block, no hook is
    left on the model, and a model that was in train mode is back in train mode."""
    cfg = cfg_dict(model="vit", depth=3)
    got = student.call("harness:a3.attention_maps_aftermath", cfg, random_state(build(cfg), seed=105),
                       torch.randn(2, 1, 8, 8, generator=gen(106)))
    hint = "keep the handles register_forward_hook returns and call .remove() on each in a finally block"
    if got["counts"] != [3, 3]:
        raise GradingFailure(f"two calls on the same 3-block model returned {got['counts']} maps; hooks from the "
                             "first call are still recording", hint=hint)
    if got["hooks_left"]:
        raise GradingFailure(f"{got['hooks_left']} hooks were left on the model after attention_maps", hint=hint)
    if got["training"] is not True:
        raise GradingFailure("a model in train mode was left in eval mode by attention_maps",
                             hint="note model.training first and put it back with model.train(was_training)")


@pytest.mark.parametrize("prefix,shapes", [(1, [(2, 3, 5, 5)] * 3), (0, [(2, 2, 4, 4)] * 2),
                                           (1, [(2, 4, 4, 4), (2, 4, 4, 4), (2, 4, 5, 5)])])
def test_rollout(student, prefix, shapes):
    """Rollout of random row-stochastic maps: class-token row or mean row; GPSA maps padded."""
    maps = _softmax_maps(shapes, seed=103 + len(shapes) + prefix)
    got = student.call("attention_viz.attention_rollout", maps, prefix)
    want = ref("attention_viz").attention_rollout(maps, prefix)
    close(got, want, 1e-5, "attention rollout",
          hint="average heads, 0.5 A + 0.5 I, renormalise rows, multiply later layers on the left")


def test_gate_values(student):
    """sigmoid(gating_param) of each GPSA layer, in order, detached; an empty list for a ViT (no GPSA)."""
    cfg = cfg_dict(model="convit", depth=3, local_layers=2)
    state = random_state(build(cfg), seed=104, scale=1.0)
    got = student.call("harness:a3.gate_values", cfg, state)
    want = ref("attention_viz").gate_values(build(cfg, state))
    if type(got) is not list or len(got) != len(want):
        raise GradingFailure(f"expected one tensor of gates per GPSA layer ({len(want)})")
    for i, (g, w) in enumerate(zip(got, want)):
        close(g, w, 1e-6, f"gates of GPSA layer {i}", hint="gate = sigmoid(gating_param)")
        if g.requires_grad:
            raise GradingFailure(f"the gates of GPSA layer {i} still require grad; they should be detached",
                                 hint="sigmoid of gating_param.detach()")
    vit = cfg_dict(model="vit", depth=2)
    got = student.call("harness:a3.gate_values", vit, random_state(build(vit), seed=107))
    if type(got) is not list or got:
        raise GradingFailure("gate_values of a ViT (no GPSA layer) should be an empty list",
                             hint="keep the blocks whose attention has a gating_param; a ViT has none")
