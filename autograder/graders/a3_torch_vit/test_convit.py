"""Tasks 3.4-3.6: the hybrid conv-stem model, GPSA (including its local initialisation and
the once-per-forward positional attention) and ConViT, against the reference."""
import math

import pytest
import torch

from a3_common import check_module, close, follows_attn_drop, randn, random_state, ref
from autograder.engine.checks import GradingFailure, expect_close, sweep

# ---------------------------------------------------------------- 3.4 hybrid ConViT
HYBRID = dict(img_size=8, patch_size=4, in_chans=2, num_classes=3, stem_channels=3, embed_dim=8, depth=2,
              num_heads=2, mlp_ratio=2.0)


@pytest.mark.task3_4
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_hybrid(student, dtype):
    """Conv stem (two conv + max-pool stages), 4 tokens, 2 blocks, mean pooling: logits and gradients."""
    check_module(student, "convit.HybridConViT", HYBRID, [randn(3, 2, 8, 8, seed=31)], dtype, "HybridConViT",
                 seed=41, hint="stem -> patch_embed -> + pos_embed -> blocks -> norm -> mean over tokens -> head")


@pytest.mark.task3_4
def test_hybrid_features_sincos(student):
    """forward_features with fixed positions on a 16 x 16 input (16 tokens)."""
    kwargs = dict(HYBRID, img_size=16, pos_embed="sincos")
    check_module(student, "convit.HybridConViT", kwargs, [randn(2, 2, 16, 16, seed=32)], "float64",
                 "HybridConViT.forward_features", seed=42, method="forward_features")


# ---------------------------------------------------------------- 3.5 GPSA
@pytest.mark.task3_5
@pytest.mark.parametrize("grid", [2, 5])
def test_rel_indices(student, grid):
    """[dx, dy, dx^2 + dy^2] between every pair of patches on a G x G grid."""
    got = student.call("harness:a3.rel_indices", grid)
    want = ref("convit").rel_indices(grid)
    expect_close(got, want, rtol=0, atol=0, name=f"rel_indices({grid})",
                 hint="entry [i, j] is key j's position minus query i's: [col, row, squared distance]")


def expected_local_pattern(heads: int, grid: int, alpha: float) -> torch.Tensor:
    """Positional attention of a freshly initialised GPSA, from the paper's formula (h, N, N):
    head at kernel position (h1, h2) scores key j for query i as
    -alpha * ((dx - (h2 - c))^2 + (dy - (h1 - c))^2), softmax over j."""
    k = int(heads ** 0.5)
    c = (k - 1) / 2 if k % 2 == 0 else k // 2
    pos = torch.arange(grid, dtype=torch.float64)
    rows, cols = pos.repeat_interleave(grid), pos.repeat(grid)
    dx, dy = cols[None, :] - cols[:, None], rows[None, :] - rows[:, None]
    out = torch.empty(heads, grid * grid, grid * grid, dtype=torch.float64)
    for h1 in range(k):
        for h2 in range(k):
            score = -alpha * ((dx - (h2 - c)) ** 2 + (dy - (h1 - c)) ** 2)
            out[h1 + k * h2] = score.softmax(dim=-1)
    return out


@pytest.mark.task3_5
@pytest.mark.parametrize("heads,alpha", [(9, 1.0), (4, 2.5)])
def test_gpsa_local_init_pattern(student, heads, alpha):
    """At initialisation each head's positional attention is a local bump centred at its own
    offset in a sqrt(h) x sqrt(h) kernel (and v is the identity)."""
    grid, dim = 5, 18 if heads == 9 else 8
    kwargs = dict(dim=dim, num_heads=heads, num_patches=grid * grid, locality_strength=alpha)
    x = randn(2, grid * grid, dim, seed=50).float()
    got = student.call("harness:a3.gpsa_probe", kwargs, None, x)
    pos = got["pos_attention"]
    want = expected_local_pattern(heads, grid, alpha).float()
    close(pos, want, 1e-5, "positional attention at initialisation",
          hint="local_init: pos_proj.weight[h1 + k * h2] = alpha * [2*(h2 - c), 2*(h1 - c), -1], bias 0 "
               "(k = sqrt(heads): head index h1 + k * h2 is kernel position (h1, h2))")
    if heads == 9:  # odd kernel: each head's peak is one patch, at query + offset
        centre = (grid // 2) * grid + grid // 2
        peaks = sorted(int(p) - centre for p in pos[:, centre].argmax(dim=-1))
        offsets = sorted(dy * grid + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        if peaks != offsets:
            raise GradingFailure("at initialisation the 9 heads should peak at the 9 neighbours of a "
                                 "patch (a 3 x 3 kernel), each head at a different one")
    state = student.call("harness:a3.build_state", "convit.GPSA", kwargs)
    expect_close(state["v.weight"], torch.eye(dim), rtol=0, atol=1e-7, name="v.weight at initialisation",
                 hint="local_init starts v as the identity")


@pytest.mark.task3_5
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gpsa(student, dtype):
    """GPSA forward and backward with random weights and gates (both attentions matter)."""
    kwargs = dict(dim=8, num_heads=4, num_patches=16, qkv_bias=True)
    torch.manual_seed(0)
    state = random_state(ref("convit").GPSA(**kwargs), seed=51, scale=0.5)
    state["gating_param"] = torch.tensor([-2.0, -0.3, 0.4, 2.0])
    check_module(student, "convit.GPSA", kwargs, [randn(3, 16, 8, seed=52)], dtype, "GPSA", seed=53,
                 state=state, hint="attn = (1 - sigmoid(g)) * content + sigmoid(g) * positional, "
                                   "renormalised over keys")


@pytest.mark.task3_5
def test_gpsa_attention(student):
    """get_attention: gated weights (B, h, N, N) whose rows sum to 1."""
    kwargs = dict(dim=8, num_heads=4, num_patches=9, qkv_bias=False)
    torch.manual_seed(0)
    state = random_state(ref("convit").GPSA(**kwargs), seed=54, scale=0.5)
    check_module(student, "convit.GPSA", kwargs, [randn(2, 9, 8, seed=55)], "float64", "GPSA.get_attention",
                 seed=56, state=state, method="get_attention")


@pytest.mark.task3_5
def test_gpsa_positional_attention_once_per_forward(student):
    """pos_proj runs once per forward on the (N, N, 3) table, not once per sample, and that
    forward gives GPSA's output."""
    kwargs = dict(dim=8, num_heads=4, num_patches=16)
    torch.manual_seed(0)
    gpsa = ref("convit").GPSA(**kwargs)
    state = random_state(gpsa, seed=58, scale=0.5)
    x = randn(6, 16, 8, seed=57).float()
    got = student.call("harness:a3.gpsa_probe", kwargs, state, x)
    calls = got["pos_proj_calls"]
    if type(calls) is not list or len(calls) != 1:
        raise GradingFailure(f"pos_proj ran {len(calls) if type(calls) is list else '?'} times in one forward "
                             "of a batch of 6; compute the positional attention once and broadcast it")
    if calls[0][:-1] != [16, 16]:
        raise GradingFailure(f"pos_proj saw an input of shape {tuple(calls[0])}; it should see the (N, N, 3) "
                             "table of relative positions once, not a copy per sample")
    gpsa.load_state_dict(state)
    with torch.no_grad():
        want = gpsa.eval()(x)
    close(got["out"], want, 1e-5, "GPSA output in that forward")


@pytest.mark.task3_5
def test_gpsa_output_follows_attn_drop(student):
    """The values are weighted by what `attn_drop` returns: with attn_drop replaced by another
    elementwise map of the gated weights, the output follows it (in eval mode, dropout off)."""
    follows_attn_drop(student, "convit.GPSA", dict(dim=8, num_heads=4, num_patches=16, qkv_bias=True),
                      randn(2, 16, 8, seed=59).float(), "GPSA", seed=60,
                      hint="weight v with the tensor self.attn_drop returns, not with get_attention's weights")


# ---------------------------------------------------------------- 3.6 ConViT
CONVIT = dict(img_size=8, patch_size=2, in_chans=1, num_classes=3, embed_dim=8, depth=3, num_heads=4,
              mlp_ratio=2.0, qkv_bias=True)


def _convit_state(kwargs, seed):
    torch.manual_seed(0)
    state = random_state(ref("convit").ConViT(**kwargs), seed=seed, scale=0.3)
    for k in state:
        if k.endswith("gating_param"):
            state[k] = torch.linspace(-1.5, 1.5, kwargs["num_heads"])
    return state


@pytest.mark.task3_6
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_convit(student, dtype):
    """2 GPSA blocks, then the class token, then 1 self-attention block: logits and gradients."""
    kwargs = dict(CONVIT, local_layers=2, pool="cls")
    check_module(student, "convit.ConViT", kwargs, [randn(2, 1, 8, 8, seed=61)], dtype, "ConViT", seed=62,
                 state=_convit_state(kwargs, 63),
                 hint="positions on the patches, GPSA blocks, then prepend the class token, then the rest")


@pytest.mark.task3_6
@pytest.mark.weight(4)
def test_convit_variants(student):
    """All blocks GPSA with mean pooling, no GPSA (class token first), mean pooling, and the
    class token after one GPSA block. (All GPSA with pool="cls" is refused by the constructor:
    the class token would never see the image.)"""
    cases = [dict(local_layers=n, pool=pool) for n, pool in [(3, "mean"), (0, "cls"), (2, "mean"), (1, "cls")]]

    def check(case):
        kwargs = dict(CONVIT, **case)
        check_module(student, "convit.ConViT", kwargs, [randn(2, 1, 8, 8, seed=64)], "float64",
                     f"ConViT(local_layers={case['local_layers']}, pool={case['pool']!r})", seed=65,
                     state=_convit_state(kwargs, 66))

    sweep(cases, check, hints={"pool": "the class token joins in front of block local_layers when pool='cls'; "
                                       "pool='mean' averages the tokens",
                               "local_layers": "the first local_layers blocks are GPSA, on patch tokens only"})
