"""Fixtures for the dataset tests: a clean environment and shrunken expected counts."""
import pytest

from vitdata import spec
from vitdata_fixtures import N


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.delenv("VITLAB_MIRROR", raising=False)
    monkeypatch.delenv("VITLAB_DATA", raising=False)


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setitem(spec.COUNTS, "mnist", dict(N))
    monkeypatch.setitem(spec.COUNTS, "cifar10", dict(N))
    return monkeypatch
