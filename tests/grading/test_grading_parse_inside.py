"""Archives are parsed inside a sandbox, never in the grading process: a small archive that
asks for hundreds of megabytes of headers costs the trusted side nothing, one with thousands
of long names gives bounded feedback files, and an honest student in the same run is graded
as usual."""
import resource
import subprocess
import sys

import pytest

from grading_helpers import by_student, grade_tiny, make_submission, tiny_source

# a tar whose one member has a PAX header of 300 MB (its path): 45 KB once xz-compressed
PAX_BOMB = '''
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:xz", format=tarfile.PAX_FORMAT) as tf:
    info = tarfile.TarInfo("tiny.py")
    info.pax_headers = {"comment": "x" * (300 << 20)}
    data = b"x = 1\\n"
    info.size = len(data)
    tf.addfile(info, io.BytesIO(data))
'''
# thousands of files, each path 32 folders of 250 characters (every name within the limits)
LONG_NAMES = '''
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:xz", format=tarfile.PAX_FORMAT) as tf:
    for i in range(3000):
        name = "/".join(f"{i:04d}" + "n" * 246 for _ in range(31)) + "/x.py"
        info = tarfile.TarInfo(name)
        info.size = 1
        tf.addfile(info, io.BytesIO(b"1"))
'''


def _archive(path, script):
    subprocess.run([sys.executable, "-c", script, str(path)], check=True)   # its memory is not ours
    return path


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("inside")
    subs = tmp / "subs"
    make_submission(subs, "honest", {"tiny.py": tiny_source()})
    _archive(subs / "bomb.tar.xz", PAX_BOMB)
    _archive(subs / "names.tar.xz", LONG_NAMES)
    (subs / "mallory").write_bytes((subs / "bomb.tar.xz").read_bytes())   # known by its content only
    (subs / "carol").mkdir()                                                # a folder holding the archive
    (subs / "carol" / "handin.tar.xz").write_bytes((subs / "bomb.tar.xz").read_bytes())
    many = subs / "trent"                                                   # a folder of 30,000 empty folders
    for i in range(30000):
        (many / f"{i:05d}").mkdir(parents=True)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    summary = grade_tiny(subs, tmp / "out", workers=1)
    grew_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    return by_student(summary), tmp / "out", grew_mb, (subs / "bomb.tar.xz").stat().st_size


def test_the_archives_are_small(graded):
    assert graded[3] < 200_000


def test_the_grading_process_did_not_parse_them(graded):
    assert graded[2] < 100, f"the trusted process grew by {graded[2]:.0f} MB"


def test_the_honest_student_is_graded(graded):
    assert {r["status"] for r in graded[0]["honest"].values()} == {"passed"}


def test_every_file_the_grader_writes_is_bounded(graded):
    out = graded[1]
    for student in ("bomb", "names", "mallory", "carol", "trent"):
        for f in (out / student).rglob("*"):
            if f.is_file():
                assert f.stat().st_size < 256 << 10, (f, f.stat().st_size)


def test_a_folder_of_too_many_entries_is_refused_by_name(graded):
    assert {r["status"] for r in graded[0]["trent"].values()} == {"missing"}
    assert "trent: more than 20000 entries" in graded[0]["trent"]["1.1"]["message"]
