"""Tasks 3.1-3.3: PatchEmbed, Mlp, Attention, Block, VisionTransformer against the reference,
with shared weights: outputs and every gradient, in float64 (1e-10) and float32 (1e-5)."""
import pytest
import torch

from a3_common import check_module, close, follows_attn_drop, randn, random_state, ref
from autograder.engine.checks import GradingFailure, sweep


# ---------------------------------------------------------------- 3.1 patch embedding, MLP
@pytest.mark.task3_1
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_patch_embed(student, dtype):
    """PatchEmbed on (2, 3, 12, 12) images, 4 x 4 patches -> (2, 9, 8) tokens, row-major."""
    x = randn(2, 3, 12, 12, seed=1)
    check_module(student, "modules.PatchEmbed", dict(img_size=12, patch_size=4, in_chans=3, embed_dim=8),
                 [x], dtype, "PatchEmbed", seed=11,
                 hint="tokens are the patches in row-major order: (B, D, G, G) -> (B, G*G, D)")


@pytest.mark.task3_1
def test_patch_embed_single_patch(student):
    """One patch covering the whole image: N = 1."""
    check_module(student, "modules.PatchEmbed", dict(img_size=6, patch_size=6, in_chans=1, embed_dim=5),
                 [randn(3, 1, 6, 6, seed=2)], "float64", "PatchEmbed", seed=12)


@pytest.mark.task3_1
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_mlp(student, dtype):
    """Mlp 6 -> 10 -> 4 on (2, 5, 6) tokens (GELU, exact)."""
    check_module(student, "modules.Mlp", dict(in_features=6, hidden_features=10, out_features=4),
                 [randn(2, 5, 6, seed=3)], dtype, "Mlp", seed=13)


# ---------------------------------------------------------------- 3.2 attention
@pytest.mark.task3_2
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_attention(student, dtype):
    """3 heads of 4 dims on (2, 7, 12) tokens."""
    check_module(student, "modules.Attention", dict(dim=12, num_heads=3), [randn(2, 7, 12, seed=4)], dtype,
                 "Attention", seed=14, hint="scores are q k^T / sqrt(head_dim), softmax over the keys")


@pytest.mark.task3_2
def test_attention_one_head_no_bias(student):
    """A single head, qkv without bias."""
    check_module(student, "modules.Attention", dict(dim=8, num_heads=1, qkv_bias=False),
                 [randn(3, 5, 8, seed=5)], "float64", "Attention", seed=15)


@pytest.mark.task3_2
def test_attention_many_heads(student):
    """8 heads of 2 dims, one token and many tokens."""
    check_module(student, "modules.Attention", dict(dim=16, num_heads=8), [randn(2, 1, 16, seed=6)],
                 "float64", "Attention (N = 1)", seed=16)
    check_module(student, "modules.Attention", dict(dim=16, num_heads=8), [randn(1, 20, 16, seed=7)],
                 "float64", "Attention (N = 20)", seed=17)


@pytest.mark.task3_2
def test_attention_weights_pass_attn_drop(student):
    """The (B, h, N, N) attention weights go through `attn_drop` (that is where maps are read)."""
    kwargs = dict(dim=12, num_heads=3)
    torch.manual_seed(0)
    module = ref("modules").Attention(**kwargs)
    state = random_state(module, 18)
    module.load_state_dict(state)
    x = randn(2, 6, 12, seed=8).float()
    seen = []
    hook = module.attn_drop.register_forward_hook(lambda m, i, o: seen.append(i[0].detach()))
    module.eval()(x)
    hook.remove()
    got = student.call("harness:a3.attn_drop_input", "modules.Attention", kwargs, state, x)
    if type(got) is not list or len(got) != 1:
        raise GradingFailure(f"attn_drop should run once per forward; it ran "
                             f"{len(got) if type(got) is list else '?'} times")
    close(got[0], seen[0], 1e-5, "attention weights seen by attn_drop",
          hint="apply self.attn_drop to the (B, h, N, N) softmax weights")


@pytest.mark.task3_2
def test_attention_output_follows_attn_drop(student):
    """The values are weighted by what `attn_drop` returns: with attn_drop replaced by another
    elementwise map of the weights, the output follows it (in eval mode, dropout off)."""
    follows_attn_drop(student, "modules.Attention", dict(dim=12, num_heads=3), randn(2, 6, 12, seed=25).float(),
                      "Attention", seed=26, hint="weight v with the tensor self.attn_drop returns, not with the "
                                                 "softmax weights you passed to it")


# ---------------------------------------------------------------- 3.3 block and ViT
@pytest.mark.task3_3
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_block(student, dtype):
    """Pre-norm block, dim 12, 3 heads, mlp_ratio 2, on (2, 5, 12)."""
    check_module(student, "modules.Block", dict(dim=12, num_heads=3, mlp_ratio=2.0),
                 [randn(2, 5, 12, seed=9)], dtype, "Block",
                 seed=19, hint="x = x + attn(norm1(x)); x = x + mlp(norm2(x))")


VIT = dict(img_size=8, patch_size=2, in_chans=2, num_classes=5, embed_dim=12, depth=2, num_heads=3,
           mlp_ratio=2.0)


@pytest.mark.task3_3
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_vit_cls_learned(student, dtype):
    """ViT with a class token and learned positions: logits and every gradient."""
    check_module(student, "modules.VisionTransformer", dict(VIT, pool="cls", pos_embed="learned"),
                 [randn(3, 2, 8, 8, seed=10)], dtype, "VisionTransformer", seed=20,
                 hint="class token first, then add pos_embed to all tokens; classify token 0")


@pytest.mark.task3_3
def test_vit_mean_sincos(student):
    """ViT with mean pooling and fixed sine-cosine positions."""
    check_module(student, "modules.VisionTransformer", dict(VIT, pool="mean", pos_embed="sincos"),
                 [randn(3, 2, 8, 8, seed=21)], "float64", "VisionTransformer", seed=22,
                 hint="mean pooling averages the patch tokens after the final norm")


@pytest.mark.task3_3
def test_vit_features(student):
    """forward_features returns the normalised tokens, class token first."""
    check_module(student, "modules.VisionTransformer", dict(VIT, pool="cls", pos_embed="learned"),
                 [randn(2, 2, 8, 8, seed=23)], "float64", "VisionTransformer.forward_features", seed=24,
                 method="forward_features")


@pytest.mark.task3_3
@pytest.mark.weight(2)
def test_vit_shapes(student):
    """Beyond the default: a batch of one, an odd 3 x 3 grid of 5 x 5 patches on 15 x 15 images,
    3 input channels, one patch per image, with each pooling."""
    base = dict(num_classes=3, embed_dim=8, depth=1, num_heads=2, mlp_ratio=2.0)
    cases = [dict(batch=b, img=img, patch=p, chans=c, pool=pool)
             for b, img, p, c in [(1, 8, 2, 1), (2, 15, 5, 3), (1, 15, 5, 1), (2, 6, 6, 1)]
             for pool in ("cls", "mean")]

    def check(case):
        kwargs = dict(base, img_size=case["img"], patch_size=case["patch"], in_chans=case["chans"], pool=case["pool"])
        x = randn(case["batch"], case["chans"], case["img"], case["img"], seed=27 + case["img"])
        check_module(student, "modules.VisionTransformer", kwargs, [x], "float64", "VisionTransformer", seed=28)

    sweep(cases, check, hints={"batch": "a batch of one must keep its batch axis (no squeeze)"})
