"""Find, name, stage and hash student submissions.

A submissions folder holds one entry per student: a folder (the student's copy of the
released assignment folder, or a symbolic link to one), or an archive of it (.zip, .tar,
.tar.gz/.tgz, .tar.bz2, .tar.xz; recognised by content, so `.ZIP` or no extension works).
nbgrader's `submitted/<student>/<assignment>/` layout is accepted too. Every other entry
becomes a student whose rows say what is wrong with it; only operating-system metadata and
hidden entries are passed over, and those are listed (`Discovery.ignored`).

Student ids are the entry's name (archive suffix removed) in NFC with Unicode letters,
digits and `._-` kept and anything else turned into `_`. Ids that would collide (`ann lee`
and `ann_lee`; `Ann` and `ann`, which are one folder on macOS) or that name an output file
(`gradebook.csv`, anything ending in an output file's extension) get a suffix from a hash
of the entry's name: distinct and stable. A SUBMISSIONS that is no class (missing,
unreadable, empty, one student's folder, plain files only) is a SubmissionsFolderError.
"""
from __future__ import annotations

import hashlib
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from autograder.engine.inside.staging import (ARCHIVE_SUFFIXES, MAX_FILE, MAX_FILES, MAX_TOTAL,  # noqa: F401
                                              SubmissionError, kind_by_name, junk, lone_archive, stage_files)

# files grade_all writes at the top of OUT: no student folder may take their names. Any id
# ending in an extension the grader writes is suffixed too, so an output file added later
# (leaderboard.html, report.html ...) can never meet a student's folder either; `.lock`
# covers the run's own lock file (outdir.LOCK_NAME).
OUTPUT_NAMES = {"gradebook.csv", "students.csv", "warning-not-sandboxed.txt", "leaderboard.csv",
                "leaderboard.html", "review.txt"}
OUTPUT_SUFFIXES = (".csv", ".html", ".htm", ".txt", ".json", ".md", ".log", ".db", ".xlsx", ".tsv", ".lock")
_DEVICES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
MAX_ID_CHARS = 80
MAX_ID_BYTES = 120


class SubmissionsFolderError(ValueError):
    """SUBMISSIONS itself is wrong (missing, empty, one student's folder): a usage error."""


@dataclass
class Submission:
    student: str               # the id: folder name under OUT, gradebook's student column
    source: Path               # folder or archive as found
    name: str = ""             # the entry's name in SUBMISSIONS, as found
    kind: str = "folder"       # folder, zip or tar
    problem: str | None = None   # set when the entry cannot be graded at all
    expected: tuple[str, ...] = ()   # the assignment's task files (where the graders look for them)


@dataclass
class Discovery:
    submissions: list[Submission] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)     # "name: why", one per entry passed over


def id_char(c: str) -> bool:
    """A character an id keeps: a letter, digit or mark of any script, or one of ._-"""
    return c in "._-" or unicodedata.category(c)[0] in "LNM"


def is_id(text: str, also: str = "") -> bool:
    """Whether `text` has the shape of an id student_name gives (id_char throughout, a
    letter or digit first); `also` admits more characters (a roster's `@` and `+`)."""
    return bool(text) and unicodedata.category(text[0])[0] in "LN" and all(id_char(c) or c in also for c in text)


def student_name(raw: str) -> str:
    """The id part of a name: NFC, letters/digits/marks and ._- kept, runs of anything
    else one `_`, no leading punctuation (never a formula, option or hidden file)."""
    out, gap = [], False
    for c in unicodedata.normalize("NFC", raw):
        if id_char(c):
            if gap and out:
                out.append("_")
            out.append(c)
            gap = False
        else:
            gap = True
    name = "".join(out).rstrip("._")
    while name and (name[0] in "._-" or unicodedata.category(name[0])[0] == "M"):   # or a lone mark
        name = name[1:]
    name = name[:MAX_ID_CHARS]
    while len(name.encode("utf-8")) > MAX_ID_BYTES:
        name = name[:-1]
    return name.rstrip("._") or "student"


def _stem(name: str) -> str:
    low = name.lower()
    for suffix in ARCHIVE_SUFFIXES:
        if low.endswith(suffix) and len(name) > len(suffix):
            return name[:-len(suffix)]
    return name


# the first bytes of each archive format accepted; a tar may be compressed (gzip, bzip2, xz)
MAGIC = ((0, b"PK\x03\x04", "zip"), (0, b"PK\x05\x06", "zip"), (0, b"\x1f\x8b", "tar"),
         (0, b"BZh", "tar"), (0, b"\xfd7zXZ\x00", "tar"), (257, b"ustar", "tar"))


def sniff_kind(path: Path) -> str | None:
    """"zip", "tar" or None from a file's first 512 bytes only: the trusted side never parses
    an archive (unpack.py does, in a sandbox, and reports one it cannot read)."""
    with open(path, "rb") as f:
        head = f.read(512)
    return next((kind for at, magic, kind in MAGIC if head[at:at + len(magic)] == magic), None)


def _reserved(sid: str) -> bool:
    low = sid.casefold()
    return low in OUTPUT_NAMES or low.endswith(OUTPUT_SUFFIXES) or low.split(".")[0] in _DEVICES


def assign_ids(subs: list[Submission]) -> None:
    """Give every submission a distinct id (in place): the plain id when it is free, else
    the id plus a hash of the entry's name. Case-insensitively distinct."""
    groups: dict[str, list[Submission]] = {}
    for s in subs:
        s.student = student_name(_stem(s.name))
        groups.setdefault(s.student.casefold(), []).append(s)
    taken: set[str] = set()
    for key in sorted(groups):
        members = sorted(groups[key], key=lambda s: (_stem(s.name) != s.student, s.kind != "folder", s.name))
        plain_ok = not _reserved(members[0].student)
        for i, s in enumerate(members):
            if i == 0 and plain_ok and s.student.casefold() not in taken:
                taken.add(s.student.casefold())
                continue
            s.student = _suffixed(s, taken)


def _suffixed(s: Submission, taken: set[str]) -> str:
    digest = hashlib.sha256(s.name.encode("utf-8", "surrogatepass")).hexdigest()
    for n in range(6, 65, 2):
        sid = f"{s.student[:MAX_ID_CHARS - 1 - n]}-{digest[:n]}"
        if sid.casefold() not in taken:
            taken.add(sid.casefold())
            return sid
    raise AssertionError("sha256 prefixes collided")   # pragma: no cover


def discover(root: Path, assignment_folder: str, assignment_id: str,
             task_files: tuple[str, ...] = ()) -> list[Submission]:
    return discover_all(root, assignment_folder, assignment_id, task_files).submissions


def discover_all(root: Path, assignment_folder: str, assignment_id: str,
                 task_files: tuple[str, ...] = ()) -> Discovery:
    """Every entry under `root`: a Submission (sorted by id) or a line in `ignored`."""
    root = Path(root)
    _check_root(root, task_files)
    if _nbgrader_course(root):
        root = root / "submitted"
    found = Discovery()
    for entry in _entries(root):
        if entry.name.startswith(".") or junk(entry.name):
            found.ignored.append(f"{entry.name}: hidden or operating-system file")
            continue
        sub = _classify(entry, assignment_folder, assignment_id)
        sub.expected = tuple(task_files)
        found.submissions.append(sub)
    if not found.submissions:
        extra = f" (passed over: {', '.join(found.ignored)})" if found.ignored else ""
        raise SubmissionsFolderError(f"submissions folder {root}: no submissions in it; expected one folder or archive "
                                     f"(.zip, .tar.gz ...) per student{extra}")
    _not_a_class(root, found.submissions)
    assign_ids(found.submissions)
    found.submissions.sort(key=lambda s: s.student)
    return found


def _entries(root: Path) -> list[Path]:
    try:
        return sorted(root.iterdir())
    except OSError as e:
        raise SubmissionsFolderError(f"submissions folder {root}: cannot be read ({e.strerror or e})") from None


def _not_a_class(root: Path, subs: list[Submission]) -> None:
    """A folder of plain files only (a student's `tests/`, a folder of PDFs) is no class: say
    so instead of grading each file as a student with nothing in it."""
    if subs and all(s.kind == "file" for s in subs):
        shown = ", ".join(s.name for s in subs[:3]) + (" ..." if len(subs) > 3 else "")
        raise SubmissionsFolderError(
            f"submissions folder {root}: none of its {len(subs)} entries is a folder or an archive ({shown}); "
            "SUBMISSIONS must be the folder that holds one folder or archive (.zip, .tar.gz ...) per student")


def _nbgrader_course(root: Path) -> bool:
    """nbgrader's course folder, not a class with a student called "submitted"."""
    if not (root / "submitted").is_dir():
        return False
    others = [p for p in root.iterdir() if not p.name.startswith(".") and p.name != "submitted"]
    return not others or any((root / m).exists() for m in ("gradebook.db", "nbgrader_config.py", "source",
                                                           "release", "autograded", "feedback"))


def _check_root(root: Path, task_files: tuple[str, ...]) -> None:
    if not root.exists():
        raise SubmissionsFolderError(f"submissions folder {root}: no such folder")
    if not root.is_dir():
        raise SubmissionsFolderError(f"submissions folder {root}: not a folder; it must be a folder that holds one "
                                     "folder or archive per student (unpack a class archive first)")
    own = sorted(f for f in task_files if (root / f).is_file())
    if own:
        raise SubmissionsFolderError(
            f"submissions folder {root}: looks like one student's assignment folder (it holds {', '.join(own)}); "
            "SUBMISSIONS must be the folder that holds one folder or archive per student")


def _classify(entry: Path, folder: str, aid: str) -> Submission:
    sub = Submission("", entry, entry.name)
    try:
        if entry.is_dir():
            sub.source = _nbgrader_inner(entry, folder, aid) or entry
        elif entry.is_file():
            sub.kind = kind_by_name(entry.name) or sniff_kind(entry) or "file"
            if sub.kind == "file":
                sub.problem = (f"{entry.name}: not a folder or a readable archive "
                               "(accepted: a folder, .zip, .tar, .tar.gz, .tgz, .tar.bz2, .tar.xz)")
        elif entry.is_symlink():
            sub.kind, sub.problem = "link", f"{entry.name}: a symbolic link to nothing (its target is missing)"
        else:
            sub.kind, sub.problem = "special", f"{entry.name}: not a folder or a regular file"
    except OSError as e:
        sub.kind, sub.problem = "unreadable", f"{entry.name}: cannot be read ({e.strerror or e})"
    return sub


def _nbgrader_inner(entry: Path, folder: str, aid: str) -> Path | None:
    for name in (folder, aid):
        inner = entry / name
        if inner.is_dir() and not inner.is_symlink():
            return inner
    return None


def stage(sub: Submission, dest: Path, unpack_inner: bool = True) -> tuple[Path, list[str]]:
    """`stage_files` for a Submission (its problem, if any, raised as SubmissionError)."""
    if sub.problem:
        raise SubmissionError(sub.problem)
    return stage_files(sub.kind, sub.source, sub.name, sub.expected, dest, unpack_inner)


def content_hash(staged: Path, notes: list[str] = ()) -> str:
    """sha256 over sorted relative paths and bytes of the staged files (and the notes on
    what was left out, which the feedback shows)."""
    h = hashlib.sha256()
    for path in sorted(p for p in staged.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(staged)).encode("utf-8", "surrogateescape") + b"\0")
        h.update(path.read_bytes() + b"\0")
    for note in notes:
        h.update(note.encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()[:16]
