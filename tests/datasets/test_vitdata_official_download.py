"""Without torchvision (the NumPy assignments install no torch), `vitdata fetch` downloads the
official files with the standard library from torchvision's own sources, and imports them
with the usual md5 checks. The sources are a local copy here (file:// URLs)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from vitdata import fetching, official
from vitdata_fixtures import REAL_MIRROR

# the mirror CI names, else the one beside the checkout (read before the autouse fixture clears it)
MIRROR = Path(REAL_MIRROR or Path(__file__).resolve().parents[3] / "shared" / "datasets") / "MNIST" / "raw"


@pytest.fixture
def no_torchvision(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)      # import torchvision -> ImportError
    monkeypatch.delenv("VITLAB_MIRROR", raising=False)


@pytest.mark.skipif(not MIRROR.is_dir(), reason="needs the local copy of the official MNIST files")
def test_mnist_downloads_without_torchvision(tmp_path, monkeypatch, no_torchvision):
    monkeypatch.setattr(official, "MNIST_MIRRORS", (f"file://{tmp_path}/nowhere/", f"file://{MIRROR}/"))
    meta = fetching.fetch("mnist", data_dir=tmp_path / "data", log=lambda *_: None)
    assert meta["origin"] == "official-download" and meta["source_kind"] == "idx-gz"
    assert sorted(p.name for p in (tmp_path / "data" / "raw" / "MNIST" / "raw").iterdir()) == sorted(
        f"{stem}.gz" for stem in fetching.spec.MNIST_FILES)


def test_no_source_answering_is_one_line_naming_the_file(tmp_path, monkeypatch, no_torchvision):
    monkeypatch.setattr(official, "MNIST_MIRRORS", (f"file://{tmp_path}/nowhere/",))
    with pytest.raises(fetching.DatasetMissingError, match=r"MNIST.*download failed \(train-images-idx3-ubyte\.gz: "
                                                           r"no source answered .*Offline\? Import a local mirror"):
        fetching.fetch("mnist", data_dir=tmp_path / "data", log=lambda *_: None)
    assert not list((tmp_path / "data" / "raw").rglob("*.part"))
