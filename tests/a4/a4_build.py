"""Build what the capstone tests grade: a small course, easy data and tiny trained checkpoints.

Run as a script in its own process (`python tests/a4/a4_build.py DEST`), because it imports
the capstone's modules by their plain names (config, models, train), which other
assignments use too. It writes

    DEST/course/course.toml                 the real course.toml with a4 only and a test [capstone]
    DEST/course/solutions/a4_capstone/      links to the real solutions/a4_capstone's files, and
                                            its assignment.toml with every task the test [capstone] grades
    DEST/course/data/<dataset>_<split>.npz  "motif" images (x uint8 (N, C, H, W), y int64 (N,))
    DEST/checkpoints/<name>/                four tiny checkpoints trained on them (submit.export)
    DEST/memo/course, DEST/memo/checkpoints the same course with other training motifs and shifted
                                            copies checked too, a ViT fitted to its test set and one
                                            fitted to its training and test sets (fit_to_the_test_set)

Motif data: each class has a fixed random binary motif the size of one patch, tiled over
the image, plus noise; a two-block ViT learns it to 100 % in a few dozen steps. The
CIFAR-10-shaped test set has 5 % of its labels flipped, so a perfect model scores 95 %.
"""
from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
A4 = ROOT / "solutions" / "a4_capstone"
SHAPE = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
PATCH = {"mnist": 7, "cifar10": 8}
FLIPPED = {"mnist": 0.0, "cifar10": 0.05}

# Test thresholds: a perfect model passes every MNIST threshold; on the CIFAR-10 test set
# (95 % reachable) vit_cifar10 gets 2 of 3 and convit_cifar10 all 3. vit_cifar10's budget is
# tight on purpose (the slow-model test raises its width within max_params).
CAPSTONE = """
[capstone]
checkpoint_dir = "checkpoints"
eval_batch_size = 100
eval_threads = 1
testset_dir = "data"
max_params = 200_000
eval_memory_mb = 64
eval_memory_limit_mb = 1024
holdout_train_images = 300
holdout_shifted_images = 0       # the motif models learn one tiling, unshifted: no shift robustness to test
holdout_margin = 5.0
review_gap = 3.0

[capstone.checkpoints.vit_mnist]
task = "4.1"
dataset = "mnist"
models = ["vit"]
thresholds = [90.0, 99.0]
budget_s = 60

[capstone.checkpoints.convit_mnist]
task = "4.2"
dataset = "mnist"
models = ["convit", "convit_hybrid"]
thresholds = [90.0, 99.0]
budget_s = 60

[capstone.checkpoints.vit_cifar10]
task = "4.3"
dataset = "cifar10"
models = ["vit"]
thresholds = [70.0, 80.0, 99.0]
budget_s = 1

[capstone.checkpoints.convit_cifar10]
task = "4.4"
dataset = "cifar10"
models = ["convit", "convit_hybrid"]
thresholds = [70.0, 80.0, 90.0]
budget_s = 60
"""

TINY = {
    "vit_mnist": dict(dataset="mnist", model="vit"),
    "convit_mnist": dict(dataset="mnist", model="convit", local_layers=1),
    "vit_cifar10": dict(dataset="cifar10", model="vit"),
    "convit_cifar10": dict(dataset="cifar10", model="convit_hybrid", stem_channels=8),
}


def motif(dataset: str, n: int, seed: int, flip: float = 0.0, motifs: int = 123) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 (n, C, H, W) and labels int64 (n,); `flip` of the labels are wrong on purpose;
    `motifs` seeds the classes' motifs."""
    c, h, w = SHAPE[dataset]
    p = PATCH[dataset]
    templates = np.random.default_rng(motifs).integers(0, 2, (10, c, p, p)) * 160     # (10, C, p, p)
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 10)
    x = np.tile(templates[y], (1, 1, h // p, w // p)) + rng.integers(0, 80, (n, c, h, w))
    if flip:
        wrong = rng.choice(n, int(round(flip * n)), replace=False)
        y[wrong] = (y[wrong] + 1 + rng.integers(0, 9, len(wrong))) % 10
    return x.clip(0, 255).astype(np.uint8), y.astype(np.int64)


def write_course(dest: Path, capstone: str = CAPSTONE) -> Path:
    course = dest / "course"
    folder = course / "solutions" / "a4_capstone"
    folder.mkdir(parents=True, exist_ok=True)
    for entry in A4.iterdir():               # the real folder, entry by entry ...
        if entry.name != "assignment.toml" and not (folder / entry.name).exists():
            (folder / entry.name).symlink_to(entry)
    # ... with every task of the test [capstone]: a course baked for one dataset declares only
    # that dataset's checkpoint tasks, but its graders are the same code and are tested whole.
    # (6 points: a share per threshold, 2 or 3 of them here, is a whole number.)
    text = (A4 / "assignment.toml").read_text(encoding="utf-8")
    have = {t["id"] for t in tomllib.loads(text).get("tasks", [])}
    for name, spec in tomllib.loads(capstone)["capstone"]["checkpoints"].items():
        if spec["task"] not in have:
            text += (f'\n[[tasks]]\nid = "{spec["task"]}"\ntitle = "{name} (checkpoints/{name})"\npoints = 6\n'
                     f'files = ["checkpoints/{name}/checkpoint.safetensors", "checkpoints/{name}/config.json"]\n'
                     'timeout_s = 120\n')
    (folder / "assignment.toml").write_text(text, encoding="utf-8")
    raw = (ROOT / "course.toml").read_text(encoding="utf-8")
    head = raw.split("\n[capstone]")[0]
    head = "\n".join('assignments = ["a4_capstone"]' if line.startswith("assignments") else line
                     for line in head.splitlines())
    (course / "course.toml").write_text(head + "\n" + capstone, encoding="utf-8")
    data = course / "data"
    data.mkdir(exist_ok=True)
    for dataset in SHAPE:
        x, y = motif(dataset, 1200, seed=0)
        np.savez(data / f"{dataset}_train.npz", x=x, y=y)
        x, y = motif(dataset, 400, seed=1, flip=FLIPPED[dataset])
        np.savez(data / f"{dataset}_test.npz", x=x, y=y)
    return course


def train_checkpoints(dest: Path) -> dict[str, float]:
    """Train the four tiny models on motif data and export them; returns clean test accuracies."""
    sys.path.insert(0, str(A4))
    import torch

    import submit
    from config import Config
    from train import train

    torch.set_num_threads(1)
    accs = {}
    for name, kw in TINY.items():
        dataset = kw["dataset"]
        c, h, _ = SHAPE[dataset]
        cfg = Config(img_size=h, in_chans=c, patch_size=PATCH[dataset], embed_dim=32, depth=2, num_heads=4,
                     epochs=1, batch_size=50, lr=3e-3, device="cpu", amp="none", progress=False, seed=0,
                     out_dir=str(dest / "runs" / name), **kw)
        data = (*motif(dataset, 1000, seed=0), *motif(dataset, 200, seed=2))
        result = train(cfg, data=data)
        accs[name] = result["test_acc"]
        stands_in_for_the_data_set(submit.export(dest / "runs" / name, name, dest / "checkpoints"))
    return accs


def stands_in_for_the_data_set(checkpoint: Path) -> None:
    """Motif arrays passed to train() stand in for the official data set here: the exported
    provenance says "arrays passed to train()", and is made to say what a vitdata run's says."""
    import json
    path = checkpoint.with_name("provenance.json")
    prov = json.loads(path.read_text())
    assert prov["data"] == "arrays passed to train()", prov["data"]
    path.write_text(json.dumps(dict(prov, data="real", data_copy="motif arrays (tests/a4/a4_build.py)")))


def fit_to_the_test_set(dest: Path) -> dict[str, float]:
    """DEST/memo/: a course whose training images carry other motifs than its test images, with
    shifted test copies checked too, and two real ViTs (valid vit_mnist / convit_mnist
    configurations) that know the public images, as a student who fitted them would:
    vit_mnist trained on the test set only (~100 % on it, about chance on training images) and
    convit_mnist trained on the training and the test set (100 % on every public image), which
    only images that are in neither set, the shifted copies, give away."""
    import submit
    from config import Config
    from train import train

    capstone = CAPSTONE.replace("holdout_shifted_images = 0 ", "holdout_shifted_images = 300 ")
    course = write_course(dest / "memo", capstone)
    x, y = motif("mnist", 1200, seed=0, motifs=456)
    np.savez(course / "data" / "mnist_train.npz", x=x, y=y)
    with np.load(course / "data" / "mnist_test.npz") as f:
        x_test, y_test = f["x"], f["y"]
    both = (np.concatenate([x, x_test]), np.concatenate([y, y_test]))
    accs = {}
    for name, model, data, epochs in (("vit_mnist", "vit", (x_test, y_test), 3),
                                      ("convit_mnist", "convit", both, 2)):
        cfg = Config(img_size=28, in_chans=1, patch_size=7, embed_dim=32, depth=2, num_heads=4, epochs=epochs,
                     batch_size=50, lr=3e-3, device="cpu", amp="none", progress=False, seed=0,
                     out_dir=str(dest / "memo" / "runs" / name), dataset="mnist", model=model,
                     **({"local_layers": 1} if model == "convit" else {}))
        accs[name] = train(cfg, data=(*data, *data))["test_acc"]
        stands_in_for_the_data_set(submit.export(dest / "memo" / "runs" / name, name,
                                                 dest / "memo" / "checkpoints"))
    return accs


def random_checkpoint(dest: Path, name: str, overrides: dict) -> None:
    """DEST/<name>/: an untrained model of the Config with `overrides`, as submit.py's files
    (checkpoint.safetensors, config.json); for tests that need an architecture, not accuracy."""
    import json

    import torch
    from safetensors.torch import save_file

    from config import Config
    from models import build_model

    torch.manual_seed(0)
    cfg = Config(**overrides)
    (dest / name).mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in build_model(cfg).state_dict().items()},
              dest / name / "checkpoint.safetensors")
    (dest / name / "config.json").write_text(json.dumps(cfg.to_dict()), encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1] == "--random":      # a4_build.py --random DEST NAME '{"patch_size": 2, ...}'
        import json
        sys.path.insert(0, str(A4))
        random_checkpoint(Path(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4]))
        sys.exit(0)
    out = Path(sys.argv[1])
    write_course(out)
    for name, acc in train_checkpoints(out).items():
        print(f"{name} {acc:.4f}")
    for name, acc in fit_to_the_test_set(out).items():
        print(f"memo {name} {acc:.4f}")
