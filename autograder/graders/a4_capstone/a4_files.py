"""Bounded, validating readers for the files a capstone submission hands the trusted grader.

A student's `config.json`, `provenance.json` and `checkpoint.safetensors` are data from an
untrusted source. Each is read with a size limit before anything is parsed; JSON is checked
for nesting depth before `json` sees it (a 100,000-deep nest would otherwise raise
RecursionError in this process) and must not use NaN/Infinity or repeat a key; a safetensors
header is parsed here, entry by entry (dtype, shape, offsets that tile the data exactly),
before one tensor is materialised. Every problem raises `GradingFailure` naming the file.
"""
from __future__ import annotations

import math
from pathlib import Path

from autograder.engine.checks import GradingFailure
from autograder.engine import untrusted
from autograder.engine.untrusted import read_bounded

MAX_JSON_BYTES = 64 << 10            # a config.json is ~2 KB
MAX_JSON_DEPTH = 4
MAX_HEADER_BYTES = 1 << 20           # a safetensors header with a few hundred entries is ~40 KB
MAX_TENSORS = 2000
MAX_DIMS = 6
DTYPES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8}   # weights only: no integer or bool tensors


def parse_json(text: str, where: str, max_depth: int = MAX_JSON_DEPTH, max_chars: int = MAX_JSON_BYTES) -> dict:
    """untrusted.parse_json with the capstone's limits (a config.json is small and flat)."""
    return untrusted.parse_json(text, where, max_depth, max_chars)


def read_json(path: Path, where: str, max_depth: int = MAX_JSON_DEPTH) -> dict:
    raw = read_bounded(path, where, MAX_JSON_BYTES)
    return parse_json(raw.decode("utf-8", errors="replace"), where, max_depth)


# ----------------------------------------------------------------------------- safetensors
def safetensors_header(raw: bytes, where: str) -> tuple[dict, dict, int]:
    """({name: (dtype, shape, start, end)}, metadata, data start) of a safetensors file's
    bytes, after checking that the entries tile its data exactly."""
    if len(raw) < 10:
        raise GradingFailure(f"{where} is not a safetensors file (its header is malformed or truncated).")
    n = int.from_bytes(raw[:8], "little")
    if n > MAX_HEADER_BYTES or 8 + n > len(raw) or raw[8:9] != b"{":
        raise GradingFailure(f"{where} is not a safetensors file (its header is malformed or truncated).")
    header = parse_json(raw[8:8 + n].decode("utf-8", errors="replace").rstrip(" "), f"{where} (header)", 3, MAX_HEADER_BYTES)
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise GradingFailure(f"{where}: its __metadata__ must map names to strings")
    if len(header) > MAX_TENSORS:
        raise GradingFailure(f"{where}: {len(header):,} tensors; at most {MAX_TENSORS:,} are allowed")
    entries, spans = {}, []
    for name, e in header.items():
        entries[name] = _entry(name, e, where)
        spans.append(entries[name][2:])
    data = len(raw) - 8 - n
    pos = 0
    for start, end in sorted(spans):
        if start != pos:
            raise GradingFailure(f"{where}: tensor data overlaps or leaves gaps (at byte {start:,})")
        pos = end
    if pos != data:
        raise GradingFailure(f"{where}: the header describes {pos:,} bytes of tensor data, the file holds {data:,}")
    return entries, metadata, 8 + n


def _entry(name: str, e, where: str) -> tuple[str, tuple, int, int]:
    if not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}:
        raise GradingFailure(f"{where}: header entry {name[:80]!r} is not a tensor description")
    dtype, shape, offsets = e["dtype"], e["shape"], e["data_offsets"]
    if dtype not in DTYPES:
        raise GradingFailure(f"{where}: tensor {name[:80]!r} has dtype {str(dtype)[:20]!r}; weights must be "
                             f"one of {', '.join(DTYPES)}")
    if (not isinstance(shape, list) or len(shape) > MAX_DIMS
            or not all(type(d) is int and 0 <= d < 1 << 31 for d in shape)):
        raise GradingFailure(f"{where}: tensor {name[:80]!r} has an invalid shape")
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(type(o) is int and o >= 0 for o in offsets)
            or offsets[1] - offsets[0] != math.prod(shape) * DTYPES[dtype]):
        raise GradingFailure(f"{where}: tensor {name[:80]!r} has data offsets that do not match its shape")
    return dtype, tuple(shape), offsets[0], offsets[1]


def load_tensors(raw: bytes, where: str) -> dict:
    """{name: float32 CPU tensor} from a safetensors file's bytes, every value finite."""
    import torch
    from safetensors.torch import load

    safetensors_header(raw, where)
    try:
        tensors = load(raw)
    except Exception as e:  # noqa: BLE001 - safetensors raises several types for a bad file
        raise GradingFailure(f"{where} cannot be read as safetensors: {str(e)[:200]}") from None
    out = {}
    for key, t in tensors.items():
        t = t.to(torch.float32)
        bad = int((~t.isfinite()).sum())
        if bad:
            raise GradingFailure(f"{where}: tensor {key!r} holds {bad} NaN/Inf value(s); the run diverged. "
                                 "Export a checkpoint from before it did, or retrain with a lower lr.")
        out[key] = t
    return out
