"""Discovery, ids and staging, without grading: whatever the names, archives and nesting,
every entry becomes a student with a distinct, stable id, or an error naming the file."""
import io
import os
import re
import stat
import tarfile
import unicodedata
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from autograder.engine.submissions import (OUTPUT_NAMES, Submission, SubmissionError, SubmissionsFolderError,
                                           _reserved, assign_ids, discover_all, stage, student_name)

pytestmark = pytest.mark.filterwarnings("ignore:Duplicate name")   # hypothesis repeats members
FOLDER, AID, FILES = "a1_tiny", "a1", ("tiny.py",)
NAME_CHARS = st.one_of(st.characters(codec="utf-8", exclude_characters="/\0"),
                       st.sampled_from(list(" ._-=+@ëé\u0301\u202e\x1b\n\\")))
NAMES = st.text(NAME_CHARS, min_size=1, max_size=40).filter(lambda n: n not in (".", ".."))
SAFE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _ok_id(sid: str) -> bool:
    return (sid and unicodedata.is_normalized("NFC", sid) and len(sid.encode()) <= 127
            and all(c in "._-" or unicodedata.category(c)[0] in "LNM" for c in sid)
            and sid[0] not in "._-" and sid.casefold() not in OUTPUT_NAMES)


def test_names_keep_unicode_letters_and_collisions_get_distinct_stable_ids():
    assert student_name("José García") == "José_García"
    assert student_name("Zoe\u0308") == "Zoë"                       # NFC
    assert student_name("=cmd|' /C calc'!A0") == "cmd_C_calc_A0"
    subs = [Submission("", Path(n), n, kind) for n, kind in
            [("ann lee", "folder"), ("ann_lee", "folder"), ("Zoë", "folder"), ("Zoé", "folder"),
             ("gradebook.csv", "folder"), ("gradebook.csv.zip", "zip"), ("Ann_Lee.ZIP", "zip")]]
    assign_ids(subs)
    ids = {s.name: s.student for s in subs}
    assert ids["ann_lee"] == "ann_lee" and ids["Zoë"] == "Zoë" and ids["Zoé"] == "Zoé"
    assert ids["ann lee"].startswith("ann_lee-") and ids["Ann_Lee.ZIP"].startswith("Ann_Lee-")
    assert ids["gradebook.csv"].startswith("gradebook.csv-") and ids["gradebook.csv.zip"] != ids["gradebook.csv"]
    again = [Submission("", s.source, s.name, s.kind) for s in reversed(subs)]
    assign_ids(again)
    assert {s.name: s.student for s in again} == ids                 # stable: order does not matter


@SAFE
@given(st.lists(NAMES, min_size=1, max_size=12, unique=True))
def test_ids_are_distinct_safe_and_stable(names):
    subs = [Submission("", Path("x"), n) for n in names]
    assign_ids(subs)
    ids = [s.student for s in subs]
    assert len({i.casefold() for i in ids}) == len(ids)
    assert all(_ok_id(i) for i in ids), ids
    again = [Submission("", Path("x"), n) for n in sorted(names, reverse=True)]
    assign_ids(again)
    assert {s.name: s.student for s in again} == {s.name: s.student for s in subs}


def _zip(path: Path, members: list[tuple[str, bytes]], **kw) -> Path:
    with zipfile.ZipFile(path, "w", **kw) as z:
        for name, data in members:
            z.writestr(name, data)
    return path


def _stage(tmp_path: Path, entry: Path):
    found = discover_all(entry.parent, FOLDER, AID, FILES)
    sub = next(s for s in found.submissions if s.name == entry.name)
    return stage(sub, tmp_path / "stage" / sub.student, FOLDER)


def test_finder_zip_is_unwrapped_and_junk_left_out(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    z = _zip(subs / "Zoë.ZIP", [("a1_tiny/tiny.py", b"x = 1\n"), ("a1_tiny/.DS_Store", b"\0"),
                               ("__MACOSX/a1_tiny/._tiny.py", b"\0"), ("__MACOSX/._a1_tiny", b"\0")])
    (subs / ".DS_Store").write_bytes(b"\0")
    found = discover_all(subs, FOLDER, AID, FILES)
    assert [s.student for s in found.submissions] == ["Zoë"] and found.ignored[0].startswith(".DS_Store")
    staged, notes = _stage(tmp_path, z)
    assert sorted(os.listdir(staged)) == ["tiny.py"] and notes == []


def test_file_then_folder_of_the_same_name_and_long_names_are_noted(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    z = _zip(subs / "eve.zip", [("tiny.py", b"x = 1\n"), ("tiny.py/evil.txt", b"!"),
                               ("d" * 300 + "/x.py", b"!"), ("../up.py", b"!"), ("/abs.py", b"!"),
                               ("win\\sub\\ok.py", b"ok")])
    staged, notes = _stage(tmp_path, z)
    assert (staged / "tiny.py").read_bytes() == b"x = 1\n" and (staged / "win" / "sub" / "ok.py").exists()
    text = "\n".join(notes)
    for member, why in [("tiny.py/evil.txt", "cannot be created"), ("d" * 100, "longer than 255"),
                        ("../up.py", "leaves the folder"), ("/abs.py", "absolute")]:
        assert member in text and why in text, text
    assert not (tmp_path / "up.py").exists() and not (tmp_path / "stage" / "up.py").exists()


def _patch_central_directory(raw: bytearray, name: str, offset: int, value: int) -> None:
    """Set a 2-byte field of `name`'s central directory record (8: flags, 10: method)."""
    at = raw.index(b"PK\x01\x02")
    while True:
        n = int.from_bytes(raw[at + 28:at + 30], "little")
        extra, comment = (int.from_bytes(raw[at + k:at + k + 2], "little") for k in (30, 32))
        if raw[at + 46:at + 46 + n] == name.encode():
            raw[at + offset:at + offset + 2] = value.to_bytes(2, "little")
            return
        at += 46 + n + extra + comment


def test_encrypted_symlink_and_unsupported_members_are_noted(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    link = zipfile.ZipInfo("link.py")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    z = subs / "eve.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for info, data in [("tiny.py", b"x = 1\n"), ("secret.py", b"s"), (link, b"/etc/passwd"), ("odd.py", b"o")]:
            zf.writestr(info, data)
    raw = bytearray(z.read_bytes())
    _patch_central_directory(raw, "secret.py", 8, 1)      # encrypted
    _patch_central_directory(raw, "odd.py", 10, 9)        # Deflate64
    z.write_bytes(bytes(raw))
    staged, notes = _stage(tmp_path, z)
    assert sorted(os.listdir(staged)) == ["tiny.py"]
    text = "\n".join(notes)
    assert "secret.py: encrypted" in text and "link.py: a symbolic link" in text and "odd.py: compressed" in text


def test_tar_formats_symlinked_folders_and_unusable_entries(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name, mode in [("tg.tar.gz", "w:gz"), ("tb.TAR.BZ2", "w:bz2"), ("tx.tar.xz", "w:xz"), ("t.tgz", "w:gz")]:
        with tarfile.open(subs / name, mode) as tf:
            info = tarfile.TarInfo("a1_tiny/tiny.py")
            info.size = 6
            tf.addfile(info, io.BytesIO(b"x = 1\n"))
            link = tarfile.TarInfo("a1_tiny/link.py")
            link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tf.addfile(link)
    real = tmp_path / "elsewhere" / "bob"
    real.mkdir(parents=True)
    (real / "tiny.py").write_text("x = 1\n")
    (subs / "bob").symlink_to(real)
    (subs / "dangling").symlink_to(tmp_path / "nothing")
    (subs / "notes.rar").write_bytes(b"Rar!\x1a\x07\x00")
    (subs / "bad.zip").write_bytes(b"PK\x03\x04 not a zip")
    found = discover_all(subs, FOLDER, AID, FILES)
    by = {s.name: s for s in found.submissions}
    assert set(by) == {"tg.tar.gz", "tb.TAR.BZ2", "tx.tar.xz", "t.tgz", "bob", "dangling", "notes.rar", "bad.zip"}
    for name in ("tg.tar.gz", "tb.TAR.BZ2", "tx.tar.xz", "t.tgz", "bob"):
        staged, notes = stage(by[name], tmp_path / "st" / by[name].student)
        assert sorted(os.listdir(staged)) == ["tiny.py"], name
    assert by["tb.TAR.BZ2"].student == "tb" and by["t.tgz"].student == "t"
    for name, why in [("dangling", "symbolic link to nothing"), ("notes.rar", "not a folder or a readable archive"),
                      ("bad.zip", "not a readable zip file")]:
        with pytest.raises(SubmissionError, match=why) as e:
            stage(by[name], tmp_path / "st" / by[name].student)
        assert name in str(e.value)


def test_wrong_submissions_folders_say_so(tmp_path):
    with pytest.raises(SubmissionsFolderError, match="no such folder"):
        discover_all(tmp_path / "missing", FOLDER, AID, FILES)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SubmissionsFolderError, match="no submissions in it"):
        discover_all(tmp_path / "empty", FOLDER, AID, FILES)
    one = tmp_path / "one"
    (one / "tests").mkdir(parents=True)
    (one / "tiny.py").write_text("x = 1\n")
    with pytest.raises(SubmissionsFolderError, match="one student's assignment folder .*tiny.py"):
        discover_all(one, FOLDER, AID, FILES)
    with pytest.raises(SubmissionsFolderError, match="not a folder"):
        discover_all(one / "tiny.py", FOLDER, AID, FILES)


def test_an_unreadable_submissions_folder_says_so(tmp_path, monkeypatch):
    (tmp_path / "subs").mkdir()

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))
    monkeypatch.setattr(Path, "iterdir", denied)
    with pytest.raises(SubmissionsFolderError, match=r"subs: cannot be read \(Permission denied\)"):
        discover_all(tmp_path / "subs", FOLDER, AID, FILES)


MEMBER = st.lists(st.text(NAME_CHARS, min_size=1, max_size=30) | st.sampled_from(["..", ".", "", "a" * 260]),
                  min_size=1, max_size=6).map("/".join).filter(bool)


@SAFE
@given(st.lists(st.tuples(MEMBER, st.binary(max_size=20)), min_size=1, max_size=8),
       st.integers(0, 3), st.sampled_from(["zip", "tar"]))
def test_any_archive_stages_inside_its_folder_or_fails_cleanly(tmp_path_factory, members, depth, kind):
    tmp = tmp_path_factory.mktemp("arch")
    subs = tmp / "subs"
    subs.mkdir()
    prefix = "".join(f"wrap{i}/" for i in range(depth))
    path = subs / f"s.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(path, "w") as zf:
            for m, d in members:
                info = zipfile.ZipInfo("x")
                info.filename = prefix + m          # as written, not as ZipInfo would tidy it
                zf.writestr(info, d)
    else:
        with tarfile.open(path, "w") as tf:
            for m, d in members:
                info = tarfile.TarInfo(prefix + m)
                info.size = len(d)
                tf.addfile(info, io.BytesIO(d))
    found = discover_all(subs, FOLDER, AID, FILES)
    try:
        staged, notes = stage(found.submissions[0], tmp / "stage" / "s")
    except SubmissionError as e:
        assert "s." in str(e)
        return
    root = staged.resolve()
    for p in staged.rglob("*"):
        assert p.resolve().is_relative_to(root) and not p.is_symlink()
    assert set(os.listdir(tmp)) == {"subs", "stage"} and os.listdir(tmp / "stage") == ["s"]
    assert all(isinstance(n, str) for n in notes)


def test_a_zip_of_the_zip_is_unpacked(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    inner = _zip(tmp_path / "a1_tiny.zip", [("a1_tiny/tiny.py", b"x = 1\n")])
    z = _zip(subs / "bob.zip", [("bob/a1_tiny.zip", inner.read_bytes()), ("__MACOSX/bob/._a1_tiny.zip", b"\0")])
    staged, notes = _stage(tmp_path, z)
    assert sorted(os.listdir(staged)) == ["tiny.py"] and notes == []
    assert sorted(os.listdir(staged.parent)) == ["bob"]


def test_no_id_can_name_an_output_file():
    """Every file the grader writes at the top of OUT, and any name with such an extension."""
    for name in ("gradebook.csv", "Students.CSV", "leaderboard.csv", "leaderboard.html", "report.html",
                 "grader.log", "results.json", "feedback.md", "WARNING-NOT-SANDBOXED.txt", "gradebook.db"):
        assert _reserved(student_name(name)), name
        sub = Submission("", Path(name), name)
        assign_ids([sub])
        assert sub.student != student_name(name) and sub.student.startswith(student_name(name) + "-"), sub.student
    assert not _reserved("ann.lee") and not _reserved("José_García")


def test_a_folder_of_plain_files_is_no_class(tmp_path):
    tests = tmp_path / "tests"                      # one student's tests/ folder
    tests.mkdir()
    for name in ("conftest.py", "test_layers.py", "test_conv.py", "test_gradcheck.py"):
        (tests / name).write_text("x = 1\n")
    with pytest.raises(SubmissionsFolderError, match=r"none of its 4 entries is a folder or an archive "
                                                     r"\(conftest.py, test_conv.py, test_gradcheck.py ...\)"):
        discover_all(tests, FOLDER, AID, FILES)
    (tests / "bob.zip").write_bytes(b"PK\x03\x04 broken")     # one archive: a class, the rest reported
    found = discover_all(tests, FOLDER, AID, FILES)
    assert len(found.submissions) == 5 and [s.kind for s in found.submissions].count("file") == 4


def test_an_empty_submission_says_so(tmp_path):
    subs = tmp_path / "subs"
    (subs / "empty").mkdir(parents=True)
    (subs / "only_junk" / "__MACOSX").mkdir(parents=True)
    (subs / "only_junk" / ".DS_Store").write_bytes(b"\0")
    _zip(subs / "locked.zip", [("tiny.py", b"x = 1\n")])
    raw = bytearray((subs / "locked.zip").read_bytes())
    _patch_central_directory(raw, "tiny.py", 8, 1)
    (subs / "locked.zip").write_bytes(bytes(raw))
    found = {s.name: s for s in discover_all(subs, FOLDER, AID, FILES).submissions}
    for name, extra in [("empty", ""), ("only_junk", ""), ("locked.zip", " (left out: tiny.py: encrypted")]:
        with pytest.raises(SubmissionError) as e:
            stage(found[name], tmp_path / "st" / found[name].student)
        assert str(e.value).startswith(f"{name}: holds no files to grade{extra}"), str(e.value)


def test_a_task_file_in_the_wrong_place_is_pointed_out(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    z = _zip(subs / "eve.zip", [("my work/tiny.py", b"x = 1\n"), ("notes.txt", b"hi")])
    staged, notes = _stage(tmp_path, z)
    assert notes == ["tiny.py: not where the graders look (the released folder's layout); found at my work/tiny.py"]
    sub = Submission("bob", tmp_path / "bob", "bob", expected=("ckpt/a/info.json", "ckpt/b/info.json"))
    for rel in ("ckpt/a/info.json", "x/ckpt/b/w.bin", "old/info.json"):
        (sub.source / rel).parent.mkdir(parents=True, exist_ok=True)
        (sub.source / rel).write_text("{}")
    staged, notes = stage(sub, tmp_path / "st2" / "bob")     # another task's file of that name is no match
    assert notes == []


@pytest.mark.parametrize("suffix,codec", [(".tar.gz", "gzip"), (".tar.bz2", "bz2"), (".tar.xz", "lzma")])
def test_a_compressed_tar_bomb_stops_at_the_unpacked_limit(tmp_path, monkeypatch, suffix, codec):
    """A member declared 1 GB of zeros, in concatenated compressed streams a few kB long: the
    member is too large to stage, and skipping it is bounded too (tarfile reads through it)."""
    import importlib

    from autograder.engine.inside import staging

    monkeypatch.setattr(staging, "MAX_UNPACKED", 8 << 20)
    mod = importlib.import_module(codec)
    head = tarfile.TarInfo("big.bin")
    head.size = 1 << 30
    zeros = mod.compress(b"\0" * (4 << 20))
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / f"eve{suffix}").write_bytes(mod.compress(head.tobuf(format=tarfile.GNU_FORMAT)) + zeros * 8)
    found = discover_all(subs, FOLDER, AID, FILES)
    with pytest.raises(SubmissionError, match=rf"^eve{re.escape(suffix)}: more than 8 MB unpacked$"):
        stage(found.submissions[0], tmp_path / "st" / "eve")
