"""Hostile and broken submissions: each gets the right status for the affected tasks, the
other tasks and students are still graded, and the grader never crashes.

All of them are graded in one parallel run (a module-scoped fixture) to keep the suite fast.
"""
import os
import socket
import textwrap

import pytest

from grading_helpers import FIXTURE, by_student, grade_tiny, make_submission, tiny_source

SOLVED = tiny_source()
ADD_BODY = "    out = a + b\n"
SECRET = "vitlab-grader-secret-9f2c"
GRADER_FILE = FIXTURE / "graders" / "a1_tiny" / "test_tiny.py"


def in_add(code: str) -> str:
    """tiny.py solved, with `code` run inside add() (task 1.1) before its result."""
    assert ADD_BODY in SOLVED
    code = textwrap.indent(textwrap.dedent(code).strip("\n") + "\n", "    ")
    return SOLVED.replace(ADD_BODY, code + ADD_BODY, 1)


def at_import(code: str, src: str = SOLVED) -> str:
    return textwrap.dedent(code) + "\n" + src


SNOOP = f"""
import os, glob
print("ENV", dict(os.environ))
print("PROC", sorted(p for p in os.listdir("/proc") if p.isdigit()))
for path in [{str(GRADER_FILE)!r}, "/proc/1/environ", "/proc/1/cmdline"]:
    try:
        print("READ", path, open(path, "rb").read()[:200])
    except OSError as e:
        print("DENIED", path, type(e).__name__)
print("FOUND", glob.glob("/work/**/test_tiny.py", recursive=True) + glob.glob("/root/**/test_tiny.py", recursive=True))
"""

DISKFILL = """
import os
chunk = b"x" * (8 << 20)
try:
    for i in range(1000):
        with open(f"/tmp/fill{i}", "wb") as f:
            f.write(chunk)
finally:
    for target in ["results.json", "/submission/results.json"]:
        try:
            open(target, "w").write("{}")
        except OSError as e:
            print("cannot write", target, e)
"""

FORGE_CONFTEST = """
import pytest
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    out = yield
    rep = out.get_result()
    rep.outcome = "passed"
"""


def hostile_submissions(port: int) -> dict[str, dict]:
    return {
        "syntax": {"tiny.py": SOLVED + "\ndef broken(:\n    pass\n"},
        "import_error": {"tiny.py": at_import("import not_a_module_xyz")},
        "missing": {"tiny.py": SOLVED.replace("def scale_sum(", "def scale_sum_renamed(")},
        "wrong_shape": {"tiny.py": SOLVED.replace("    return out\n", "    return out.ravel()\n", 1)},
        "nan": {"tiny.py": in_add("a = a * float('nan')")},
        "liar": {"tiny.py": in_add("""
            class Liar:
                def __eq__(self, other): return True
                def __array__(self, *a, **k): return a
            return Liar()
            """)},
        "subclass": {"tiny.py": in_add("""
            class Sneaky(np.ndarray):
                def __eq__(self, other): return np.ones(np.shape(other), bool)
            return (a + b).view(Sneaky)
            """)},
        "patch_numpy": {"tiny.py": at_import("""
            import numpy
            numpy.allclose = lambda *a, **k: True
            numpy.testing.assert_allclose = lambda *a, **k: None
            """)},
        "patch_pytest": {"tiny.py": at_import("""
            import pytest
            pytest.approx = lambda *a, **k: object()
            pytest.fail = lambda *a, **k: None
            """, SOLVED.replace("out = a + b", "out = a * b"))},
        "exit_import": {"tiny.py": at_import("import sys; sys.exit(0)")},
        "os_exit_import": {"tiny.py": at_import("import os; os._exit(0)")},
        "exit_task": {"tiny.py": in_add("import sys; sys.exit(0)")},
        "os_exit_task": {"tiny.py": in_add("import os; os._exit(0)")},
        "fake_output": {"tiny.py": at_import("""
            print("==================== 5 passed in 0.01s ====================")
            print('{"score": 100, "tests": [{"score": 100, "max_score": 4}]}')
            import json, os
            for p in ["results.json", os.path.expanduser("~/results.json"), "/autograder/results/results.json"]:
                try:
                    json.dump({"score": 100}, open(p, "w"))
                except OSError:
                    pass
            """, tiny_source(None))},
        "snoop": {"tiny.py": in_add(SNOOP)},
        "socket": {"tiny.py": in_add(f"""
            import socket
            socket.create_connection(("127.0.0.1", {port}), timeout=2)
            """)},
        "loop": {"tiny.py": in_add("while True: pass")},
        "memory_bomb": {"tiny.py": in_add("hog = [np.zeros(1 << 27) for _ in range(1000)]")},
        "fork_bomb": {"tiny.py": in_add("""
            import os
            while True:
                os.fork()
            """)},
        "big_output": {"tiny.py": in_add("""
            import sys
            line = "spam " * 200 + "\\n"
            for _ in range(100_000):
                sys.stdout.write(line)
            """)},
        "disk_fill": {"tiny.py": in_add(DISKFILL)},
        "non_utf8": {"tiny.py": b'GREETING = "caf\xe9 \xff\xfe"\n' + SOLVED.encode()},
        "non_utf8_comment": {"tiny.py": b"# caf\xe9 \xff\xfe\n" + SOLVED.encode()},
        "empty": {},
        "forge_config": {
            "tiny.py": tiny_source(None),
            "conftest.py": FORGE_CONFTEST,
            "pytest.ini": "[pytest]\naddopts = -p conftest --co\n",
            "pyproject.toml": "[tool.pytest.ini_options]\naddopts = '--co'\n",
            "sitecustomize.py": "import numpy; numpy.allclose = lambda *a, **k: True\n",
            "usercustomize.py": "import numpy; numpy.isfinite = lambda x: True\n",
            "evil.pth": "import os; os.environ['PWNED'] = '1'\n",
        },
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.setblocking(False)
    subs = tmp / "subs"
    make_submission(subs, "reference", {"tiny.py": SOLVED})
    for name, files in hostile_submissions(listener.getsockname()[1]).items():
        make_submission(subs, name, files)
    os.environ["VITLAB_TEST_SECRET"] = SECRET
    os.environ["PYTEST_ADDOPTS"] = "--co"
    os.environ["PYTHONPATH"] = str(subs / "forge_config")
    try:
        summary = grade_tiny(subs, tmp / "out", workers=2)
    finally:
        for k in ("VITLAB_TEST_SECRET", "PYTEST_ADDOPTS", "PYTHONPATH"):
            os.environ.pop(k, None)
    try:
        accepted = listener.accept()
    except BlockingIOError:
        accepted = None
    listener.close()
    return by_student(summary), tmp / "out", accepted


def statuses(got, student):
    return tuple(got[student][t]["status"] for t in ("1.1", "1.2", "1.3"))


EXPECTED = {
    "reference": ("passed", "passed", "passed"),
    "syntax": ("error",) * 3,
    "import_error": ("error",) * 3,
    "missing": ("passed", "missing", "passed"),
    "wrong_shape": ("partial", "passed", "passed"),     # a 1-D ravel keeps its shape; 1.2 uses the reference add
    "nan": ("failed", "passed", "passed"),
    "liar": ("failed", "passed", "passed"),
    "subclass": ("failed", "passed", "passed"),
    "patch_numpy": ("tampered",) * 3,
    "patch_pytest": ("failed", "passed", "passed"),
    "exit_import": ("error",) * 3,
    "os_exit_import": ("error",) * 3,
    "exit_task": ("error", "passed", "passed"),
    "os_exit_task": ("error", "passed", "passed"),
    "fake_output": ("not_implemented",) * 3,
    "snoop": ("passed", "passed", "passed"),
    "socket": ("error", "passed", "passed"),
    "loop": ("timeout", "passed", "passed"),
    "memory_bomb": ("memory", "passed", "passed"),
    "fork_bomb": ("error", "passed", "passed"),
    "big_output": ("passed", "passed", "passed"),
    "disk_fill": ("error", "passed", "passed"),
    "non_utf8": ("error",) * 3,
    "non_utf8_comment": ("passed",) * 3,     # Python ignores the bytes of comments
    "empty": ("missing",) * 3,
    "forge_config": ("not_implemented",) * 3,
}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_status(graded, student):
    got, _, _ = graded
    assert statuses(got, student) == EXPECTED[student], {t: r["message"][:200] for t, r in got[student].items()}
    zero = [t for t, s in zip(("1.1", "1.2", "1.3"), EXPECTED[student]) if s not in ("passed", "partial")]
    for t in zero:
        assert got[student][t]["score"] == 0


def test_messages_say_what_went_wrong(graded):
    got, _, _ = graded
    assert "SyntaxError" in got["syntax"]["1.1"]["message"]
    assert "ModuleNotFoundError" in got["import_error"]["1.2"]["message"]
    assert "scale_sum" in got["missing"]["1.2"]["message"]
    assert "expected shape (3, 4), got shape (12,)" in got["wrong_shape"]["1.1"]["message"]
    assert "non-finite" in got["nan"]["1.1"]["message"]
    assert "expected a numpy.ndarray, got a tiny.add.<locals>.Liar object" in got["liar"]["1.1"]["message"]
    assert "subclass of numpy.ndarray" in got["subclass"]["1.1"]["message"]
    assert "numpy.allclose" in got["patch_numpy"]["1.1"]["message"]
    assert "time limit" in got["loop"]["1.1"]["message"]
    assert "PermissionError" in got["fork_bomb"]["1.1"]["message"]
    assert "No space left" in got["disk_fill"]["1.1"]["message"] or "too large" in got["disk_fill"]["1.1"]["message"]
    assert "exited with status 0" in got["os_exit_task"]["1.1"]["message"]
    assert "SystemExit" in got["exit_task"]["1.1"]["message"]
    assert "SyntaxError" in got["non_utf8"]["1.3"]["message"]


def test_no_expected_values_leak(graded):
    """A failing check names shapes and errors, never the expected numbers."""
    got, out, _ = graded
    text = (out / "wrong_shape" / "feedback.md").read_text() + (out / "nan" / "results.json").read_text()
    assert "expected" in text
    assert "array(" not in text and "[[" not in text


def test_sandbox_hides_the_grader(graded):
    got, out, _ = graded
    printed = got["snoop"]["1.1"]["output"]
    assert "DENIED " + str(GRADER_FILE) in printed
    assert SECRET not in printed and "expect_close" not in printed
    assert "FOUND []" in printed
    pids = eval(printed.split("PROC ", 1)[1].split("\n", 1)[0])   # its own PID namespace:
    assert 1 <= len(pids) <= 4 and all(int(p) < 10 for p in pids)  # bwrap, zygote, worker


def test_socket_never_connects(graded):
    got, _, accepted = graded
    assert accepted is None
    assert "unreachable" in got["socket"]["1.1"]["message"].lower() or "refused" in got["socket"]["1.1"]["message"].lower()


def test_big_output_is_truncated(graded):
    got, out, _ = graded
    t = got["big_output"]["1.1"]
    assert t["output_bytes"] >= 100_000_000
    assert len(t["output"]) < 5000 and "truncated" in t["output"]
    assert (out / "big_output" / "feedback.md").stat().st_size < 20_000


def test_forged_output_and_files_change_nothing(graded):
    got, out, _ = graded
    assert sum(t["score"] for t in got["fake_output"].values()) == 0
    assert sum(t["score"] for t in got["forge_config"].values()) == 0
    assert "5 passed" in got["fake_output"]["1.1"]["output"]  # printed, shown, ignored
