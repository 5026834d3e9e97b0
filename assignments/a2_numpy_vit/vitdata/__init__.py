"""vitdata: MNIST and CIFAR-10 for ViT Lab, verified once and cached as uint8 arrays.

    import vitdata
    x, y = vitdata.load_cifar10("train")   # uint8 (50000, 3, 32, 32), int64 (50000,)
    vitdata.display_name("cifar10")        # "CIFAR-10" or "CIFAR-10 (JPEG copy)"

Fill the cache once with `make datasets` (in the kit or an assignment folder) or
`python -m vitdata fetch all [--mirror DIR]`. Needs only numpy (and pillow to import image
folders); torchvision, where installed, is used only to download.
"""
from .errors import DatasetCorruptError, DatasetMissingError
from .fetching import fetch
from .loaders import display_name, info, load, load_cifar10, load_mnist, normalize
from .paths import data_root
from .spec import CLASSES, MEAN, NAMES, STD
from .synthetic import synthetic

__all__ = [
    "CLASSES", "MEAN", "STD", "NAMES", "DatasetCorruptError", "DatasetMissingError",
    "data_root", "display_name", "fetch", "info", "load", "load_cifar10", "load_mnist",
    "normalize", "synthetic",
]
