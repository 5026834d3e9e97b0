"""Tasks 3.4-3.6: hybrid ConViT, gated positional self-attention, ConViT."""
import pytest
import torch

from conftest import gradcheck, param_grads_finite
from convit import GPSA, ConViT, HybridConViT, rel_indices


@pytest.mark.task3_4
def test_hybrid_shapes_and_gradients():
    model = HybridConViT(img_size=16, patch_size=4, in_chans=3, num_classes=4, stem_channels=6, embed_dim=8,
                         depth=2, num_heads=2)
    x = torch.randn(2, 3, 16, 16)
    tokens = model.forward_features(x)
    assert tokens.shape == (2, 16, 8), "a 16 x 16 image with patch size 4 gives a 4 x 4 token grid"
    logits = model(x)
    assert logits.shape == (2, 4)
    assert torch.allclose(logits, model.head(tokens.mean(dim=1)), atol=1e-6), "classify the mean token"
    param_grads_finite(model, logits)


@pytest.mark.task3_5
def test_rel_indices_small_grid():
    r = rel_indices(2)          # patches (0,0) (0,1) (1,0) (1,1), row-major
    assert r.shape == (4, 4, 3)
    assert r[0, 3].tolist() == [1, 1, 2] and r[3, 0].tolist() == [-1, -1, 2]
    assert r[1, 2].tolist() == [-1, 1, 2] and torch.all(r[torch.arange(4), torch.arange(4)] == 0)


@pytest.mark.task3_5
def test_gpsa_starts_local():
    gpsa = GPSA(dim=18, num_heads=9, num_patches=25, locality_strength=1.0)
    pos = gpsa.pos_attention()                       # (9, 25, 25)
    assert pos.shape == (9, 25, 25) and torch.allclose(pos.sum(-1), torch.ones(9, 25))
    centre = 12                                      # patch (2, 2) of the 5 x 5 grid
    peaks = sorted((pos[:, centre].argmax(-1) - centre).tolist())
    assert peaks == sorted(dy * 5 + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1)), \
        "the 9 heads should each peak at a different neighbour of the query patch"
    assert torch.equal(gpsa.v.weight, torch.eye(18))


@pytest.mark.task3_5
def test_gpsa_gate_mixes_content_and_position():
    gpsa = GPSA(dim=8, num_heads=4, num_patches=16).double()
    x = torch.randn(2, 16, 8, dtype=torch.float64)
    with torch.no_grad():
        gpsa.gating_param.fill_(50.0)                # sigmoid = 1: position only
    assert torch.allclose(gpsa.get_attention(x), gpsa.pos_attention().expand(2, -1, -1, -1), atol=1e-12)
    with torch.no_grad():
        gpsa.gating_param.fill_(-50.0)               # sigmoid = 0: content only
    q, k = gpsa.qk(x).reshape(2, 16, 2, 4, 2).permute(2, 0, 3, 1, 4)
    assert torch.allclose(gpsa.get_attention(x), (q @ k.transpose(-2, -1) / 2 ** 0.5).softmax(-1), atol=1e-12)
    with torch.no_grad():
        gpsa.gating_param.copy_(torch.tensor([-1.0, 0.0, 0.5, 2.0]))
    gradcheck(gpsa, torch.randn(1, 16, 8))


@pytest.mark.task3_5
def test_gpsa_positional_attention_once_per_forward():
    gpsa = GPSA(dim=8, num_heads=4, num_patches=16)
    calls = []
    gpsa.pos_proj.register_forward_hook(lambda m, i, o: calls.append(tuple(i[0].shape)))
    gpsa(torch.randn(5, 16, 8))
    assert calls == [(16, 16, 3)], f"pos_proj should run once on the (N, N, 3) table, ran on {calls}"


@pytest.mark.task3_6
def test_convit_inserts_the_class_token_after_the_gpsa_blocks():
    model = ConViT(img_size=8, patch_size=2, num_classes=3, embed_dim=8, depth=3, num_heads=4, local_layers=2)
    seen = []
    for block in model.blocks:
        block.register_forward_hook(lambda m, i, o: seen.append(i[0].shape[1]))
    logits = model(torch.randn(2, 1, 8, 8))
    assert logits.shape == (2, 3)
    assert seen == [16, 16, 17], f"tokens entering each block: {seen}; expected [16, 16, 17]"
    param_grads_finite(model, logits)
