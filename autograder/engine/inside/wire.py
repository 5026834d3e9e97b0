"""The wire format between the trusted grader and the sandboxed worker.

A message is one frame on a dedicated pipe:

    8-byte big-endian length of the JSON header | JSON header | blob 0 | blob 1 | ...

The header lists each blob's length under "blobs". Values are encoded as tagged JSON
trees; arrays travel as `.npy` bytes (loaded with allow_pickle=False) and torch tensors
as safetensors bytes. Nothing is ever pickled, so a hostile worker can send at worst
wrong numbers, never code.

This module runs on both sides of the sandbox, so it needs only the standard library and
numpy (torch and safetensors are imported only when a tensor is actually on the wire).
"""
from __future__ import annotations

import io
import json
import os
import select
import struct
import sys
import time

import numpy as np

MAX_HEADER = 16 << 20          # a header bigger than this is a protocol violation
MAX_FRAME = 512 << 20          # total bytes of one message's blobs: bounds the trusted side's memory
MAX_DEPTH = 64                 # nesting of lists/dicts on the wire
_LEN = struct.Struct(">Q")


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed message."""


# ----------------------------------------------------------------------------- framing

def _wait(fd: int, deadline: float | None, write: bool) -> None:
    if deadline is None:
        return
    left = deadline - time.monotonic()
    r, w, _ = select.select([] if write else [fd], [fd] if write else [], [], max(left, 0))
    if not (r or w):
        raise TimeoutError("the other side did not answer in time")


def _read_exact(fd: int, n: int, deadline: float | None = None) -> bytes:
    chunks, got = [], 0
    while got < n:
        _wait(fd, deadline, write=False)
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError(f"pipe closed after {got} of {n} bytes")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data, deadline: float | None = None) -> None:
    view = memoryview(data)
    while view:
        _wait(fd, deadline, write=True)
        try:
            n = os.write(fd, view[: 1 << 16] if deadline is not None else view)
        except BlockingIOError:
            continue
        view = view[n:]


def send(fd: int, header: dict, blobs: list[bytes] = (), deadline: float | None = None) -> None:
    """Write one message. With a deadline, `fd` should be non-blocking (the reader may hang)."""
    header = dict(header, blobs=[len(b) for b in blobs])
    raw = json.dumps(header, allow_nan=False, separators=(",", ":")).encode()
    # one write for small messages: each write wakes the reader on the other side
    if sum(len(b) for b in blobs) < (1 << 20):
        _write_all(fd, b"".join([_LEN.pack(len(raw)), raw, *blobs]), deadline)
        return
    _write_all(fd, _LEN.pack(len(raw)) + raw, deadline)
    for b in blobs:
        _write_all(fd, b, deadline)


def recv(fd: int, deadline: float | None = None) -> tuple[dict, list[bytes]]:
    """Read one message; ProtocolError on anything malformed, EOFError on close,
    TimeoutError when the deadline (time.monotonic) passes."""
    (n,) = _LEN.unpack(_read_exact(fd, _LEN.size, deadline))
    if n > MAX_HEADER:
        raise ProtocolError(f"header of {n} bytes exceeds the {MAX_HEADER}-byte limit")
    try:
        header = json.loads(_read_exact(fd, n, deadline))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProtocolError(f"header is not JSON: {e}") from None
    except RecursionError:   # nesting deeper than the interpreter's stack: never a grader error
        raise ProtocolError("header nests too deeply") from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not a JSON object")
    sizes = header.get("blobs", [])
    if not isinstance(sizes, list) or not all(type(s) is int and s >= 0 for s in sizes):
        raise ProtocolError("bad blob list")
    if sum(sizes) > MAX_FRAME:
        raise ProtocolError(f"message of {sum(sizes)} bytes exceeds the {MAX_FRAME}-byte limit")
    return header, [_read_exact(fd, s, deadline) for s in sizes]


# ----------------------------------------------------------------------------- values

class Handle:
    """An object that stays in the worker; only its id and type name cross the wire."""

    __slots__ = ("id", "type_name", "subclass_of", "origin")

    def __init__(self, id: int, type_name: str, subclass_of: str | None = None, origin=None):
        self.id, self.type_name, self.subclass_of = id, type_name, subclass_of
        self.origin = origin  # which worker (and which run of it) holds the object

    def __repr__(self) -> str:
        sub = f" (a subclass of {self.subclass_of})" if self.subclass_of else ""
        return f"<Handle #{self.id}: {self.type_name}{sub}>"

    def __eq__(self, other) -> bool:
        return type(other) is Handle and (other.id, other.type_name) == (self.id, self.type_name)

    def __hash__(self) -> int:
        return hash((self.id, self.type_name))


def type_name(obj) -> str:
    t = type(obj)
    mod = t.__module__
    return t.__qualname__ if mod in ("builtins", None) else f"{mod}.{t.__qualname__}"


def _numpy_scalar_types() -> frozenset:
    global _SCALARS
    if _SCALARS is None:
        _SCALARS = frozenset(t for t in np.sctypeDict.values() if issubclass(t, np.generic))
    return _SCALARS


_SCALARS = None


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(a), allow_pickle=False)
    return buf.getvalue()


def _npy_load(b: bytes) -> np.ndarray:
    try:
        a = np.load(io.BytesIO(b), allow_pickle=False)
    except Exception as e:  # a malformed or object-dtype .npy
        raise ProtocolError(f"bad .npy payload: {e}") from None
    if type(a) is not np.ndarray:
        raise ProtocolError("a .npy payload did not decode to an ndarray")
    if not _plain(a.dtype):   # an honest worker sends these as handles (Encoder.encode)
        raise ProtocolError(f"a .npy payload of dtype kind {a.dtype.kind!r} (itemsize {a.dtype.itemsize})")
    return a


def _plain(dtype: np.dtype) -> bool:
    """Numbers, bools and non-empty strings: what crosses the wire as .npy. Structured, void,
    datetime and zero-width dtypes do not (a zero-width array can claim 10**15 items)."""
    return dtype.kind in "biufcUS" and dtype.itemsize > 0 and dtype.fields is None


def _torch_or_none():
    return sys.modules.get("torch")


def _tensor_bytes(t) -> bytes:
    from safetensors.torch import save
    return save({"t": t.detach().cpu().contiguous()})


def _tensor_load(b: bytes, requires_grad: bool):
    import torch  # only the trusted side decodes tensors it did not send
    from safetensors.torch import load
    try:
        t = load(b)["t"]
    except Exception as e:
        raise ProtocolError(f"bad safetensors payload: {e}") from None
    if type(t) is not torch.Tensor:
        raise ProtocolError("a safetensors payload did not decode to a Tensor")
    return t.requires_grad_(bool(requires_grad)) if t.is_floating_point() else t


class Encoder:
    """Turns a value into (tagged JSON tree, blobs). `handle_of` keeps anything opaque."""

    def __init__(self, handle_of=None):
        self.blobs: list[bytes] = []
        self.handle_of = handle_of

    def blob(self, data: bytes) -> int:
        self.blobs.append(data)
        return len(self.blobs) - 1

    def encode(self, v, depth: int = 0):
        if depth > MAX_DEPTH:
            return self.opaque(v)
        t = type(v)
        if v is None:
            return {"t": "none"}
        if t is bool:
            return {"t": "bool", "v": v}
        if t is int:
            return {"t": "int", "v": str(v)}
        if t is float:
            return {"t": "float", "v": repr(v)}
        if t is str:
            return {"t": "str", "v": v}
        if t is Handle:
            return {"t": "ref", "id": v.id}
        if t in (list, tuple):
            return {"t": t.__name__, "v": [self.encode(x, depth + 1) for x in v]}
        if t is dict and all(type(k) in (str, int) for k in v):
            keys = list(v)
            return {"t": "dict", "k": [self.encode(k) for k in keys],
                    "v": [self.encode(v[k], depth + 1) for k in keys]}
        if t is np.ndarray and _plain(v.dtype):
            return {"t": "ndarray", "b": self.blob(_npy_bytes(v))}
        if t in _numpy_scalar_types() and _plain(np.asarray(v).dtype):
            return {"t": "npscalar", "b": self.blob(_npy_bytes(np.asarray(v)))}
        torch = _torch_or_none()
        if torch is not None and t in (torch.Tensor, torch.nn.Parameter) and v.layout == torch.strided:
            try:
                data = _tensor_bytes(v)
            except Exception:
                return self.opaque(v)
            return {"t": "tensor", "b": self.blob(data), "grad": bool(v.requires_grad)}
        return self.opaque(v)

    def opaque(self, v):
        if self.handle_of is None:
            raise TypeError(f"cannot send a {type_name(v)} across the sandbox boundary")
        hid = self.handle_of(v)
        return {"t": "handle", "id": hid, "type": type_name(v), "sub": _subclass_of(v)}


def _subclass_of(v) -> str | None:
    """Name the plain type that `v` pretends to be (ndarray, Tensor, float...), if any."""
    for base in (np.ndarray, int, float, str, list, tuple, dict, bool):
        if isinstance(v, base) and type(v) is not base:
            return base.__name__ if base is not np.ndarray else "numpy.ndarray"
    torch = _torch_or_none()
    if torch is not None and isinstance(v, torch.Tensor):
        return "torch.Tensor"
    return None


def encode(v, handle_of=None) -> tuple[dict, list[bytes]]:
    enc = Encoder(handle_of)
    return enc.encode(v), enc.blobs


class Decoder:
    """Inverse of Encoder. `resolve` maps a handle id back to its object (worker side);
    `make_handle` builds the trusted side's Handle for an opaque object."""

    def __init__(self, blobs: list[bytes], resolve=None, make_handle=None):
        self.blobs, self.resolve, self.make_handle = blobs, resolve, make_handle

    def _blob(self, node) -> bytes:
        i = node.get("b")
        if type(i) is not int or not 0 <= i < len(self.blobs):
            raise ProtocolError("blob index out of range")
        return self.blobs[i]

    def decode(self, node, depth: int = 0):
        if depth > MAX_DEPTH + 1 or not isinstance(node, dict):
            raise ProtocolError("malformed value")
        tag = node.get("t")
        if tag == "none":
            return None
        if tag == "bool" and type(node.get("v")) is bool:
            return node["v"]
        if tag == "int" and type(node.get("v")) is str:
            try:
                return int(node["v"])
            except ValueError:
                raise ProtocolError("bad int") from None
        if tag == "float" and type(node.get("v")) is str:
            try:
                return float(node["v"])
            except ValueError:
                raise ProtocolError("bad float") from None
        if tag == "str" and type(node.get("v")) is str:
            return node["v"]
        if tag in ("list", "tuple") and type(node.get("v")) is list:
            items = [self.decode(x, depth + 1) for x in node["v"]]
            return items if tag == "list" else tuple(items)
        if tag == "dict" and type(node.get("k")) is list and type(node.get("v")) is list:
            keys = [self.decode(k, depth + 1) for k in node["k"]]
            if len(keys) != len(node["v"]) or not all(type(k) in (str, int) for k in keys):
                raise ProtocolError("bad dict")
            return dict(zip(keys, (self.decode(x, depth + 1) for x in node["v"])))
        if tag == "ndarray":
            return _npy_load(self._blob(node))
        if tag == "npscalar":
            a = _npy_load(self._blob(node))
            if a.shape != ():
                raise ProtocolError("numpy scalar with a shape")
            return a[()]
        if tag == "tensor":
            return _tensor_load(self._blob(node), node.get("grad", False))
        if tag == "ref" and self.resolve is not None and type(node.get("id")) is int:
            return self.resolve(node["id"])
        if tag == "handle" and self.make_handle is not None and type(node.get("id")) is int:
            sub = node.get("sub")
            sub = _type_text(sub) if sub is not None else None
            return self.make_handle(node["id"], _type_text(node.get("type", "?")), sub)
        raise ProtocolError(f"unknown or malformed value tag {str(tag)[:40]!r}")


def _type_text(name) -> str:
    """A type name the sandbox sent, as it may appear in a message: a short run of the
    characters a dotted Python name can have, anything else replaced."""
    text = "".join(c if c.isalnum() or c in "._<>" else "?" for c in str(name)[:80])
    return text or "?"


def decode(node, blobs, resolve=None, make_handle=None):
    return Decoder(blobs, resolve, make_handle).decode(node)

