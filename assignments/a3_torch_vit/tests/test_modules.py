"""Tasks 3.1-3.3: patch embedding, MLP, attention, block and ViT."""
import pytest
import torch
import torch.nn.functional as F

from conftest import gradcheck, param_grads_finite
from modules import Attention, Block, Mlp, PatchEmbed, VisionTransformer


@pytest.mark.task3_1
def test_patch_embed_shape_and_order():
    pe = PatchEmbed(img_size=12, patch_size=4, in_chans=3, embed_dim=8)
    with torch.no_grad():   # channel 0 of each token = the top-left pixel of its patch
        pe.proj.weight.zero_(); pe.proj.bias.zero_(); pe.proj.weight[0, 0, 0, 0] = 1.0
    x = torch.randn(2, 3, 12, 12)
    out = pe(x)
    assert out.shape == (2, 9, 8)
    assert torch.allclose(out[:, :, 0], x[:, 0, ::4, ::4].reshape(2, 9)), "tokens must be patches in row-major order"


@pytest.mark.task3_1
def test_patch_embed_and_mlp_gradients():
    gradcheck(PatchEmbed(img_size=6, patch_size=3, in_chans=2, embed_dim=4), torch.randn(2, 2, 6, 6))
    gradcheck(Mlp(5, 7, 3), torch.randn(2, 4, 5))


@pytest.mark.task3_1
def test_mlp_matches_its_definition():
    mlp = Mlp(6, 10, 4)
    x = torch.randn(2, 5, 6)
    want = mlp.fc2(F.gelu(mlp.fc1(x)))
    assert mlp(x).shape == (2, 5, 4) and torch.allclose(mlp(x), want, atol=1e-6)


def attention_by_loop(attn: Attention, x: torch.Tensor) -> torch.Tensor:
    """Multi-head attention written the slow way: one head, one query at a time."""
    B, N, D = x.shape
    h, d = attn.num_heads, D // attn.num_heads
    q, k, v = attn.qkv(x).reshape(B, N, 3, h, d).unbind(2)       # each (B, N, h, d)
    out = torch.zeros(B, N, h, d, dtype=x.dtype)
    for b in range(B):
        for head in range(h):
            for i in range(N):
                scores = torch.stack([q[b, i, head] @ k[b, j, head] for j in range(N)]) / d ** 0.5
                out[b, i, head] = scores.softmax(0) @ v[b, :, head]
    return attn.proj(out.reshape(B, N, D))


@pytest.mark.task3_2
def test_attention_matches_the_loop():
    attn = Attention(dim=12, num_heads=3).double().eval()
    x = torch.randn(2, 5, 12, dtype=torch.float64)
    out = attn(x)
    assert out.shape == (2, 5, 12)
    assert torch.allclose(out, attention_by_loop(attn, x), atol=1e-10)


@pytest.mark.task3_2
def test_attention_weights_and_gradient():
    attn = Attention(dim=8, num_heads=2).eval()
    seen = []
    attn.attn_drop.register_forward_hook(lambda m, i, o: seen.append(i[0]))
    attn(torch.randn(3, 4, 8))
    assert len(seen) == 1 and seen[0].shape == (3, 2, 4, 4), "attn_drop should see the (B, h, N, N) weights"
    assert torch.allclose(seen[0].sum(-1), torch.ones(3, 2, 4)), "each row of attention weights sums to 1"
    gradcheck(Attention(dim=6, num_heads=3), torch.randn(2, 3, 6))


@pytest.mark.task3_3
def test_block_is_two_pre_norm_residuals():
    block = Block(dim=8, num_heads=2, mlp_ratio=2.0).eval()
    x = torch.randn(2, 5, 8)
    h = x + block.attn(block.norm1(x))
    assert torch.allclose(block(x), h + block.mlp(block.norm2(h)), atol=1e-6)
    gradcheck(Block(dim=4, num_heads=2, mlp_ratio=1.0), torch.randn(1, 3, 4))


@pytest.mark.task3_3
@pytest.mark.parametrize("pool,pos", [("cls", "learned"), ("mean", "sincos")])
def test_vit_shapes_and_gradients(pool, pos):
    vit = VisionTransformer(img_size=8, patch_size=2, in_chans=1, num_classes=5, embed_dim=16, depth=2,
                            num_heads=4, pool=pool, pos_embed=pos)
    x = torch.randn(3, 1, 8, 8)
    tokens = vit.forward_features(x)
    assert tokens.shape == (3, 16 + (pool == "cls"), 16)
    logits = vit(x)
    assert logits.shape == (3, 5)
    param_grads_finite(vit, logits)


@pytest.mark.task3_3
def test_vit_class_token_is_what_gets_classified():
    vit = VisionTransformer(img_size=8, patch_size=4, embed_dim=8, depth=1, num_heads=2, num_classes=3).eval()
    x = torch.randn(2, 1, 8, 8)
    assert torch.allclose(vit(x), vit.head(vit.forward_features(x)[:, 0]), atol=1e-6)
