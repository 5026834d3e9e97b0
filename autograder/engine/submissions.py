"""Find, stage and hash student submissions.

A submissions folder holds one entry per student: a folder (the student's copy of the
released assignment folder) or a `.zip` of it. nbgrader's `submitted/<student>/<assignment>/`
layout is accepted too. Each submission is staged as a plain copy (regular files only: no
symlinks, no caches, bounded sizes) that the sandbox mounts read-only; the content hash
is taken from the staged copy, so a folder and a zip of the same files hash alike.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

SKIP = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".hypothesis", ".git", ".venv"}
MAX_FILE = 64 << 20
MAX_TOTAL = 512 << 20
MAX_FILES = 5000
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class SubmissionError(ValueError):
    """A submission that cannot be staged (corrupt zip, too large ...)."""


@dataclass
class Submission:
    student: str
    source: Path          # folder or .zip as found


def student_name(raw: str) -> str:
    name = SAFE_NAME.sub("_", raw).strip("._") or "student"
    return name[:80]


def discover(root: Path, assignment_folder: str, assignment_id: str) -> list[Submission]:
    """Every student's submission under `root`, sorted by student name."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"submissions folder {root} does not exist")
    if (root / "submitted").is_dir():
        root = root / "submitted"
    found: dict[str, Submission] = {}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or entry.is_symlink():
            continue
        if entry.is_dir():
            name = student_name(entry.name)
            src = _nbgrader_inner(entry, assignment_folder, assignment_id) or entry
        elif entry.suffix == ".zip" and entry.is_file():
            name, src = student_name(entry.stem), entry
        else:
            continue
        if name in found:
            raise SubmissionError(f"{entry}: two submissions for student {name!r}")
        found[name] = Submission(name, src)
    return [found[k] for k in sorted(found)]


def _nbgrader_inner(entry: Path, folder: str, aid: str) -> Path | None:
    for name in (folder, aid):
        inner = entry / name
        if inner.is_dir() and not inner.is_symlink():
            return inner
    return None


def stage(sub: Submission, dest: Path, assignment_folder: str) -> Path:
    """Copy the submission's regular files into `dest` (fresh) and return it."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if sub.source.is_dir():
        _copy_tree(sub.source, dest)
    else:
        _extract_zip(sub.source, dest)
    _unwrap(dest, assignment_folder)
    return dest


def _copy_tree(src: Path, dest: Path) -> None:
    count = size = 0
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if any(p in SKIP for p in rel.parts):
            continue
        st = path.lstat()
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE:
            continue  # symlinks, devices, fifos and huge files are never graded
        count, size = count + 1, size + st.st_size
        if count > MAX_FILES or size > MAX_TOTAL:
            raise SubmissionError(f"{src}: more than {MAX_FILES} files or {MAX_TOTAL >> 20} MB")
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "rb") as fin, open(target, "wb") as fout:
            shutil.copyfileobj(fin, fout)


def _extract_zip(src: Path, dest: Path) -> None:
    try:
        zf = zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError) as e:
        raise SubmissionError(f"{src.name}: not a readable zip file ({e})") from None
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        if len(members) > MAX_FILES or sum(m.file_size for m in members) > MAX_TOTAL:
            raise SubmissionError(f"{src.name}: more than {MAX_FILES} files or {MAX_TOTAL >> 20} MB unpacked")
        for m in members:
            rel = PurePosixPath(m.filename)
            mode = (m.external_attr >> 16) & 0o170000
            if rel.is_absolute() or ".." in rel.parts or any(p in SKIP for p in rel.parts) \
                    or mode == stat.S_IFLNK or m.file_size > MAX_FILE or "\\" in m.filename:
                continue
            target = dest.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(m) as fin, open(target, "wb") as fout:
                    shutil.copyfileobj(fin, fout)
            except (zipfile.BadZipFile, OSError, EOFError) as e:
                raise SubmissionError(f"{src.name}: corrupt member {m.filename!r} ({e})") from None


def _unwrap(dest: Path, folder: str) -> None:
    """A zip or folder holding just `<assignment folder>/...` is unwrapped one level."""
    entries = [p for p in dest.iterdir()]
    if len(entries) == 1 and entries[0].is_dir() and not any(dest.glob("*.py")):
        inner = entries[0]
        tmp = dest.parent / f".{dest.name}.unwrap"
        inner.rename(tmp)
        dest.rmdir()
        tmp.rename(dest)


def content_hash(staged: Path) -> str:
    """sha256 over sorted relative paths and bytes of the staged files."""
    h = hashlib.sha256()
    for path in sorted(p for p in staged.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(staged)).encode("utf-8", "surrogateescape") + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]
