"""Reading student data on the trusted side: always with bounds.

A hostile file must cost its task a `failed` status, never an internal error and never
gigabytes in the grading process: sizes are checked before anything is inflated, JSON
depth is bounded, and pickles are never loaded. Each function raises GradingFailure with
a message that names the file and the problem.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from autograder.engine.checks import GradingFailure

MAX_MEMBERS = 1024
MAX_UNPACKED = 256 << 20      # bytes an archive may inflate to, in all
MAX_JSON = 1 << 20            # bytes of one JSON text
MAX_DEPTH = 32                # nesting of one JSON text


def read_npz(data: bytes, what: str) -> dict[str, np.ndarray]:
    """The arrays of an .npz held in `data`, read without pickles and within the bounds."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as e:
        raise GradingFailure(f"{what} is not an .npz (zip) archive ({type(e).__name__})") from None
    with zf:
        members = zf.infolist()
        if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > MAX_UNPACKED:
            raise GradingFailure(f"{what} unpacks to more than {MAX_MEMBERS} members or "
                                 f"{MAX_UNPACKED >> 20} MB; a checkpoint of a small model is far smaller")
        out = {}
        for m in members:
            name = m.filename[:-4] if m.filename.endswith(".npy") else m.filename
            try:   # ZipExtFile never yields more than the member's declared size
                with zf.open(m) as f:
                    out[name] = np.lib.format.read_array(f, allow_pickle=False)
            except Exception as e:  # noqa: BLE001 - any malformed member is the file's problem
                raise GradingFailure(f"{what}: member {name[:60]!r} is not a plain .npy array "
                                     f"({type(e).__name__})") from None
    return out


def read_bounded(path: Path, where: str, limit: int) -> bytes:
    """The file's bytes, refused unread when it is larger than `limit` or not a plain file."""
    if path.is_symlink() or not path.is_file():
        raise GradingFailure(f"{where}: not a plain file (a link or a folder); submit the file itself")
    size = path.stat().st_size
    if size > limit:
        raise GradingFailure(f"{where}: {size:,} bytes, over the {limit:,}-byte limit for this file")
    with open(path, "rb") as f:
        return f.read(limit + 1)[:limit]


def json_depth(text: str) -> int:
    """Deepest nesting of [ and { outside strings (no recursion, one pass)."""
    depth = deepest = 0
    in_str = escaped = False
    for ch in text:
        if in_str:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"key {k!r} appears twice")
        out[k] = v
    return out


def _no_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def parse_json(text: str, where: str, max_depth: int = MAX_DEPTH, max_chars: int = MAX_JSON) -> dict:
    """A JSON object from `text`, nested at most `max_depth` deep, without NaN/Infinity or a
    repeated key; GradingFailure naming `where` otherwise."""
    if len(text) > max_chars:
        raise GradingFailure(f"{where}: {len(text):,} characters, over the {max_chars:,} allowed")
    depth = json_depth(text)
    if depth > max_depth:
        raise GradingFailure(f"{where}: JSON nested {depth} deep; at most {max_depth} is allowed")
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:
        raise GradingFailure(f"{where}: not valid JSON ({str(e)[:160]})") from None
    if not isinstance(value, dict):
        raise GradingFailure(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value
