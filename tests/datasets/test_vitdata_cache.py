"""The cache: decoded once, reused, described by meta.json, found in the right place."""
import json
import os

import numpy as np
import pytest

import vitdata
from vitdata import cache, imagefolder, mnist, paths
from vitdata_fixtures import cifar_arrays, imagefolder_members, leftovers, quiet, write_members, write_mnist


def fail(*_args, **_kwargs):
    raise AssertionError("decoded again")


def test_second_load_and_fetch_do_not_decode(tmp_path, small, monkeypatch):
    write_members(tmp_path / "m", imagefolder_members(cifar_arrays(), "PNG"))
    write_mnist(tmp_path / "m" / "MNIST" / "raw", small)
    for name in ("mnist", "cifar10"):
        vitdata.fetch(name, mirror=tmp_path / "m", data_dir=tmp_path / "d", log=quiet)
    first = vitdata.load_cifar10("train", data_dir=tmp_path / "d")
    monkeypatch.setattr(imagefolder, "decode_chunk", fail)
    monkeypatch.setattr(mnist, "parse_idx", fail)
    messages = []
    meta = vitdata.fetch("cifar10", mirror=tmp_path / "m", data_dir=tmp_path / "d", log=messages.append)
    assert "already cached" in messages[0] and meta["source_kind"] == "imagefolder-png"
    again = vitdata.load_cifar10("train", data_dir=tmp_path / "d")
    np.testing.assert_array_equal(first[0], again[0])
    assert vitdata.load_mnist("test", data_dir=tmp_path / "d")[0].shape == (10, 1, 28, 28)


def test_metadata_records_source_checksums_counts(tmp_path, small):
    write_mnist(tmp_path / "m", small)
    vitdata.fetch("mnist", mirror=tmp_path / "m", data_dir=tmp_path / "d", log=quiet)
    info = vitdata.info("mnist", data_dir=tmp_path / "d")
    assert info["source"] == str((tmp_path / "m").resolve()) and info["origin"] == "mirror"
    assert info["counts"] == {"train": 20, "test": 10}
    assert info["shapes"]["train"] == [20, 1, 28, 28]
    assert info["created"] and info["cache"] == str(tmp_path / "d" / "mnist")
    record = info["checksums"]["train-images-idx3-ubyte.gz"]
    assert record["official"] is True and len(record["md5_uncompressed"]) == 32
    assert set(info["cache_sha256"]) == {f"{s}_{r}.npy" for s in ("train", "test") for r in ("images", "labels")}
    assert cache.verify(info) == []
    on_disk = json.loads((tmp_path / "d" / "mnist" / "meta.json").read_text())
    assert on_disk["source_kind"] == "idx-gz" and "cache" not in on_disk


def test_damaged_cache_is_reported(tmp_path, small):
    write_mnist(tmp_path / "m", small)
    vitdata.fetch("mnist", mirror=tmp_path / "m", data_dir=tmp_path / "d", log=quiet)
    path = tmp_path / "d" / "mnist" / "test_images.npy"
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    assert cache.verify(vitdata.info("mnist", data_dir=tmp_path / "d")) == ["test_images.npy"]
    path.write_bytes(bytes(raw[:-100]))
    with pytest.raises(vitdata.DatasetCorruptError, match="test_images.npy: damaged cache file.*--force"):
        vitdata.load_mnist("test", data_dir=tmp_path / "d")


def test_force_replaces_the_cache_in_place(tmp_path, small):
    write_mnist(tmp_path / "m", small)
    first = vitdata.fetch("mnist", mirror=tmp_path / "m", data_dir=tmp_path / "d", log=quiet)
    second = vitdata.fetch("mnist", mirror=tmp_path / "m", data_dir=tmp_path / "d", force=True, log=quiet)
    assert second["cache"] == first["cache"] and leftovers(tmp_path / "d") == []
    assert sorted(os.listdir(tmp_path / "d" / "mnist")) == [
        "meta.json", "test_images.npy", "test_labels.npy", "train_images.npy", "train_labels.npy"]


def test_mmap_gives_read_only_views(tmp_path, small):
    write_mnist(tmp_path / "m", small)
    vitdata.fetch("mnist", mirror=tmp_path / "m", data_dir=tmp_path / "d", log=quiet)
    x, y = vitdata.load_mnist("train", data_dir=tmp_path / "d", mmap=True)
    assert isinstance(x, np.memmap) and not x.flags.writeable and x.shape == (20, 1, 28, 28)
    x2, _ = vitdata.load_mnist("train", data_dir=tmp_path / "d")
    assert type(x2) is np.ndarray and x2.flags.writeable


def test_missing_cache_is_imported_from_vitlab_mirror(tmp_path, small, monkeypatch):
    write_mnist(tmp_path / "m" / "MNIST" / "raw", small)
    monkeypatch.setenv("VITLAB_MIRROR", str(tmp_path / "m"))
    x, y = vitdata.load_mnist("test", data_dir=tmp_path / "d")
    assert x.shape == (10, 1, 28, 28) and vitdata.display_name("mnist", data_dir=tmp_path / "d") == "MNIST"
    assert vitdata.info("mnist", data_dir=tmp_path / "d")["source"] == str((tmp_path / "m").resolve())


def test_cache_location_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    monkeypatch.chdir(outside)
    assert paths.data_root() == tmp_path / "home" / ".cache" / "vitlab" / "datasets"
    kit = tmp_path / "kit"
    (kit / "datasets").mkdir(parents=True)
    (kit / "course.toml").write_text("name = 'x'\n")
    (kit / "solutions" / "a2").mkdir(parents=True)
    monkeypatch.chdir(kit / "solutions" / "a2")
    assert paths.data_root() == kit / "datasets" / "data"
    monkeypatch.setenv("VITLAB_DATA", str(tmp_path / "env"))
    assert paths.data_root() == tmp_path / "env"
    assert paths.data_root(tmp_path / "arg") == tmp_path / "arg"


def test_pixel_stats_are_exact():
    images = np.array([[[[0, 255]], [[51, 51]]]], np.uint8)  # (1, 2, 1, 2)
    mean, std = cache.pixel_stats(images)
    assert mean == [0.5, 0.2] and std == [0.5, 0.0]


def test_normalize_uses_the_published_statistics():
    x = np.full((2, 3, 32, 32), 255, np.uint8)
    out = vitdata.normalize(x, "cifar10")
    assert out.dtype == np.float32 and out.shape == x.shape
    np.testing.assert_allclose(out[0, :, 0, 0], (1 - np.array(vitdata.MEAN["cifar10"])) / vitdata.STD["cifar10"],
                               rtol=1e-6)
