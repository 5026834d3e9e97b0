"""A fresh task is fresh: whatever a worker did to the writable places themselves (the tmpfs
root's mode, times and extended attributes) or to the network (listening and TIME_WAIT
sockets, abstract Unix sockets), the next task's worker sees none of it, and no worker
holds a capability."""
import pytest

from grading_helpers import by_student, grade_tiny, make_submission, tiny_source

PORT = 47123
PROBE = f'''
import os, socket, stat, sys

# a Python installed under /tmp (a checkout in /tmp, or a course whose .venv links to one)
# is bound there read-only: the mount points under a scratch root, and the folders on their
# path, are the sandbox's, not an earlier task's
_PREFIXES = {{line.split()[4] for line in open("/proc/self/mountinfo")
              if line.split()[4].startswith(("/tmp/", "/dev/shm/"))}}
_ON_PATH = {{"/".join(p.split("/")[:i]) for p in _PREFIXES for i in range(2, len(p.split("/")) + 1)}}

def _stray(root):
    for here, dirs, files in os.walk(root):
        if any(os.path.join(here, n) not in _ON_PATH for n in dirs + files):
            return True
        dirs[:] = [d for d in dirs if os.path.join(here, d) not in _PREFIXES]
    return False

def _seen():
    marks = []
    for root in ("/tmp", "/dev/shm"):
        st = os.stat(root)
        if stat.S_IMODE(st.st_mode) != 0o755: marks.append(root + " mode")
        if int(st.st_mtime) == 12345: marks.append(root + " mtime")
        try:
            if os.listxattr(root): marks.append(root + " xattr")
        except OSError:
            pass
        try:
            os.listdir(root)
            if _stray(root): marks.append(root + " files")
        except OSError:
            marks.append(root + " unreadable")
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", {PORT}))
    except OSError:
        marks.append("port")
    finally:
        s.close()
    u = socket.socket(socket.AF_UNIX)
    try:
        u.bind("\\0vitlab-carry")
    except OSError:
        marks.append("abstract")
    finally:
        u.close()
    return marks

def _leave():
    global _keep
    for root in ("/tmp", "/dev/shm"):
        for step in (lambda: open(root + "/carry", "w").write("x"),
                     lambda: os.setxattr(root, "user.carry", b"1"),
                     lambda: os.utime(root, (12345, 12345)),
                     lambda: os.chmod(root, 0o555)):
            try:
                step()
            except OSError:
                pass
    try:   # the side that closes first keeps its port in TIME_WAIT: here the listening port
        srv = socket.socket(); srv.bind(("127.0.0.1", {PORT})); srv.listen()
        cli = socket.create_connection(("127.0.0.1", {PORT})); conn, _ = srv.accept()
        conn.close(); srv.close(); cli.recv(1); cli.close()
    except OSError:
        pass
    _keep = socket.socket(socket.AF_UNIX)
    try:
        _keep.bind("\\0vitlab-carry")
    except OSError:
        pass

print("SEEN", _seen())
print("CAPS", open("/proc/self/status").read().split("CapEff:")[1].split()[0])
import sys
print("PYTHON_WRITABLE", os.access(sys.prefix, os.W_OK))   # a venv under /tmp stays read-only
_leave()
'''


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fresh")
    make_submission(tmp / "subs", "carrier", {"tiny.py": PROBE + tiny_source()})
    return by_student(grade_tiny(tmp / "subs", tmp / "out", workers=1))["carrier"]


def test_every_task_is_graded_normally(graded):
    assert {t: r["status"] for t, r in graded.items()} == {"1.1": "passed", "1.2": "passed", "1.3": "passed"}


@pytest.mark.parametrize("task", ["1.1", "1.2", "1.3"])
def test_no_mark_of_an_earlier_task_survives(graded, task):
    out = graded[task]["output"]
    assert "SEEN []" in out, out


def test_the_python_stays_read_only(graded):
    assert all("PYTHON_WRITABLE False" in r["output"] for r in graded.values())


def test_no_worker_holds_a_capability(graded):
    for task, r in graded.items():
        caps = r["output"].split("CAPS ", 1)[1].split()[0]
        assert int(caps, 16) == 0, (task, caps)


def test_a_machine_without_per_task_namespaces_is_refused_before_grading(monkeypatch):
    """Where a task cannot get fresh namespaces (here: the zygote without its capability),
    the sandbox probe says so and nothing is graded half-isolated."""
    from autograder.engine import sandbox
    if sandbox.bwrap_path() is None:
        pytest.skip("bubblewrap is not installed")
    monkeypatch.setattr(sandbox, "_PROBE", {})
    assert sandbox.probe_bwrap() is None
    monkeypatch.setattr(sandbox, "_PROBE", {})
    monkeypatch.setattr(sandbox, "ZYGOTE_CAPS", [])
    reason = sandbox.probe_bwrap()
    assert reason and "fresh namespaces" in reason and "unshare" in reason, reason
