"""What the two datasets must look like: classes, counts, shapes, statistics, official checksums.

The loaders read these tables at call time, so a test can shrink the expected counts
(`monkeypatch.setitem(spec.COUNTS["mnist"], "train", 20)`) or register the checksums of
its own tiny files without touching real data.
"""
from __future__ import annotations

NAMES = ("mnist", "cifar10")
SPLITS = ("train", "test")

CLASSES = {
    "mnist": tuple(str(d) for d in range(10)),
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer",
                "dog", "frog", "horse", "ship", "truck"),
}

# Per-channel mean and std of the official training pixels on the 0..1 scale.
MEAN = {"mnist": (0.1307,), "cifar10": (0.4914, 0.4822, 0.4465)}
STD = {"mnist": (0.3081,), "cifar10": (0.2470, 0.2435, 0.2616)}

COUNTS = {
    "mnist": {"train": 60_000, "test": 10_000},
    "cifar10": {"train": 50_000, "test": 10_000},
}
IMAGE_SHAPE = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}  # (C, H, W)

# MNIST IDX files: name -> (split, "images" | "labels", md5 of the uncompressed file,
# md5 of the .gz as torchvision downloads it).
MNIST_FILES = {
    "train-images-idx3-ubyte": ("train", "images", "6bbc9ace898e44ae57da46a324031adb",
                                "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train-labels-idx1-ubyte": ("train", "labels", "a25bea736e30d166cdddb491f175f624",
                                "d53e105ee54ea40749a09fcbcd1e9432"),
    "t10k-images-idx3-ubyte": ("test", "images", "2646ac647ad5339dbf082846283269ea",
                               "9fb629c4189551a2d022fa330f9573f3"),
    "t10k-labels-idx1-ubyte": ("test", "labels", "27ae3e4e09519cfbb04c329615203637",
                               "ec29112dd5afa0611ce80d1b7f02629c"),
}

# CIFAR-10 python version: the tarball and the batches inside it (md5s as torchvision lists them).
CIFAR_TARBALL = "cifar-10-python.tar.gz"
CIFAR_TARBALL_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_BATCHES = {
    "data_batch_1": ("train", "c99cafc152244af753f735de768cd75f"),
    "data_batch_2": ("train", "d4bba439e000b95fd0a9bffe97cbabec"),
    "data_batch_3": ("train", "54ebc095f3ab1f0389bbae665268c751"),
    "data_batch_4": ("train", "634d18415352ddfa80567beed471001a"),
    "data_batch_5": ("train", "482c414d41f54cd18b22e5b47cb7c3cb"),
    "test_batch": ("test", "40351d587109b95175f43aff81a1287e"),
}
CIFAR_META = ("batches.meta", "5ff9c542aee3614f3951f8cda6e48888")

# How each kind of source is named in reports. Only official files give plain names.
DISPLAY = {
    ("mnist", "idx"): "MNIST",
    ("mnist", "idx-gz"): "MNIST",
    ("mnist", "idx-mixed"): "MNIST",
    ("cifar10", "cifar-python"): "CIFAR-10",
    ("cifar10", "imagefolder-jpeg"): "CIFAR-10 (JPEG copy)",
    ("cifar10", "imagefolder-png"): "CIFAR-10 (PNG copy)",
    ("cifar10", "imagefolder-mixed"): "CIFAR-10 (PNG/JPEG copy)",
}
PLAIN_NAME = {"mnist": "MNIST", "cifar10": "CIFAR-10"}


def check_name(name: str) -> str:
    """Normalise a dataset name ('MNIST', 'cifar-10', ...) or raise ValueError."""
    key = str(name).lower().replace("-", "").replace("_", "")
    if key not in NAMES:
        raise ValueError(f"unknown dataset {name!r} (known: {', '.join(NAMES)})")
    return key


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (known: {', '.join(SPLITS)})")
    return split
