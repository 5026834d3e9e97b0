"""Hostile notebooks: a forged pass, the input history, links and FIFOs in the working
directory, a disk fill, metadata nbgrader rejects, and a Python prefix under /tmp."""
import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from grading_helpers import FIXTURE
from notebook_helpers import SOLVED, STUB, grade_notebooks, notebook, page_text

FORGE = """\
import IPython
from IPython.core.interactiveshell import ExecutionResult
get_ipython().set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
ExecutionResult.success = property(lambda self: True)
"""
HISTORY = ("for s in In:\n    print(s)\nprint(Out)\nprint(_ih)\nhm = get_ipython().history_manager\n"
           "print(list(hm.get_range(raw=True)), hm.input_hist_raw, hm.output_hist)\n")
# Everything the kernel can reach: its history, every module, function and frame, every
# file it can read. The marks are split so that the cell's own source does not hold them.
PROBE = """\
import gc, os, sys, time, types
marks = ["".join(p) for p in (["HIDDEN", "-MARK"], ["student", ".call("], ["BEGIN ", "SOLUTION"],
                                ["BEGIN ", "HIDDEN"], ["nb", "test_"])]    # join: not folded into a constant

def probe(files):
    found, count = set(), [0]
    seen = {id(marks), id(found), *map(id, marks)}
    def look(v, depth=0):
        if depth > 4 or id(v) in seen:
            return
        seen.add(id(v))
        if isinstance(v, (str, bytes)):
            count[0] += 1
            s = v if isinstance(v, str) else v.decode("utf-8", "replace")
            found.update(m for m in marks if m in s)
        elif isinstance(v, dict):
            for k, x in list(v.items())[:5000]:
                look(k, depth + 1); look(x, depth + 1)
        elif isinstance(v, (list, tuple, set, frozenset)):
            for x in list(v)[:5000]:
                look(x, depth + 1)
        elif isinstance(v, types.CodeType):
            look(v.co_consts, depth + 1)
        elif isinstance(v, types.FunctionType):
            look(v.__code__, depth + 1)
        elif isinstance(v, types.ModuleType):
            look(vars(v), depth + 1)
    hm = get_ipython().history_manager
    look(list(hm.get_range(raw=True))); look(hm.input_hist_raw); look(hm.output_hist)
    for obj in gc.get_objects():
        look(obj)
    f = sys._getframe()
    while f is not None:
        look(f.f_locals); look(f.f_globals); f = f.f_back
    skip = ("/proc", "/sys", "/dev", "/usr", "/lib", "/bin", "/sbin", "/etc", os.path.realpath(sys.base_prefix))
    n = 0
    for root, dirs, names in os.walk("/") if files else ():
        dirs[:] = [d for d in dirs if not os.path.join(root, d).startswith(skip) and d != "site-packages"]
        for name in names:
            try:
                with open(os.path.join(root, name), "rb") as fh:
                    look(fh.read(1 << 20))
                n += 1
            except OSError:
                pass
    return count[0], n, sorted(found)

t0 = time.monotonic()
print("PROBE", *probe(True), f"{time.monotonic() - t0:.1f}s")

def double(x):      # while the hidden graders call it: the messages they sent, and all else
    return 2 * x if not probe(False)[2] else -1
"""
DISK_FILL = """\
import os
written = 0
try:
    for i in range(6):
        with open(f"fill{i}.bin", "wb") as f:
            for _ in range(60):
                f.write(b"x" * (1 << 20))
                written += 1
    print("wrote all", written, "MB")
except OSError as e:
    print("disk full after", written, "MB:", type(e).__name__)
"""


def links(targets: dict[str, str]) -> str:
    """A cell that swaps the notebook for a symlink, links host files, and leaves FIFOs."""
    return textwrap.dedent(f"""\
        import os
        t = {targets!r}
        for name in ("tiny.ipynb", "tiny.html"):
            try:
                os.unlink(name)
            except OSError:
                pass
        os.symlink(t["notebook"], "tiny.ipynb")
        os.symlink(t["chmod"], "extra")
        try:
            os.link(t["hard"], "hard")
            print("hard link made")
        except OSError as e:
            print("no hard link:", type(e).__name__)
        os.mkfifo("fifo")
        os.mkfifo("tiny.html")
        print("links done")
        """)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    host = tmp / "host"
    host.mkdir()
    targets = {}
    for name in ("notebook", "chmod", "hard"):
        p = host / f"{name}.txt"
        p.write_text(f"original {name}\n")
        p.chmod(0o644)
        targets[name] = str(p)
    bad_meta = notebook(SOLVED, edit=lambda nb: nb.cells[1].metadata.nbgrader.update(schema_version=99))
    students = {
        "forger": notebook(STUB, first=[FORGE]),     # before every test cell: nbgrader would score 8/8
        "history": notebook(SOLVED, extra=[HISTORY]),
        "prober": notebook({**SOLVED, "task2_1_impl": PROBE}),
        "linker": notebook(SOLVED, extra=[links(targets)]),
        "filler": notebook(SOLVED, extra=[DISK_FILL]),
        "bad_meta": bad_meta,
    }
    got, out, _ = grade_notebooks(tmp, students)
    return got, out, targets


def test_forged_success_scores_nothing(hostile):
    got, out, _ = hostile
    assert [got["forger"][t]["status"] for t in ("2.1", "2.2")] == ["not_implemented", "not_implemented"]
    assert got["forger"]["2.1"]["score"] == got["forger"]["2.2"]["score"] == 0


def test_history_holds_no_test_source(hostile):
    got, out, _ = hostile
    assert got["history"]["2.1"]["status"] == "passed"
    text = page_text(out / "history" / "feedback" / "tiny.html")
    assert "def double" in text                  # the history cell printed the student's own cells
    for leak in ("HIDDEN-MARK", "assert double(3)", "assert square"):
        assert leak not in text.split("for s in In")[-1]
    assert text.count("def square") >= 5    # its cell, In, _ih, and history_manager's two copies
    assert "HIDDEN-MARK" not in (out / "history" / "results.json").read_text()


def test_kernel_reaches_no_hidden_test_or_solution(hostile):
    got, out, _ = hostile
    text = page_text(out / "prober" / "feedback" / "tiny.html")
    strings, files, found = text.split("PROBE ", 1)[1].split(" ", 2)
    assert int(strings) > 10000 and int(files) > 5, (strings, files)    # it really looked
    assert found.startswith("[]"), found
    assert got["prober"]["2.1"]["status"] == "passed", got["prober"]["2.1"]     # found nothing while graded


def test_links_and_fifos_stay_in_the_sandbox(hostile):
    got, out, targets = hostile
    assert [got["linker"][t]["status"] for t in ("2.1", "2.2")] == ["passed", "passed"]
    for name, path in targets.items():
        assert open(path).read() == f"original {name}\n", name
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644, name
    text = page_text(out / "linker" / "feedback" / "tiny.html")
    assert "links done" in text and "no hard link" in text


def test_disk_fill_hits_the_sandboxs_tmpfs(hostile):
    got, out, _ = hostile
    assert got["filler"]["2.2"]["status"] == "passed"
    text = page_text(out / "filler" / "feedback" / "tiny.html")
    assert "disk full after" in text and "wrote all 360" not in text
    written = int(text.split("disk full after ")[-1].split()[0])
    assert written <= 256


def test_metadata_nbgrader_rejects_says_why(hostile):
    got, _, _ = hostile
    for task in ("2.1", "2.2"):
        r = got["bad_meta"][task]
        assert r["status"] == "error", r
        assert "nbgrader cannot read its cell metadata" in r["message"]
        assert "Schema version is too new" in r["message"]
        assert "kernel died" not in r["message"]


SCRIPT = """
import json, sys
from pathlib import Path
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests/grading"]
from notebook_helpers import SOLVED, grade_notebooks, notebook
if __name__ == "__main__":
    got, _, summary = grade_notebooks(Path(sys.argv[2]), {"solved": notebook(SOLVED)}, workers=1)
    print(json.dumps({"prefix": sys.prefix, "isolated": summary.plan.isolated,
                      "status": {t: r["status"] for t, r in got["solved"].items()}}))
"""


@pytest.mark.slow
def test_python_prefix_under_tmp_grades_notebooks(tmp_path):
    """A kit whose venv lives under /tmp: the sandbox mounts its tmpfs first, then the prefix."""
    root = FIXTURE.parents[3]
    venv = tmp_path / "venv"
    os.symlink(os.path.realpath(sys.prefix), venv)
    script = tmp_path / "grade_one.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run([str(venv / "bin" / "python"), str(script), str(root), str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=300, env=env, cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["prefix"].startswith(str(tmp_path)) and res["prefix"].startswith("/tmp/")
    assert res["status"] == {"2.1": "passed", "2.2": "passed"}, res
