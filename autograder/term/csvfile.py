"""Strict reading of the instructor's CSV files (roster, extensions, overrides, times).

Trust boundary: these files are typed or exported by people, so every row is validated and
the first bad one stops everything with `file:line: column 'x': value 'v': why`, before any
output is written. Extra columns are allowed (LMS exports carry many); missing required
columns, stray cells and duplicate headers are not.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from autograder.term.errors import TermError

MAX_BYTES = 8 << 20       # a roster of 100,000 students is a few MB
MAX_CELL = 2000


class Row(dict):
    """One data row: column -> stripped text, plus where it came from."""
    path: Path
    line: int

    def fail(self, column: str, why: str) -> TermError:
        return TermError(f"{self.path}:{self.line}: column {column!r}: value {shown(self.get(column, ''))}: {why}")


def shown(value: str) -> str:
    text = value if len(value) <= 60 else value[:57] + "..."
    return repr(text)


def read_rows(path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> list[Row]:
    """The rows of `path`; header names are matched case-insensitively, spaces trimmed."""
    path = Path(path)
    try:
        data = path.read_bytes() if path.stat().st_size <= MAX_BYTES else None
    except OSError as e:
        raise TermError(f"{path}: cannot be read ({e.strerror or e})") from None
    if data is None:
        raise TermError(f"{path}: larger than {MAX_BYTES >> 20} MB; is it the right file?")
    try:
        text = data.decode("utf-8-sig")   # Excel writes a byte-order mark
    except UnicodeDecodeError as e:
        raise TermError(f"{path}: not UTF-8 text (byte {e.start}); save it as CSV UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise TermError(f"{path}: empty; the first line must name the columns: {', '.join(required)}")
        names = [h.strip().lower() for h in header]
        _check_header(path, names, required)
        rows = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            rows.append(_row(path, reader.line_num, names, cells, set(required) | set(optional)))
    except csv.Error as e:
        raise TermError(f"{path}:{reader.line_num}: not valid CSV ({e})") from None
    return rows


def _check_header(path: Path, names: list[str], required: tuple[str, ...]) -> None:
    dup = sorted({n for n in names if n and names.count(n) > 1})
    if dup:
        raise TermError(f"{path}:1: column {dup[0]!r} appears twice in the header")
    missing = [c for c in required if c not in names]
    if missing:
        raise TermError(f"{path}:1: no column {missing[0]!r} (the header has: {', '.join(n for n in names if n)}; "
                        f"needed: {', '.join(required)})")


def _row(path: Path, line: int, names: list[str], cells: list[str], known: set[str]) -> Row:
    if len(cells) > len(names) and any(c.strip() for c in cells[len(names):]):
        raise TermError(f"{path}:{line}: {len(cells)} cells but the header names {len(names)} columns")
    row = Row()
    row.path, row.line = path, line
    for name, cell in zip(names, cells):
        if name in known:
            value = cell.strip()
            if len(value) > MAX_CELL or any(ord(c) < 32 for c in value):
                raise TermError(f"{path}:{line}: column {name!r}: value {shown(value)}: "
                                "too long or holds control characters")
            row[name] = value
    for name in known:
        row.setdefault(name, "")
    return row
