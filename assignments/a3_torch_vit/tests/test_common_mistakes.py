"""Common mistakes the graders take points for, caught here first, each named in its message:
a dropout or drop-path module that forward never calls, dropout at evaluation time,
augmentation that ignores its generator, crop offsets that never reach 2 * padding,
attention-map hooks left behind, a crash mid-save that damages the previous checkpoint."""
import pytest
import torch

from attention_viz import attention_maps
from augment import random_crop, random_hflip
from config import Config
from convit import GPSA, ConViT
from models import build_model
from modules import Attention, Block, Mlp, VisionTransformer


def _calls(module: torch.nn.Module, names: list[str], *inputs) -> dict:
    """How often each named submodule ran during one train-mode forward."""
    seen = {n: 0 for n in names}
    subs = dict(module.named_modules())
    hooks = [subs[n].register_forward_hook(lambda m, i, o, n=n: seen.__setitem__(n, seen[n] + 1)) for n in names]
    module.train()(*inputs)
    for h in hooks:
        h.remove()
    return seen


CASES = {
    "3.1 Mlp": (lambda: Mlp(6, 10, 4, drop=0.5), ["drop1", "drop2"], (2, 5, 6)),
    "3.2 Attention": (lambda: Attention(12, 3, attn_drop=0.4, proj_drop=0.3), ["attn_drop", "proj_drop"], (2, 6, 12)),
    "3.3 Block": (lambda: Block(12, 3, 2.0, drop=0.3, drop_path=0.5), ["drop_path1", "drop_path2"], (4, 5, 12)),
    "3.5 GPSA": (lambda: GPSA(8, 4, attn_drop=0.4, proj_drop=0.3, num_patches=16), ["attn_drop", "proj_drop"],
                 (2, 16, 8)),
}


@pytest.mark.parametrize("case", [pytest.param(k, marks=getattr(pytest.mark, "task" + k.split()[0].replace(".", "_")))
                                  for k in CASES])
def test_every_dropout_runs_in_training_and_none_in_evaluation(case):
    make, names, shape = CASES[case]
    module = make()
    x = torch.randn(*shape)
    seen = _calls(module, names, x)
    skipped = [n for n, c in seen.items() if c != 1]
    assert not skipped, f"{case}.forward should call each of {names} once; it called {seen}"
    module.eval()
    with torch.no_grad():
        a, b = module(x), module(x)
        for n in names:   # the same module with the rates set to 0
            getattr(module, n).p = 0.0
        clean = module(x)
    assert torch.equal(a, b) and torch.allclose(a, clean), f"{case}: dropout acted in eval mode (use the modules)"


@pytest.mark.task3_3
def test_vit_positions_pass_pos_drop():
    model = VisionTransformer(img_size=8, patch_size=2, embed_dim=8, depth=1, num_heads=2, drop_rate=0.3)
    assert _calls(model, ["pos_drop"], torch.randn(2, 1, 8, 8)) == {"pos_drop": 1}, "call pos_drop after the positions"


@pytest.mark.task3_6
def test_convit_positions_pass_pos_drop():
    model = ConViT(img_size=8, patch_size=2, embed_dim=8, depth=2, num_heads=4, local_layers=1, drop_rate=0.3)
    assert _calls(model, ["pos_drop"], torch.randn(2, 1, 8, 8)) == {"pos_drop": 1}, "call pos_drop after the positions"


@pytest.mark.task3_8
@pytest.mark.parametrize("fn,args", [(random_hflip, ()), (random_crop, (2,))])
def test_augmentation_uses_only_its_generator(fn, args):
    x = torch.randint(1, 256, (64, 1, 6, 6), dtype=torch.uint8)
    torch.manual_seed(1)
    a = fn(x, *args, generator=torch.Generator().manual_seed(5))
    torch.manual_seed(2)
    b = fn(x, *args, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b), f"{fn.__name__} drew from the global RNG: pass generator=generator to torch.rand/randint"


@pytest.mark.task3_8
def test_crop_offsets_reach_both_ends():
    x = torch.randint(1, 256, (300, 1, 4, 4), dtype=torch.uint8)
    out = random_crop(x, 1, generator=torch.Generator().manual_seed(0))
    top, bottom = (out[:, 0, 0] == 0).all(-1), (out[:, 0, -1] == 0).all(-1)
    assert top.any() and bottom.any(), "crop offsets should be uniform in [0, 2 * padding], both ends included"


@pytest.mark.task3_10
def test_attention_maps_removes_its_hooks():
    model = build_model(Config(img_size=8, patch_size=2, embed_dim=8, depth=2, num_heads=2))
    images = torch.randn(2, 1, 8, 8)
    first, second = attention_maps(model, images), attention_maps(model, images)
    hooks = sum(len(m._forward_hooks) for m in model.modules())
    assert len(first) == len(second) == 2 and hooks == 0, \
        f"attention_maps left {hooks} hooks on the model: call .remove() on each handle (in a finally block)"


@pytest.mark.task3_9
def test_crash_mid_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    import safetensors.torch as st

    import checkpoint
    cfg = Config(img_size=8, patch_size=2, embed_dim=8, depth=1, num_heads=2)
    path = checkpoint.save_checkpoint(tmp_path / "checkpoint.safetensors", build_model(cfg), cfg)
    before = path.read_bytes()

    save = st.save

    def dying(tensors, filename, metadata=None):   # half the file written, then the crash
        with open(filename, "wb") as f:
            f.write(save(tensors, metadata=metadata)[:100])
        raise OSError("simulated crash")

    def dying_save(tensors, metadata=None):
        raise OSError("simulated crash")
    for mod in (st, checkpoint):
        monkeypatch.setattr(mod, "save_file", dying, raising=False)
        monkeypatch.setattr(mod, "save", dying_save, raising=False)
    with pytest.raises(OSError):
        checkpoint.save_checkpoint(path, build_model(cfg), cfg)
    assert path.read_bytes() == before, "a crash mid-save damaged the checkpoint: write a temporary file, then rename"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.safetensors", "config.json"], \
        "a crashed save left a temporary file behind"
