"""Download the official dataset files without torchvision (the NumPy assignments do not
install torch): the same files from the same places torchvision uses, with the standard
library. Nothing is trusted here: the importer checks every file's official md5 afterwards.
"""
from __future__ import annotations

import os
import shutil
import urllib.request
from pathlib import Path

from . import spec

# Where torchvision downloads them from (torchvision.datasets.MNIST.mirrors, CIFAR10.url).
MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
TIMEOUT_S = 60


def download(name: str, raw_dir: Path, log=print) -> Path:
    """The official files of `name` under `raw_dir` (MNIST/raw/*.gz, or the CIFAR-10 tarball),
    in the layout torchvision leaves them. Raises OSError naming the file when all sources fail."""
    if name == "mnist":
        for stem in spec.MNIST_FILES:
            _fetch([f"{base}{stem}.gz" for base in MNIST_MIRRORS], raw_dir / "MNIST" / "raw" / f"{stem}.gz", log)
    else:
        _fetch([CIFAR_URL], raw_dir / spec.CIFAR_TARBALL, log)
    return raw_dir


def _fetch(urls: list[str], dest: Path, log) -> None:
    """First URL that answers, written atomically (a .part file renamed into place)."""
    if dest.is_file():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in urls:
        part = dest.with_name(dest.name + ".part")
        try:
            log(f"  {url}")
            with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(part, "wb") as out:
                shutil.copyfileobj(response, out)
            os.replace(part, dest)
            return
        except OSError as e:      # URLError and HTTPError are OSErrors
            part.unlink(missing_ok=True)
            errors.append(f"{url}: {getattr(e, 'reason', None) or e}")
    raise OSError(f"{dest.name}: no source answered ({'; '.join(errors)})")
