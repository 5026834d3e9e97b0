"""Real data from the mirror named by VITLAB_MIRROR (CI: ../shared/datasets); skipped without it.

Importing the CIFAR-10 JPEG copy decodes 60,000 images: about 15 s on 2 cores, so it runs
in `make test` (marked slow).
"""
from pathlib import Path

import numpy as np
import pytest

import vitdata
from vitdata import fetching, spec
from vitdata_fixtures import REAL_MIRROR, quiet

pytestmark = pytest.mark.skipif(not REAL_MIRROR, reason="VITLAB_MIRROR is not set (no real dataset mirror)")


def mirror() -> Path:
    return Path(REAL_MIRROR).expanduser()


def test_real_mnist_official_md5s_and_counts(tmp_path):
    meta = vitdata.fetch("mnist", mirror=mirror(), data_dir=tmp_path, log=quiet)
    assert meta["official"] is True and meta["display_name"] == "MNIST"
    for fname, (split, role, md5, _) in spec.MNIST_FILES.items():
        record = next(r for k, r in meta["checksums"].items() if k.startswith(fname))
        assert record["md5_uncompressed"] == md5 and record["official"] is True
    assert meta["counts"] == {"train": 60_000, "test": 10_000}
    x, y = vitdata.load_mnist("train", data_dir=tmp_path)
    assert x.shape == (60_000, 1, 28, 28) and y.shape == (60_000,)
    assert np.bincount(y).tolist()[:3] == [5923, 6742, 5958]  # the well-known class counts
    assert meta["train_pixel_mean"] == [0.1307] and meta["train_pixel_std"] == [0.3081]


@pytest.mark.slow
def test_real_cifar10_copy(tmp_path):
    meta = vitdata.fetch("cifar10", mirror=mirror(), data_dir=tmp_path, log=quiet)
    assert meta["counts"] == {"train": 50_000, "test": 10_000}
    if meta["source_kind"].startswith("imagefolder"):
        assert meta["official"] is False and "copy" in meta["display_name"]
        archive = [r for r in meta["checksums"].values() if "sha256" in r and "file" in r]
        assert all("not official" in r["check"] for r in archive)
        sums = mirror() / "SHA256SUMS"
        if sums.is_file() and archive:
            assert archive[0]["sha256"] == fetching._listed_sha256(Path(archive[0]["file"]))
    else:
        assert meta["official"] is True and meta["display_name"] == "CIFAR-10"
    for split, n in meta["counts"].items():
        x, y = vitdata.load_cifar10(split, data_dir=tmp_path)
        assert x.shape == (n, 3, 32, 32) and np.bincount(y).tolist() == [n // 10] * 10
    np.testing.assert_allclose(meta["train_pixel_mean"], spec.MEAN["cifar10"], atol=0.002)
    np.testing.assert_allclose(meta["train_pixel_std"], spec.STD["cifar10"], atol=0.003)
