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


def loads_json(text: str | bytes, what: str):
    """json.loads with a size and a nesting bound."""
    if len(text) > MAX_JSON:
        raise GradingFailure(f"{what} is larger than {MAX_JSON >> 10} KiB of JSON")
    if _depth(text if isinstance(text, str) else text.decode("utf-8", "replace")) > MAX_DEPTH:
        raise GradingFailure(f"{what} nests deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:
        raise GradingFailure(f"{what} is not valid JSON ({type(e).__name__})") from None


def _depth(text: str) -> int:
    """Bracket nesting outside strings (a linear scan, before any parser recurses)."""
    depth = worst = 0
    in_str = escaped = False
    for c in text:
        if in_str:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_str = False
            continue
        if c == '"':
            in_str = True
        elif c in "[{":
            depth += 1
            worst = max(worst, depth)
        elif c in "]}":
            depth -= 1
    return worst
