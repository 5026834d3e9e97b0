"""Unit tests: strict checks (never leak expected values) and the wire format (never unpickles)."""
import io
import json
import os
import pickle
import struct
import threading

import numpy as np
import pytest
import torch

from autograder.engine.inside import wire
from autograder.engine.checks import GradingFailure, expect_array, expect_close, expect_equal, expect_handle
from autograder.engine.inside.wire import Handle


def fails(fn, *args, **kw) -> str:
    with pytest.raises(GradingFailure) as e:
        fn(*args, **kw)
    return str(e.value)


def test_expect_close_messages_name_shape_dtype_and_error_not_values():
    exp = np.array([[1.2345678, 2.0], [3.0, 4.0]])
    assert "expected shape (2, 2), got shape (4,)" in fails(expect_close, exp.ravel(), exp, name="out")
    assert "expected dtype float64, got dtype float32" in fails(expect_close, exp.astype(np.float32), exp)
    bad = exp.copy()
    bad[1, 0] = 3.5
    msg = fails(expect_close, bad, exp, rtol=1e-6)
    assert "1 of 4 entries are off" in msg and "index (1, 0)" in msg and "max relative error 0.167" in msg
    assert "1.2345678" not in msg and "3.0" not in msg
    nan = exp.copy()
    nan[0, 1] = np.nan
    assert "non-finite" in fails(expect_close, nan, exp)
    expect_close(exp + 1e-12, exp, rtol=1e-9)


def test_subclasses_handles_and_wrong_types_never_pass():
    exp = np.zeros(3)
    assert "subclass of numpy.ndarray" in fails(expect_close, Handle(1, "m.Sneaky", "numpy.ndarray"), exp)
    assert "expected a numpy.ndarray, got a m.Liar object" in fails(expect_array, Handle(2, "m.Liar"))
    assert "expected a numpy.ndarray, got a list" in fails(expect_close, [0.0, 0.0, 0.0], exp)
    assert "expected a torch.Tensor" in fails(expect_close, exp, torch.zeros(3, dtype=torch.float64))
    assert "expected a real number, got a bool" in fails(expect_close, True, 1.0)
    assert "wrong value" in fails(expect_equal, 5, 6)
    assert "expected a int, got a float" in fails(expect_equal, 5.0, 5)
    expect_handle(Handle(3, "layers.Cache"), "Cache")
    expect_close(torch.ones(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64))


def _roundtrip(value, handles=None):
    node, blobs = wire.encode(value, handle_of=(lambda v: 7) if handles is None else handles)
    r, w = os.pipe()
    wire.send(w, {"value": node}, blobs)
    header, got = wire.recv(r)
    os.close(r), os.close(w)
    return wire.decode(header["value"], got, make_handle=lambda i, t, s: Handle(i, t, s))


def test_values_round_trip_with_exact_types():
    value = {"a": (np.arange(6, dtype=np.float32).reshape(2, 3), 3, 2.5, None, "s", True),
             1: [np.float64(1.5), np.int64(-2), torch.arange(4.0, requires_grad=True)], "nan": float("nan")}
    out = _roundtrip(value)
    assert type(out["a"]) is tuple and type(out[1]) is list
    a = out["a"][0]
    assert type(a) is np.ndarray and a.dtype == np.float32 and a.shape == (2, 3)
    assert type(out[1][0]) is np.float64 and type(out[1][1]) is np.int64
    t = out[1][2]
    assert type(t) is torch.Tensor and t.requires_grad and t.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert np.isnan(out["nan"])


def test_subclass_and_objects_become_handles():
    class Sneaky(np.ndarray):
        pass

    class Flt(float):
        pass

    out = _roundtrip([np.zeros(2).view(Sneaky), Flt(1.0), object(), np.array([object()])])
    assert all(type(h) is Handle for h in out)
    assert out[0].subclass_of == "numpy.ndarray" and out[1].subclass_of == "float"


def test_malformed_frames_are_rejected_not_unpickled():
    r, w = os.pipe()
    evil = pickle.dumps(object())
    os.write(w, struct.pack(">Q", len(evil)) + evil)
    with pytest.raises(wire.ProtocolError):
        wire.recv(r)
    buf = io.BytesIO()
    np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    header = json.dumps({"value": {"t": "ndarray", "b": 0}, "blobs": [len(buf.getvalue())]}).encode()
    os.write(w, struct.pack(">Q", len(header)) + header + buf.getvalue())
    h, blobs = wire.recv(r)
    with pytest.raises(wire.ProtocolError):
        wire.decode(h["value"], blobs)
    os.write(w, struct.pack(">Q", wire.MAX_HEADER + 1))
    with pytest.raises(wire.ProtocolError):
        wire.recv(r)
    os.close(r), os.close(w)


def test_recv_times_out_on_a_silent_peer():
    import time
    r, w = os.pipe()
    os.write(w, struct.pack(">Q", 100) + b"{")      # half a message, then silence
    with pytest.raises(TimeoutError):
        wire.recv(r, deadline=time.monotonic() + 0.2)
    os.close(r), os.close(w)


@pytest.mark.parametrize("value", [np.complex128(1.0 + 1e6j), 1.0 + 0j, np.bool_(True), True, "1.0", None,
                                   np.array(1.0), 10 ** 400, np.float64("nan"), np.timedelta64(1, "s"),
                                   np.datetime64(1, "s"), np.str_("1.0")])
def test_a_real_number_is_expected_where_one_is(value):
    """Complex, bool, string, arrays and ints too large for a float fail with a status, not an error."""
    with pytest.raises(GradingFailure):
        expect_close(value, 1.0)


def test_numpy_reals_and_ints_still_pass():
    for value in (1, 1.0, np.float32(1.0), np.int64(1), np.float64(1.0)):
        expect_close(value, 1.0)


def test_deep_headers_and_odd_type_names_are_protocol_data():
    """A 200,000-deep JSON header is a ProtocolError, and a type name is cut and cleaned."""
    r, w = os.pipe()
    raw = b"[" * 200_000 + b"]" * 200_000
    os.write(w, struct.pack(">Q", len(raw)))
    t = threading.Thread(target=lambda: (os.write(w, raw), os.close(w)))
    t.start()
    with pytest.raises(wire.ProtocolError, match="nests too deeply"):
        wire.recv(r)
    t.join()
    os.close(r)
    h = wire.decode({"t": "handle", "id": 1, "type": "```\n<script>" + "x" * 500, "sub": None}, [],
                    make_handle=lambda i, t, s: t)
    assert len(h) <= 80 and "\n" not in h and "`" not in h


def test_a_zero_width_or_structured_array_is_protocol_data_and_never_allocated():
    """A forged .npy of a zero-width dtype claims 10**15 items in no bytes; structured, void and
    datetime arrays are no numbers either. Honest workers send such values as handles."""
    from numpy.lib import format as npformat
    for descr, shape, data in (("<U0", (10 ** 15,), b""), ("|V0", (10 ** 15,), b""),
                               ([("a", "<f8")], (2,), bytes(16)), ("<M8[s]", (2,), bytes(16))):
        buf = io.BytesIO()
        npformat.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
        with pytest.raises(wire.ProtocolError):
            wire.decode({"t": "ndarray", "b": 0}, [buf.getvalue() + data])
    out = _roundtrip([np.zeros(2, dtype=[("a", "<f8")]), np.zeros(2, "datetime64[s]"), np.str_("ab"),
                      np.array(["ab", "c"])])
    assert [type(v) for v in out] == [Handle, Handle, np.str_, np.ndarray]
