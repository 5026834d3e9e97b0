"""Every accepted source format imports to the right arrays, labels and metadata."""
import gzip
import io
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vitdata
from vitdata import imagefolder
from vitdata_fixtures import (cifar_arrays, cifar_batches, encode, imagefolder_members, interleaved, mnist_files,
                              quiet, register_cifar, register_mnist, write_members, write_mnist, write_tar)


def jpeg_roundtrip(images):
    """What PIL decodes from each (C, H, W) image saved as JPEG, as (N, C, H, W)."""
    return np.stack([np.asarray(Image.open(io.BytesIO(encode(im, "JPEG")))).transpose(2, 0, 1)
                     for im in images])


def assert_same(data_dir, name, arrays):
    for split, (images, labels) in arrays.items():
        x, y = vitdata.load(name, split, data_dir=data_dir)
        assert x.dtype == np.uint8 and y.dtype == np.int64
        np.testing.assert_array_equal(x, images)
        np.testing.assert_array_equal(y, labels)


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_mnist_idx_roundtrip(tmp_path, small, gz):
    arrays = write_mnist(tmp_path / "mirror" / "MNIST" / "raw", small, gz=gz)
    meta = vitdata.fetch("mnist", mirror=tmp_path / "mirror", data_dir=tmp_path / "data", log=quiet)
    assert_same(tmp_path / "data", "mnist", arrays)
    x, _ = vitdata.load_mnist("test", data_dir=tmp_path / "data")
    assert x.shape == (10, 1, 28, 28)
    assert meta["source_kind"] == ("idx-gz" if gz else "idx")
    assert meta["official"] is True and meta["display_name"] == "MNIST"
    assert set(meta["checksums"]) == {f + (".gz" if gz else "") for f in mnist_files(arrays)}


def test_mnist_from_archive_mirror(tmp_path, small):
    arrays = {s: vitdata.synthetic("mnist", s, n=n, seed=7) for s, n in (("train", 20), ("test", 10))}
    files = mnist_files(arrays)
    register_mnist(small, files)
    archive = write_tar(tmp_path / "mnist.tar.gz", {f"mnist/{k}": v for k, v in files.items()})
    meta = vitdata.fetch("mnist", mirror=archive, data_dir=tmp_path / "data", log=quiet)
    assert_same(tmp_path / "data", "mnist", arrays)
    assert meta["source"] == str(archive.resolve()) and meta["checksums"]["mnist.tar.gz"]["sha256"]


def test_cifar_python_tarball(tmp_path, small):
    arrays = cifar_arrays()
    batches = cifar_batches(arrays)
    register_cifar(small, batches)
    write_tar(tmp_path / "mirror" / "cifar-10-python.tar.gz",
              {f"cifar-10-batches-py/{k}": v for k, v in batches.items()})
    meta = vitdata.fetch("cifar10", mirror=tmp_path / "mirror", data_dir=tmp_path / "data", log=quiet)
    assert_same(tmp_path / "data", "cifar10", arrays)  # official order kept
    assert meta["source_kind"] == "cifar-python" and meta["official"] is True
    assert vitdata.display_name("cifar10", data_dir=tmp_path / "data") == "CIFAR-10"
    tarball = meta["checksums"]["cifar-10-python.tar.gz"]
    assert tarball["official"] is False and "verified one by one" in tarball["check"]
    assert all(meta["checksums"][f"data_batch_{k}"]["official"] for k in range(1, 6))


def test_cifar_python_extracted_folder(tmp_path, small):
    arrays = cifar_arrays()
    batches = cifar_batches(arrays)
    register_cifar(small, batches)
    write_members(tmp_path / "mirror", {f"cifar-10-batches-py/{k}": v for k, v in batches.items()})
    vitdata.fetch("cifar10", mirror=tmp_path / "mirror", data_dir=tmp_path / "data", log=quiet)
    x, y = vitdata.load_cifar10("train", data_dir=tmp_path / "data")
    assert x.shape == (20, 3, 32, 32)
    assert_same(tmp_path / "data", "cifar10", arrays)


def test_imagefolder_png_is_lossless(tmp_path, small):
    arrays = cifar_arrays()
    write_members(tmp_path / "mirror", imagefolder_members(arrays, "PNG"))
    meta = vitdata.fetch("cifar10", mirror=tmp_path / "mirror", data_dir=tmp_path / "data", log=quiet)
    assert_same(tmp_path / "data", "cifar10", {s: interleaved(*a) for s, a in arrays.items()})
    assert meta["source_kind"] == "imagefolder-png" and meta["official"] is False
    assert meta["display_name"] == "CIFAR-10 (PNG copy)"
    assert meta["checksums"]["manifest"]["official"] is False


def test_imagefolder_jpeg_tarball_like_the_shared_mirror(tmp_path, small, monkeypatch):
    """A folder holding MNIST/raw/*.gz and cifar10-jpeg.tar.gz, decoded by 2 processes."""
    monkeypatch.setattr(imagefolder, "CHUNK", 7)  # several chunks, so the process pool is used
    mirror = tmp_path / "mirror"
    write_mnist(mirror / "MNIST" / "raw", small)
    arrays = cifar_arrays()
    write_tar(mirror / "cifar10-jpeg.tar.gz", imagefolder_members(arrays, "JPEG"))
    meta = vitdata.fetch("cifar10", mirror=mirror, data_dir=tmp_path / "data", workers=2, log=quiet)
    info = vitdata.info("cifar10", data_dir=tmp_path / "data")
    assert info["source_kind"] == "imagefolder-jpeg" == meta["source_kind"]
    assert vitdata.display_name("cifar10", data_dir=tmp_path / "data") == "CIFAR-10 (JPEG copy)"
    assert info["checksums"]["cifar10-jpeg.tar.gz"]["official"] is False
    assert "not official" in info["checksums"]["cifar10-jpeg.tar.gz"]["check"]
    for split, (images, labels) in arrays.items():
        want_x, want_y = interleaved(jpeg_roundtrip(images), labels)  # JPEG is lossy
        x, y = vitdata.load_cifar10(split, data_dir=tmp_path / "data")
        np.testing.assert_array_equal(y, want_y)
        np.testing.assert_array_equal(x, want_x)


def test_imagefolder_under_a_prefix_in_an_archive_mirror(tmp_path, small):
    arrays = cifar_arrays()
    archive = write_tar(tmp_path / "copy.tar.gz", imagefolder_members(arrays, "PNG", prefix="cifar10/"))
    vitdata.fetch("cifar10", mirror=archive, data_dir=tmp_path / "data", log=quiet)
    assert_same(tmp_path / "data", "cifar10", {s: interleaved(*a) for s, a in arrays.items()})


def test_official_batches_preferred_over_an_image_copy(tmp_path, small):
    arrays = cifar_arrays()
    batches = cifar_batches(arrays)
    register_cifar(small, batches)
    write_members(tmp_path / "mirror", imagefolder_members(arrays, "PNG"))
    write_members(tmp_path / "mirror", {f"cifar-10-batches-py/{k}": v for k, v in batches.items()})
    meta = vitdata.fetch("cifar10", mirror=tmp_path / "mirror", data_dir=tmp_path / "data", log=quiet)
    assert meta["source_kind"] == "cifar-python"



def fake_torchvision(monkeypatch, mnist_files_, cifar_members):
    """A stand-in for torchvision's downloaders that writes the files where torchvision does."""
    def mnist(root, train, download):
        raw = Path(root) / "MNIST" / "raw"
        write_members(raw, {f"{k}.gz": gzip.compress(v) for k, v in mnist_files_.items()})
        write_members(raw, mnist_files_)  # torchvision keeps both the .gz and the extracted file

    def cifar10(root, train, download):
        write_tar(Path(root) / "cifar-10-python.tar.gz", cifar_members)
        write_members(Path(root), cifar_members)

    fake = types.ModuleType("torchvision")
    fake.datasets = types.SimpleNamespace(MNIST=mnist, CIFAR10=cifar10)
    monkeypatch.setitem(sys.modules, "torchvision", fake)


def test_download_with_torchvision_then_import(tmp_path, small):
    mnist_arrays_ = {s: vitdata.synthetic("mnist", s, n=n, seed=7) for s, n in (("train", 20), ("test", 10))}
    files = mnist_files(mnist_arrays_)
    register_mnist(small, files)
    arrays = cifar_arrays()
    batches = cifar_batches(arrays)
    register_cifar(small, batches)
    fake_torchvision(small, files, {f"cifar-10-batches-py/{k}": v for k, v in batches.items()})
    for name, want, kind in (("mnist", mnist_arrays_, "idx"), ("cifar10", arrays, "cifar-python")):
        meta = vitdata.fetch(name, data_dir=tmp_path / "data", log=quiet)
        assert meta["origin"] == "torchvision-download" and meta["source_kind"] == kind
        assert meta["source"] == str((tmp_path / "data" / "raw").resolve())
        assert_same(tmp_path / "data", name, want)
