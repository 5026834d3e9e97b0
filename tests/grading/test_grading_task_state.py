"""Each task starts from a state no earlier task's code could touch: files, shared memory,
kernel-held IPC objects, inherited descriptors, and the parent process (the zygote)."""
import pytest

from grading_helpers import by_student, grade_tiny, make_submission, tiny_source

PROBE = '''
import ctypes, os
print("SEEN", sorted(p for p in ("/tmp/carry", "/tmp/d/carry", "/dev/shm/carry") if os.path.exists(p)))
for p in ("/tmp/carry", "/dev/shm/carry"):
    try:
        open(p, "w").write("from an earlier task")
    except OSError:
        pass
os.makedirs("/tmp/d", exist_ok=True)
open("/tmp/d/carry", "w").write("x")
os.chmod("/tmp/d", 0o500)                       # a folder its owner cannot write to any more
libc = ctypes.CDLL(None, use_errno=True)
print("SHMGET", libc.shmget(0x5EED, 4096, 0o1666), "MSGGET", libc.msgget(0x5EED, 0o1666),
      "KEYCTL", libc.syscall(250, 0, 0, 0, 0, 0))
for pid in (os.getppid(), 1):
    for name in ("mem", "environ"):
        try:
            open(f"/proc/{pid}/{name}", "r+b" if name == "mem" else "rb").close()
            print("OPENED", pid, name)
        except OSError as e:
            print("REFUSED", pid, name, type(e).__name__)
print("FDS", sorted(int(f) for f in os.listdir("/proc/self/fd")))
'''


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("state")
    make_submission(tmp / "subs", "prober", {"tiny.py": PROBE + tiny_source()})
    return by_student(grade_tiny(tmp / "subs", tmp / "out", workers=1))["prober"]


def test_every_task_is_graded_normally(graded):
    assert {t: r["status"] for t, r in graded.items()} == {"1.1": "passed", "1.2": "passed", "1.3": "passed"}


@pytest.mark.parametrize("task", ["1.1", "1.2", "1.3"])
def test_nothing_an_earlier_task_wrote_survives(graded, task):
    out = graded[task]["output"]
    assert "SEEN []" in out and "SEEN ['" not in out, out


def test_no_kernel_held_ipc_or_keys(graded):
    out = graded["1.1"]["output"]
    assert "SHMGET -1 MSGGET -1 KEYCTL -1" in out, out


def test_the_zygote_and_bwrap_cannot_be_written_or_read(graded):
    out = graded["1.1"]["output"]
    assert "OPENED" not in out and out.count("REFUSED") >= 4, out


def test_a_worker_holds_only_its_own_pipes(graded):
    fds = eval(graded["1.2"]["output"].split("FDS ", 1)[1].split("\n", 1)[0])
    assert set(fds) <= {0, 1, 2, 3, 4, 5}, fds      # stdin/out/err, request, reply, listdir's own
