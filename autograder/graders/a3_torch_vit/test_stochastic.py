"""Tasks 3.1-3.6: every stochastic path, in train mode and in eval mode.

Train mode: both sides seed the global RNG the same way just before the forward, so the
student's module must call each dropout / drop-path the reference calls, in the same order
(one that is skipped, or added, shifts every random number after it). Eval mode with
nonzero rates: nothing may be dropped, so the output equals the eval-mode reference.
"""
import pytest

from a3_common import check_module, randn

DROP = dict(drop=0.5)


def _both_modes(student, path, kwargs, inputs, what, seed, hint, state=None):
    for train in (True, False):
        mode = "train" if train else "eval"
        check_module(student, path, kwargs, inputs, "float64", f"{what} ({mode} mode, dropout on)", seed,
                     hint=hint if train else "in eval mode (model.eval()) no dropout or drop-path may act",
                     state=state, train=train)


@pytest.mark.task3_1
def test_mlp_dropout_paths(student):
    """Mlp with drop=0.5: drop1 after the activation and drop2 after fc2, in train mode; none in eval."""
    _both_modes(student, "modules.Mlp", dict(in_features=6, hidden_features=10, out_features=4, drop=0.5),
                [randn(2, 5, 6, seed=301)], "Mlp", 311,
                hint="fc1 -> act -> drop1 -> fc2 -> drop2: call both dropout modules, in that order")


@pytest.mark.task3_2
def test_attention_dropout_paths(student):
    """Attention with attn_drop=0.4 and proj_drop=0.3: both used in train mode, neither in eval."""
    _both_modes(student, "modules.Attention", dict(dim=12, num_heads=3, attn_drop=0.4, proj_drop=0.3),
                [randn(2, 6, 12, seed=302)], "Attention", 312,
                hint="attn_drop on the softmax weights, proj_drop after proj")


@pytest.mark.task3_3
def test_block_drop_paths(student):
    """Block with dropout 0.3, attention dropout 0.2 and drop-path 0.5: drop_path1 on the attention
    branch, drop_path2 on the MLP branch, in train mode; nothing in eval."""
    kwargs = dict(dim=12, num_heads=3, mlp_ratio=2.0, drop=0.3, attn_drop=0.2, drop_path=0.5)
    _both_modes(student, "modules.Block", kwargs, [randn(4, 5, 12, seed=303)], "Block", 313,
                hint="x + drop_path1(attn(norm1(x))), then x + drop_path2(mlp(norm2(x)))")


@pytest.mark.task3_3
@pytest.mark.parametrize("pool", ["cls", "mean"])
def test_vit_dropout_paths(student, pool):
    """VisionTransformer with drop_rate (pos_drop after the positions) and drop_path_rate."""
    kwargs = dict(img_size=8, patch_size=2, in_chans=2, num_classes=5, embed_dim=12, depth=2, num_heads=3,
                  mlp_ratio=2.0, pool=pool, drop_rate=0.3, attn_drop_rate=0.2, drop_path_rate=0.4)
    _both_modes(student, "modules.VisionTransformer", kwargs, [randn(3, 2, 8, 8, seed=304)], "VisionTransformer",
                314, hint="pos_drop after adding the positions (class token included), then the blocks")


@pytest.mark.task3_4
def test_hybrid_dropout_paths(student):
    """HybridConViT with drop_rate and drop_path_rate: pos_drop after the positions."""
    kwargs = dict(img_size=8, patch_size=4, in_chans=2, num_classes=3, stem_channels=3, embed_dim=8, depth=2,
                  num_heads=2, mlp_ratio=2.0, drop_rate=0.3, attn_drop_rate=0.2, drop_path_rate=0.4)
    _both_modes(student, "convit.HybridConViT", kwargs, [randn(3, 2, 8, 8, seed=305)], "HybridConViT", 315,
                hint="stem -> patch_embed -> + pos_embed -> pos_drop -> blocks -> norm")


@pytest.mark.task3_5
def test_gpsa_dropout_paths(student):
    """GPSA with attn_drop=0.4 and proj_drop=0.3: attn_drop on the gated weights, proj_drop after proj."""
    kwargs = dict(dim=8, num_heads=4, num_patches=16, qkv_bias=True, attn_drop=0.4, proj_drop=0.3)
    _both_modes(student, "convit.GPSA", kwargs, [randn(3, 16, 8, seed=306)], "GPSA", 316,
                hint="attn = attn_drop(get_attention(x)); out = proj_drop(proj(attn @ v, heads merged))")


@pytest.mark.task3_6
@pytest.mark.parametrize("pool", ["cls", "mean"])
def test_convit_dropout_paths(student, pool):
    """ConViT with drop_rate (pos_drop after the positions, before the GPSA blocks) and drop-path."""
    kwargs = dict(img_size=8, patch_size=2, in_chans=1, num_classes=3, embed_dim=8, depth=3, num_heads=4,
                  mlp_ratio=2.0, qkv_bias=True, local_layers=2, pool=pool, drop_rate=0.3, attn_drop_rate=0.2,
                  drop_path_rate=0.4)
    _both_modes(student, "convit.ConViT", kwargs, [randn(3, 1, 8, 8, seed=307)], "ConViT", 317,
                hint="pos_drop(patch_embed(x) + pos_embed), GPSA blocks, class token, the other blocks, norm")
