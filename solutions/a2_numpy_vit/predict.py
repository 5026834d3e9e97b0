"""Task 2.9: classify an image file with a trained checkpoint.

    python predict.py --checkpoint runs/vit.npz my_digit.png
    python predict.py --checkpoint runs/vit.npz --invert no photo.jpg

Any PNG or JPEG of any size works: it is converted to the model's channels (grey or RGB),
resized to the model's input size, and normalised like the training data. MNIST digits are
light on dark; a grey image with a light background (a digit drawn on paper) is inverted
first (--invert auto, the default).
"""
import argparse
import json
import os
import sys

import numpy as np

import checkpoint
import data as data_lib
import models

CLASS_NAMES = {"mnist": [str(d) for d in range(10)],
               "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]}
STATS = {"mnist": ((0.1307,), (0.3081,)), "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))}


def load_image(path, image_size, in_chans, invert="auto"):
    """Read an image file as uint8 (1, in_chans, image_size, image_size).

    Raises ValueError naming the file if it cannot be read as an image.
    """
    from PIL import Image, UnidentifiedImageError

    if invert not in ("auto", "yes", "no"):
        raise ValueError(f"invert must be 'auto', 'yes' or 'no', got {invert!r}")
    try:
        with Image.open(path) as im:
            im.load()
            img = im.convert("L" if in_chans == 1 else "RGB")
    except (FileNotFoundError, IsADirectoryError):
        raise ValueError(f"image file {path} does not exist") from None
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"cannot read {path} as an image (PNG or JPEG): {e}") from None
    ### BEGIN SOLUTION Task 2.9: resize, to a (1, C, H, W) uint8 array, invert light backgrounds when asked
    img = img.resize((image_size, image_size), Image.BILINEAR)
    x = np.asarray(img, dtype=np.uint8)
    x = x[None, None] if in_chans == 1 else x.transpose(2, 0, 1)[None]  # (1, C, H, W)
    if invert == "yes" or (invert == "auto" and in_chans == 1 and _border_mean(x) > 127):
        x = 255 - x
    ### END SOLUTION
    return x


def _border_mean(x):
    """Mean intensity of the outermost pixels: a light border means a light background."""
    return float(np.concatenate([x[..., 0, :], x[..., -1, :], x[..., :, 0], x[..., :, -1]], axis=-1).mean())


def top_k(scores, k=3):
    """Softmax probabilities of one score vector (K,) -> [(class index, probability)] best first."""
    ### BEGIN SOLUTION Task 2.9: a numerically stable softmax, then the k largest
    z = np.asarray(scores, dtype=np.float64)
    p = np.exp(z - z.max())
    p /= p.sum()
    order = np.argsort(-p, kind="stable")[:k]
    return [(int(i), float(p[i])) for i in order]
    ### END SOLUTION


def predict_image(model, x, dataset="mnist", k=3):
    """Top-k [(class name, probability)] for one uint8 image x (1, C, H, W)."""
    mean, std = STATS[dataset]
    scores = model.loss(data_lib.normalize(x, mean, std, dtype=model.dtype))[0]  # (K,)
    names = CLASS_NAMES[dataset]
    return [(names[i], p) for i, p in top_k(scores, k)]


def load_model(path):
    """Build the model a checkpoint was saved from and load its parameters."""
    ckpt = checkpoint.load_checkpoint(path)
    try:
        model = models.build_model(ckpt["meta"]["config"])
    except (TypeError, ValueError) as e:
        raise checkpoint.CheckpointError(f"{path}: cannot build the model in its config: {e}") from None
    return checkpoint.restore(model, ckpt, path), ckpt["meta"]


def main(argv=None):
    parser = argparse.ArgumentParser(description="Classify image files with a trained NumPy ViT/ConViT checkpoint.")
    parser.add_argument("--checkpoint", required=True, help="a .npz checkpoint written by Solver.save")
    parser.add_argument("--top", type=int, default=3, help="how many classes to show (default 3)")
    parser.add_argument("--invert", choices=("auto", "yes", "no"), default="auto",
                        help="invert grey images (auto: when the background is light)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("images", nargs="+", help="PNG or JPEG files")
    args = parser.parse_args(argv)
    for path in args.images:  # every check before any work: fail fast on a bad file name
        if not os.path.isfile(path):
            parser.error(f"image file {path} does not exist")
    try:
        model, meta = load_model(args.checkpoint)
        # a checkpoint saved with progress=None may hold {} or null here: both mean "nothing recorded"
        progress = meta.get("progress") or {}
        dataset = progress.get("dataset") or ("mnist" if model.config["in_chans"] == 1 else "cifar10")
        cfg = model.config
        images = {p: load_image(p, cfg["image_size"], cfg["in_chans"], args.invert) for p in args.images}
        results = {p: predict_image(model, x, dataset, args.top) for p, x in images.items()}
    except ValueError as e:  # CheckpointError is a ValueError; so are unreadable images
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({p: [{"class": c, "probability": q} for c, q in r] for p, r in results.items()}, indent=2))
    else:
        for path, res in results.items():
            print(path)
            for rank, (name, prob) in enumerate(res, 1):
                print(f"  {rank}. {name:<12s} {prob:7.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
