"""Student files read on the trusted side are read with bounds: bombs become statuses."""
import io
import resource
import zipfile

import numpy as np
import pytest

from autograder.engine.checks import GradingFailure
from autograder.engine.untrusted import parse_json, read_npz


def _npz(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_a_zip_bomb_is_refused_before_it_inflates():
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (1 << 28,)})
    bomb = _npz({"param/w.npy": header.getvalue() + b"\0" * (2 << 30 >> 3)})   # 2 GiB of zeros, ~2 MB packed
    assert len(bomb) < 4 << 20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(GradingFailure, match="unpacks to more than"):
        read_npz(bomb, "the checkpoint")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 << 10   # KiB: under 200 MB


def test_plain_arrays_are_read_and_pickles_are_not():
    buf = io.BytesIO()
    np.savez(buf, **{"param/w": np.arange(6.0).reshape(2, 3)})
    assert read_npz(buf.getvalue(), "ckpt")["param/w"].shape == (2, 3)
    buf = io.BytesIO()
    np.savez(buf, evil=np.array([object()], dtype=object))
    with pytest.raises(GradingFailure, match="not a plain .npy array"):
        read_npz(buf.getvalue(), "ckpt")
    with pytest.raises(GradingFailure, match="not an .npz"):
        read_npz(b"PK\x03\x04 nonsense", "ckpt")


def test_deep_or_huge_json_is_a_failure_not_a_crash():
    with pytest.raises(GradingFailure, match="config.json: JSON nested 100000 deep"):
        parse_json("[" * 100_000 + "]" * 100_000, "config.json")
    with pytest.raises(GradingFailure, match="config.json: .* over the"):
        parse_json(" " * (2 << 20), "config.json")
    with pytest.raises(GradingFailure, match="appears twice"):
        parse_json('{"a": 1, "a": 2}', "config.json")
    assert parse_json('{"a": "[[[[\\"]]]]", "b": [1, {"c": 2}]}', "x") == {"a": '[[[["]]]]', "b": [1, {"c": 2}]}
