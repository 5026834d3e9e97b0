"""Missing or broken data: clear errors naming the file and the fix, and never a half-written cache."""
import gzip
import sys
import types

import numpy as np
import pytest

import vitdata
from vitdata_fixtures import (cifar_arrays, cifar_batches, encode, idx_bytes, imagefolder_members, leftovers,
                              mnist_arrays, quiet, register_cifar, write_members, write_mnist, write_tar)

FIXES = ("make datasets", "MIRROR=", "python -m vitdata fetch")


def fetch(name, mirror, data_dir, **kw):
    return vitdata.fetch(name, mirror=mirror, data_dir=data_dir, log=quiet, **kw)


def test_missing_cache_names_the_file_and_the_command(tmp_path):
    with pytest.raises(vitdata.DatasetMissingError) as err:
        vitdata.load_mnist("train", data_dir=tmp_path)
    assert isinstance(err.value, FileNotFoundError)
    msg = str(err.value)
    assert str(tmp_path / "mnist" / "meta.json") in msg
    assert all(fix in msg for fix in FIXES) and "fetch mnist" in msg
    with pytest.raises(vitdata.DatasetMissingError, match="fetch cifar10"):
        vitdata.info("cifar10", data_dir=tmp_path)


def test_bad_names_and_splits(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        vitdata.load("imagenet", "train", data_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown split 'val'"):
        vitdata.load("mnist", "val", data_dir=tmp_path)


def test_mirror_without_the_dataset(tmp_path, small):
    (tmp_path / "empty").mkdir()
    with pytest.raises(vitdata.DatasetMissingError) as err:
        fetch("cifar10", tmp_path / "empty", tmp_path / "data")
    assert "cifar-10-batches-py" in str(err.value) and "MIRROR=" in str(err.value)
    with pytest.raises(vitdata.DatasetMissingError, match="does not exist"):
        fetch("mnist", tmp_path / "nowhere", tmp_path / "data")


def test_incomplete_mnist_names_the_missing_file(tmp_path, small):
    write_mnist(tmp_path / "m", small)
    (tmp_path / "m" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(vitdata.DatasetMissingError, match="t10k-labels-idx1-ubyte"):
        fetch("mnist", tmp_path / "m", tmp_path / "data")
    assert not (tmp_path / "data" / "mnist").exists()


def good_mnist_cache(tmp_path, small):
    """A complete cache from a good mirror, plus the arrays it holds."""
    write_mnist(tmp_path / "good", small)
    fetch("mnist", tmp_path / "good", tmp_path / "data")
    return vitdata.load_mnist("train", data_dir=tmp_path / "data")


def break_truncated_gzip(folder):
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-40])
    return path, "truncated"


def break_magic(folder):
    path = folder / "train-images-idx3-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[2] = 0x0D  # float data instead of unsigned bytes
    path.write_bytes(gzip.compress(bytes(raw)))
    return path, "not an IDX file"


def break_count(folder):
    path = folder / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(9, dtype=np.uint8))))
    return path, "holds 9 labels, expected 10"


def break_short_data(folder):
    path = folder / "train-labels-idx1-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-3]))
    return path, "truncated: header says 20"


def break_md5(folder):
    path = folder / "train-labels-idx1-ubyte.gz"
    labels = mnist_arrays()["train"][1].astype(np.uint8)
    path.write_bytes(gzip.compress(idx_bytes(labels[::-1].copy())))  # valid IDX, other content
    return path, "is not the official"


@pytest.mark.parametrize("damage", [break_truncated_gzip, break_magic, break_count, break_short_data, break_md5])
def test_corrupt_mnist_names_the_file_and_keeps_the_good_cache(tmp_path, small, damage):
    before_x, before_y = good_mnist_cache(tmp_path, small)
    meta_before = vitdata.info("mnist", data_dir=tmp_path / "data")
    write_mnist(tmp_path / "bad", small)
    path, what = damage(tmp_path / "bad")
    with pytest.raises(vitdata.DatasetCorruptError) as err:
        fetch("mnist", tmp_path / "bad", tmp_path / "data", force=True)
    assert str(path) in str(err.value) and what in str(err.value)
    assert leftovers(tmp_path / "data") == []
    x, y = vitdata.load_mnist("train", data_dir=tmp_path / "data")
    np.testing.assert_array_equal(x, before_x)
    np.testing.assert_array_equal(y, before_y)
    assert vitdata.info("mnist", data_dir=tmp_path / "data")["created"] == meta_before["created"]


def test_corrupt_first_import_leaves_no_cache(tmp_path, small):
    write_mnist(tmp_path / "bad", small)
    break_truncated_gzip(tmp_path / "bad")
    with pytest.raises(vitdata.DatasetCorruptError):
        fetch("mnist", tmp_path / "bad", tmp_path / "data")
    assert not (tmp_path / "data" / "mnist").exists() and leftovers(tmp_path / "data") == []
    with pytest.raises(vitdata.DatasetMissingError):
        vitdata.load_mnist(data_dir=tmp_path / "data")


@pytest.mark.parametrize("workers", [1, 2])
def test_corrupt_jpeg_names_the_member(tmp_path, small, monkeypatch, workers):
    monkeypatch.setattr(vitdata.imagefolder, "CHUNK", 6)
    members = imagefolder_members(cifar_arrays(), "JPEG")
    bad = "test/cat/0000.jpg"
    members[bad] = members[bad][: len(members[bad]) // 2]  # truncated JPEG
    archive = write_tar(tmp_path / "m" / "cifar10-jpeg.tar.gz", members)
    with pytest.raises(vitdata.DatasetCorruptError) as err:
        fetch("cifar10", tmp_path / "m", tmp_path / "data", workers=workers)
    assert f"{archive} (member {bad})" in str(err.value)
    assert not (tmp_path / "data" / "cifar10").exists() and leftovers(tmp_path / "data") == []


def test_garbage_image_in_a_folder(tmp_path, small):
    write_members(tmp_path / "m", imagefolder_members(cifar_arrays(), "PNG"))
    (tmp_path / "m" / "train" / "dog" / "0001.png").write_bytes(b"not an image at all")
    with pytest.raises(vitdata.DatasetCorruptError, match=r"train/dog/0001\.png: cannot decode"):
        fetch("cifar10", tmp_path / "m", tmp_path / "data")


def test_wrong_image_size(tmp_path, small):
    members = imagefolder_members(cifar_arrays(), "PNG")
    members["train/ship/0000.png"] = encode(np.zeros((3, 16, 16), np.uint8), "PNG")
    write_members(tmp_path / "m", members)
    with pytest.raises(vitdata.DatasetCorruptError, match=r"ship/0000\.png: image is 16x16"):
        fetch("cifar10", tmp_path / "m", tmp_path / "data")


def test_wrong_image_count_and_class_folders(tmp_path, small):
    write_members(tmp_path / "m", imagefolder_members(cifar_arrays(), "PNG"))
    (tmp_path / "m" / "train" / "frog" / "0000.png").unlink()
    with pytest.raises(vitdata.DatasetCorruptError, match="19 images, expected 20"):
        fetch("cifar10", tmp_path / "m", tmp_path / "data")
    (tmp_path / "m" / "test" / "unicorn").mkdir()
    (tmp_path / "m" / "test" / "unicorn" / "0.png").write_bytes(b"")
    with pytest.raises(vitdata.DatasetCorruptError, match="unexpected: \\['unicorn'\\]"):
        fetch("cifar10", tmp_path / "m", tmp_path / "data")


def test_truncated_archive_names_the_archive(tmp_path, small):
    archive = write_tar(tmp_path / "m" / "cifar10-jpeg.tar.gz", imagefolder_members(cifar_arrays(), "JPEG"))
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(vitdata.DatasetCorruptError, match="cifar10-jpeg.tar.gz: not a complete tar archive"):
        fetch("cifar10", tmp_path / "m", tmp_path / "data")


def test_archive_checked_against_the_mirrors_sha256sums(tmp_path, small):
    write_tar(tmp_path / "m" / "cifar10-jpeg.tar.gz", imagefolder_members(cifar_arrays(), "PNG"))
    (tmp_path / "m" / "SHA256SUMS").write_text("0" * 64 + "  cifar10-jpeg.tar.gz\n")
    with pytest.raises(vitdata.DatasetCorruptError, match="differs from the one in"):
        fetch("cifar10", tmp_path / "m", tmp_path / "data")


def test_cifar_batch_with_wrong_md5(tmp_path, small):
    batches = cifar_batches(cifar_arrays())
    register_cifar(small, batches)
    batches["data_batch_3"] = batches["data_batch_3"][:-10]
    write_tar(tmp_path / "m" / "cifar-10-python.tar.gz", {f"cifar-10-batches-py/{k}": v for k, v in batches.items()})
    with pytest.raises(vitdata.DatasetCorruptError, match=r"member cifar-10-batches-py/data_batch_3\): md5"):
        fetch("cifar10", tmp_path / "m", tmp_path / "data")


def test_cifar_batch_cannot_run_code(tmp_path, small):
    """A pickle naming anything but numpy's array types is refused before it can run."""
    batches = cifar_batches(cifar_arrays())
    batches["data_batch_1"] = b"cos\nsystem\n(S'echo pwned'\ntR."
    register_cifar(small, batches)
    write_members(tmp_path / "m", {f"cifar-10-batches-py/{k}": v for k, v in batches.items()})
    with pytest.raises(vitdata.DatasetCorruptError, match="unexpected object os.system"):
        fetch("cifar10", tmp_path / "m", tmp_path / "data")


def test_offline_download_points_to_the_mirror_option(tmp_path, monkeypatch):
    def unreachable(root, train, download):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\n<urlopen error>")

    fake = types.ModuleType("torchvision")
    fake.datasets = types.SimpleNamespace(MNIST=unreachable, CIFAR10=unreachable)
    monkeypatch.setitem(sys.modules, "torchvision", fake)
    with pytest.raises(vitdata.DatasetMissingError) as err:
        fetch("mnist", None, tmp_path / "data")
    msg = str(err.value)
    assert "download failed (Error downloading train-images-idx3-ubyte.gz: <urlopen error>)" in msg
    assert "make datasets MIRROR=<dir>" in msg and "VITLAB_MIRROR" in msg and "--mirror" in msg
