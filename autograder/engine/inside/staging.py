"""Copy one submission (a folder, a zip or a tar archive) into a plain staging folder.

Only regular files are staged, with bounded sizes, counts and depth. A member that cannot
be staged (a link, a device, an unsafe or over-long name, a file where a folder should be,
an encrypted or unsupported member) is left out and noted, so the student is still graded
on the rest and is told what was left out. Only a problem with the whole submission (not
an archive, corrupt, too large) raises SubmissionError, which becomes the student's rows.
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import re
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path

# folders and files that tools add and nobody writes: never staged, never noted
SKIP = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".hypothesis", ".git", ".venv",
        ".svn", ".hg", ".mypy_cache", ".ruff_cache", "__MACOSX"}
JUNK = {".DS_Store", "Thumbs.db", "desktop.ini", "Icon\r", ".localized"}
MAX_FILE = 64 << 20
MAX_TOTAL = 512 << 20
MAX_FILES = 5000
MAX_UNPACKED = MAX_TOTAL + (64 << 20)   # a tar's decompressed bytes: data, headers and padding
MAX_MEMBERS = 20000          # directory entries included: bounds the work on a hostile archive
MAX_DEPTH = 32
MAX_NAME_BYTES = 255
MAX_NOTES = 20
NAME_EXCERPT = 160          # characters of a name quoted in a note
ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate",
               zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}
_CHUNK = 1 << 20


class SubmissionError(ValueError):
    """A submission that cannot be staged at all (not an archive, corrupt, too large ...)."""


def junk(part: str) -> bool:
    return part in SKIP or part in JUNK or part.startswith("._") or part.startswith("~$")


def member_parts(name: str) -> tuple[list[str] | None, str | None]:
    """An archive member's path as safe relative parts, or (None, why it is refused).
    Backslashes count as separators: Windows tools write them."""
    if "\0" in name:
        return None, "its name holds a NUL byte"
    name = name.replace("\\", "/")
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return None, "its path is absolute"
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None, "its path leaves the folder (..)"
    if not parts:
        return None, "its name is empty"
    if len(parts) > MAX_DEPTH:
        return None, f"it is nested more than {MAX_DEPTH} folders deep"
    for p in parts:
        try:
            if len(os.fsencode(p)) > MAX_NAME_BYTES:
                return None, f"a name in its path is longer than {MAX_NAME_BYTES} bytes"
        except UnicodeError:
            return None, "its name is not valid text"
    return parts, None


class Stager:
    """Writes files under `dest` within the limits and collects notes on what was left out."""

    def __init__(self, dest: Path, label: str):
        self.dest, self.label = dest, label
        self.notes: list[str] = []
        self.files = self.size = self.dropped = 0

    def note(self, what: str, why: str) -> None:
        """`what` is a name from the archive (the student's text, any length): an excerpt of it."""
        if len(what) > NAME_EXCERPT:
            what = what[: NAME_EXCERPT - 40] + "..." + what[-37:]
        if len(self.notes) < MAX_NOTES:
            self.notes.append(f"{what}: {why[:120]}")
        else:
            self.dropped += 1

    def all_notes(self) -> list[str]:
        more = [f"... and {self.dropped} more left out"] if self.dropped else []
        return self.notes + more

    def mkdir(self, parts: list[str], what: str) -> bool:
        try:
            self.dest.joinpath(*parts).mkdir(parents=True, exist_ok=True)
            return True
        except OSError as e:
            self.note(what, f"its folder cannot be created ({_why(e)})")
            return False

    def write(self, parts: list[str], opener, what: str) -> None:
        """Copy one file; `opener()` returns a binary file object."""
        if self.files >= MAX_FILES:
            raise SubmissionError(f"{self.label}: more than {MAX_FILES} files")
        if len(parts) > 1 and not self.mkdir(parts[:-1], what):
            return
        target = self.dest.joinpath(*parts)
        if target.is_dir():
            self.note(what, "a folder of the same name is already there")
            return
        written = 0
        try:
            with opener() as fin, open(target, "wb") as fout:
                while chunk := fin.read(_CHUNK):
                    written += len(chunk)
                    if written > MAX_FILE:
                        raise _TooBig()
                    if self.size + written > MAX_TOTAL:
                        raise SubmissionError(f"{self.label}: more than {MAX_TOTAL >> 20} MB of files")
                    fout.write(chunk)
        except _TooBig:
            target.unlink(missing_ok=True)
            self.note(what, f"larger than {MAX_FILE >> 20} MB")
            return
        except SubmissionError:
            raise
        except Exception as e:  # noqa: BLE001 - corrupt, encrypted, unreadable: this member only
            _unlink(target)
            self.note(what, f"cannot be read ({_why(e)})")
            return
        self.files += 1
        self.size += written


class _TooBig(Exception):
    pass


def _why(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return f"{type(e).__name__}: {e}"[:200]


def _unlink(path: Path) -> None:
    try:
        if not path.is_dir():
            path.unlink(missing_ok=True)
    except OSError:
        pass


def copy_tree(src: Path, st: Stager) -> None:
    """A folder's regular files; links and special files are noted and left out."""
    errors: list[OSError] = []
    seen = 0
    for dirpath, dirnames, filenames in os.walk(src, onerror=errors.append):
        seen += len(dirnames) + len(filenames)
        _count_member(st, seen)      # the work on a folder is bounded like an archive's
        rel = Path(dirpath).relative_to(src).parts
        keep = []
        for d in sorted(dirnames):
            if junk(d):
                continue
            if os.path.islink(os.path.join(dirpath, d)):
                st.note("/".join((*rel, d)), "a symbolic link (never followed)")
            elif len(rel) + 1 >= MAX_DEPTH:
                st.note("/".join((*rel, d)), f"nested more than {MAX_DEPTH} folders deep")
            else:
                keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            if junk(name):
                continue
            what, path = "/".join((*rel, name)), os.path.join(dirpath, name)
            try:
                mode = os.lstat(path).st_mode
            except OSError as e:
                st.note(what, f"cannot be read ({_why(e)})")
                continue
            if stat.S_ISLNK(mode):
                st.note(what, "a symbolic link (never followed)")
            elif not stat.S_ISREG(mode):
                st.note(what, "not a regular file")
            else:
                st.write([*rel, name], lambda p=path: open(p, "rb"), what)
    for e in errors:
        st.note(os.path.relpath(e.filename, src) if e.filename else "?", f"cannot be read ({_why(e)})")


def _count_member(st: Stager, n: int) -> None:
    if n > MAX_MEMBERS:
        raise SubmissionError(f"{st.label}: more than {MAX_MEMBERS} entries")


def extract_zip(src: Path, st: Stager) -> None:
    try:
        zf = zipfile.ZipFile(src)
        infos = zf.infolist()
    except Exception as e:  # noqa: BLE001 - BadZipFile, OSError, a bad UTF-8 name ...
        raise SubmissionError(f"{st.label}: not a readable zip file ({_why(e)})") from None
    with zf:
        _count_member(st, len(infos))
        if sum(m.file_size for m in infos) > MAX_TOTAL:
            raise SubmissionError(f"{st.label}: more than {MAX_TOTAL >> 20} MB unpacked")
        for m in infos:
            parts, why = member_parts(m.filename)
            if parts is None:
                st.note(m.filename, why)
                continue
            if any(junk(p) for p in parts):
                continue
            if m.is_dir():
                st.mkdir(parts, m.filename)
                continue
            why = _zip_refusal(m)
            if why:
                st.note(m.filename, why)
                continue
            st.write(parts, lambda m=m: zf.open(m), m.filename)


def _zip_refusal(m: zipfile.ZipInfo) -> str | None:
    kind = (m.external_attr >> 16) & 0o170000
    if kind == stat.S_IFLNK:
        return "a symbolic link (never followed)"
    if kind not in (0, stat.S_IFREG):
        return "not a regular file"
    if m.flag_bits & 0x1:
        return "encrypted (password-protected); zip it again without a password"
    if m.compress_type not in ZIP_METHODS:
        return (f"compressed with method {m.compress_type}, which cannot be read "
                f"(use one of: {', '.join(ZIP_METHODS.values())})")
    if m.file_size > MAX_FILE:
        return f"larger than {MAX_FILE >> 20} MB"
    return None


class _Bounded(io.RawIOBase):
    """The decompressed bytes of an archive, at most `limit` of them. A compressed tar is read
    through (skipped members included), so without a bound a few kilobytes of bzip2 could
    keep this process decompressing gigabytes of zeros for minutes."""

    def __init__(self, raw, limit: int, label: str):
        self.raw, self.limit, self.label, self.count = raw, limit, label, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        n = self.raw.readinto(buf)
        self.count += n or 0
        if self.count > self.limit:
            raise SubmissionError(f"{self.label}: more than {self.limit >> 20} MB unpacked")
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


def _decompressed(src: Path):
    """The tar stream inside `src` (plain, gzip, bzip2 or xz, told by its first bytes)."""
    with open(src, "rb") as f:
        magic = f.read(6)
    for sig, opener in ((b"\x1f\x8b", gzip.open), (b"BZh", bz2.open), (b"\xfd7zXZ\x00", lzma.open)):
        if magic.startswith(sig):
            return opener(src, "rb")
    return open(src, "rb")


def extract_tar(src: Path, st: Stager) -> None:
    """.tar, .tar.gz/.tgz, .tar.bz2, .tar.xz: read as a stream, member by member, with at most
    MAX_UNPACKED decompressed bytes read in all."""
    try:
        stream = _Bounded(_decompressed(src), MAX_UNPACKED, st.label)
        tf = tarfile.open(fileobj=stream, mode="r|")
    except SubmissionError:
        raise
    except Exception as e:  # noqa: BLE001
        raise SubmissionError(f"{st.label}: not a readable tar archive ({_why(e)})") from None
    n = 0
    with stream, tf:
        try:
            for m in tf:
                n += 1
                _count_member(st, n)
                _tar_member(tf, m, st)
        except SubmissionError:
            raise
        except Exception as e:  # noqa: BLE001 - truncated or corrupt stream
            raise SubmissionError(f"{st.label}: the tar archive is corrupt after {n} entries ({_why(e)})") from None


def _tar_member(tf: tarfile.TarFile, m: tarfile.TarInfo, st: Stager) -> None:
    parts, why = member_parts(m.name)
    if parts is None:
        st.note(m.name, why)
    elif any(junk(p) for p in parts):
        pass
    elif m.isdir():
        st.mkdir(parts, m.name)
    elif m.issym() or m.islnk():
        st.note(m.name, "a link (never followed)")
    elif not m.isreg():
        st.note(m.name, "not a regular file")
    elif m.size > MAX_FILE:
        st.note(m.name, f"larger than {MAX_FILE >> 20} MB")
    else:
        st.write(parts, lambda: tf.extractfile(m), m.name)


def archive_kind(path: Path) -> str | None:
    """"zip", "tar" or None, by content (a student's tool may name it anything)."""
    try:
        if zipfile.is_zipfile(path):
            return "zip"
        if tarfile.is_tarfile(path):
            return "tar"
    except Exception:  # noqa: BLE001 - unreadable: not an archive we can use
        return None
    return None


def unwrap(dest: Path, levels: int = MAX_DEPTH) -> None:
    """A submission holding just one folder (`a1_numpy_layers/...`, or that folder inside
    another) is unwrapped until its files are at the top."""
    for _ in range(levels):
        entries = list(dest.iterdir())
        if len(entries) != 1 or not entries[0].is_dir() or entries[0].is_symlink():
            return
        tmp = dest.parent / f".{dest.name}.unwrap"
        if tmp.exists():
            shutil.rmtree(tmp)
        entries[0].rename(tmp)
        dest.rmdir()
        tmp.rename(dest)


ARCHIVE_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tbz2", ".tbz", ".txz", ".tar", ".zip")


def kind_by_name(name: str) -> str | None:
    """What the name promises (any case); a broken `.zip` is then reported as a broken zip."""
    low = name.lower()
    if low.endswith(".zip"):
        return "zip"
    return "tar" if low.endswith(ARCHIVE_SUFFIXES) else None


def stage_files(kind: str, source: Path, name: str, expected: tuple[str, ...], dest: Path,
                unpack_inner: bool = True) -> tuple[Path, list[str]]:
    """Copy the submission's regular files into `dest` (fresh). Returns (dest, notes on
    what was left out). Raises SubmissionError when nothing can be staged. With
    `unpack_inner` False a lone archive inside is left as it is (see lone_archive)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    st = Stager(dest, name)
    _extract(kind, source, st)
    unwrap(dest)
    for _ in range(2 if unpack_inner else 0):   # a zip of the zip (students do that): twice at most
        inner = lone_archive(dest)
        if inner is None:
            break
        kind, path = inner
        st.label = f"{name} (inside: {path.name})"
        packed = dest.parent / f".{dest.name}.inner"
        path.rename(packed)
        try:
            _extract(kind, packed, st)
        finally:
            packed.unlink()
        unwrap(dest)
    notes = st.all_notes()
    if not any(p.is_file() for p in dest.rglob("*")):
        left = f" (left out: {'; '.join(notes[:3])})" if notes else ""
        raise SubmissionError(f"{name}: holds no files to grade{left}")
    return dest, notes + misplaced(dest, expected)


def misplaced(dest: Path, expected: tuple[str, ...], limit: int = 5) -> list[str]:
    """Notes for task files that are not where the graders look but are somewhere else in the
    submission (an extra folder level, a renamed folder): the student is told where."""
    notes = []
    for rel in expected:
        if len(notes) >= limit or (dest / rel).exists():
            continue
        found = sorted(p for p in dest.rglob(Path(rel).name)
                       if p.is_file() and p.relative_to(dest).as_posix().endswith("/" + rel))
        if found:
            notes.append(f"{rel}: not where the graders look (the released folder's layout); found at "
                         f"{found[0].relative_to(dest).as_posix()}")
    return notes


def _extract(kind: str, source: Path, st: Stager) -> None:
    if kind == "zip":
        extract_zip(source, st)
    elif kind == "tar":
        extract_tar(source, st)
    else:
        copy_tree(source, st)


def lone_archive(dest: Path, kind_of=archive_kind) -> tuple[str, Path] | None:
    """(kind, path) when `dest` holds exactly one file and it is an archive. The trusted side
    passes `sniff_kind` (first bytes only); the unpacker the parsing `archive_kind`."""
    entries = list(dest.iterdir())
    if len(entries) != 1 or not entries[0].is_file():
        return None
    kind = kind_by_name(entries[0].name) or kind_of(entries[0])
    return (kind, entries[0]) if kind else None
