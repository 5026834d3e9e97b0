"""Task 3.8: augmentation on the device, the training step, evaluation."""
import pytest
import torch

from augment import random_crop, random_hflip
from config import Config
from models import build_model
from optim import AdamW, param_groups
from train import evaluate, train_step

pytestmark = pytest.mark.task3_8


def test_random_crop_is_a_window_of_the_padded_image():
    x = torch.randint(1, 256, (64, 1, 5, 5), dtype=torch.uint8)
    out = random_crop(x, 1, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == torch.uint8
    xp = torch.nn.functional.pad(x, (1, 1, 1, 1))
    windows = torch.stack([xp[:, :, a:a + 5, b:b + 5] for a in range(3) for b in range(3)], 1)  # (64, 9, 1, 5, 5)
    match = (windows == out[:, None]).flatten(2).all(-1)                                          # (64, 9)
    assert match.any(1).all(), "every output must be a window of the zero-padded image"
    assert match.float().sum(0).gt(0).sum() >= 7, "offsets should vary from image to image"
    assert torch.equal(random_crop(x, 0), x)


def test_random_hflip():
    x = torch.randint(1, 256, (100, 1, 4, 4), dtype=torch.uint8)
    out = random_hflip(x, torch.Generator().manual_seed(0))
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    assert ((out == x).flatten(1).all(1) | flipped).all() and 25 < int(flipped.sum()) < 75


def test_train_step_overfits_one_batch():
    cfg = Config(img_size=8, patch_size=2, num_classes=4, embed_dim=16, depth=1, num_heads=2, lr=1e-2,
                 weight_decay=0.0, device="cpu")
    model = build_model(cfg)
    opt = AdamW(param_groups(model, 0.0), lr=cfg.lr)
    x, y = torch.randn(8, 1, 8, 8), torch.arange(8) % 4
    losses = [float(train_step(model, x, y, opt, cfg)[0]) for _ in range(60)]
    assert losses[-1] < 0.1 * losses[0], f"loss went from {losses[0]:.3f} to {losses[-1]:.3f} in 60 steps"
    assert (model.eval()(x).argmax(1) == y).all()


def test_evaluate_counts_every_image():
    cfg = Config(img_size=8, patch_size=4, num_classes=3, embed_dim=8, depth=1, num_heads=2, drop_rate=0.5,
                 eval_batch_size=4)
    model = build_model(cfg)
    x = torch.randint(0, 256, (10, 1, 8, 8), dtype=torch.uint8)
    y = torch.randint(0, 3, (10,))
    loss, acc = evaluate(model, x, y, cfg)
    with torch.no_grad():
        logits = model.eval()((x.float() / 255 - 0.1307) / 0.3081)
    assert abs(acc - (logits.argmax(1) == y).double().mean().item()) < 1e-9
    assert abs(loss - torch.nn.functional.cross_entropy(logits, y).item()) < 1e-5
