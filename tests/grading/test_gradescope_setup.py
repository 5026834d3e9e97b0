"""Gradescope's setup.sh: the Python check names the base image to choose; exactly the
datasets an assignment grades on are fetched, and a file whose checksum is not the official
one stops the build. (The dataset hosts are unreachable here: the fetch runs from the
offline mirror, VITLAB_MIRROR or ../shared/datasets beside the checkout, never from the network.)"""
import dataclasses
import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder.engine.gradescope import build as gradescope
from autograder.engine.gradescope.data import fetch_and_verify, grading_datasets
from autograder.engine.gradescope.scripts import BASE_IMAGE, PYTHON_VERSION, run_autograder, setup_sh
from gradescope_helpers import unpack
from vitlab.course import CourseError, load_course

COURSE = load_course()
MIRROR = Path(os.environ.get("VITLAB_MIRROR") or Path(__file__).resolve().parents[3] / "shared" / "datasets")
HAS_MNIST = (MIRROR / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").is_file()


def fake_bin(folder: Path, scripts: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for tool in ("dirname", "chmod"):   # what setup.sh (and the fake apt-get) need before the Python check
        os.symlink(shutil.which(tool), folder / tool)
    for name, body in scripts.items():
        (folder / name).write_text("#!/bin/bash\n" + body)
        (folder / name).chmod(0o755)
    return folder


def run_setup(tmp_path: Path, fakes: dict[str, str]):
    src = tmp_path / "autograder" / "source"
    src.mkdir(parents=True)
    (src / "setup.sh").write_text(setup_sh("a1"))
    env = {"PATH": str(fake_bin(tmp_path / "bin", fakes)), "AUTOGRADER_ROOT": str(tmp_path / "autograder")}
    return subprocess.run(["/bin/bash", str(src / "setup.sh")], env=env, capture_output=True, text=True, timeout=60)


PY310 = 'case "$1" in -c) echo 3.10;; --version) echo "Python 3.10.12";; *) exit 9;; esac\n'


def test_wrong_python_and_no_package_names_the_base_image(tmp_path):
    r = run_setup(tmp_path, {"python3": PY310})
    assert r.returncode == 1
    err = " ".join(r.stderr.split())
    assert f"Python {PYTHON_VERSION} is needed" in err and "Python 3.10.12" in err
    assert f"choose the base image {BASE_IMAGE}" in err and "Ubuntu 22.04" in err


def test_wrong_python_installs_the_right_one_with_apt(tmp_path):
    log = tmp_path / "apt.log"
    # apt-get "installs" python3.11, a stand-in whose venv step stops the script right there
    py311 = 'case "$1" in -c) echo 3.11;; --version) echo "Python 3.11.0";; *) exit 7;; esac\n'
    apt = (f'echo "$@" >> {log}\n'
           f'if [ "$1" = install ]; then printf \'#!/bin/bash\\n%s\' \'{py311}\' > {tmp_path}/bin/python3.11; '
           f'chmod +x {tmp_path}/bin/python3.11; fi\n')
    r = run_setup(tmp_path, {"python3": PY310, "apt-get": apt})
    assert "install -y -q python3.11 python3.11-venv" in log.read_text()
    assert "setup.sh: Python 3.11.0 at" in r.stdout
    assert r.returncode == 7, r.stdout + r.stderr     # it went on with that Python (venv step)


def test_datasets_are_exactly_what_each_assignment_grades_on():
    for a in COURSE.assignments:
        want = set()
        for spec in COURSE.settings.get("capstone", {}).get("checkpoints", {}).values():
            if spec["task"] in {t.id for t in a.tasks}:
                want.add(spec["dataset"])
        want |= set(COURSE.settings.get("gradescope", {}).get("datasets", {}).get(a.id, []))
        assert set(grading_datasets(COURSE, a.id)) == want, a.id
    if "a2" in [a.id for a in COURSE.assignments]:
        assert grading_datasets(COURSE, "a2") == ["mnist"]      # its training test loads MNIST
    if "a1" in [a.id for a in COURSE.assignments]:
        assert grading_datasets(COURSE, "a1") == []


@pytest.mark.parametrize("table,words", [
    ({"datasets": {"a1": ["imagenet"]}}, ["datasets.a1", "'imagenet'", "'mnist'"]),
    ({"datasets": {"a1": "mnist"}}, ["datasets.a1", "must be a list"]),
    ({"datasets": ["mnist"]}, ["[gradescope] datasets", "table"]),
])
def test_a_bad_dataset_setting_is_one_clear_line(table, words):
    if "a1" not in [a.id for a in COURSE.assignments]:
        pytest.skip("this course has no a1")
    course = dataclasses.replace(COURSE, settings={**COURSE.settings, "gradescope": table})
    with pytest.raises(CourseError) as e:
        grading_datasets(course, "a1")
    assert "\n" not in str(e.value) and "course.toml" in str(e.value)
    for w in words:
        assert w in str(e.value)


def test_setup_fetches_where_run_autograder_reads():
    for a in COURSE.assignments:
        assert f'gradescope.data \\\n  -a {a.id} --data-dir "$SRC/datasets/data"' in setup_sh(a.id)
        assert 'VITLAB_DATA="$AUTOGRADER_ROOT/source/datasets/data"' in run_autograder(a.id)


@pytest.mark.slow
@pytest.mark.skipif(not HAS_MNIST, reason="no MNIST in the offline mirror")
def test_official_md5_checked_and_cache_rehashed(tmp_path):
    logs = []
    meta = fetch_and_verify(["mnist"], tmp_path / "data", MIRROR / "MNIST" / "raw", log=logs.append)[0]
    assert meta["official"] and meta["counts"] == {"train": 60000, "test": 10000}
    assert any("md5 verified" in line for line in logs) and any("cache sha256 OK" in line for line in logs)
    # a damaged cache is found on the next run (nothing is fetched again)
    labels = Path(meta["cache"]) / "test_labels.npy"
    arr = np.load(labels)
    arr[0] = (arr[0] + 1) % 10
    np.save(labels, arr)
    with pytest.raises(RuntimeError, match=r"^mnist: the cached arrays test_labels.npy .* do not match"):
        fetch_and_verify(["mnist"], tmp_path / "data", MIRROR / "MNIST" / "raw", log=logs.append)


@pytest.mark.skipif(not HAS_MNIST, reason="no MNIST in the offline mirror")
def test_a_file_that_is_not_the_official_one_stops_the_build(tmp_path):
    bad = tmp_path / "mirror"
    shutil.copytree(MIRROR / "MNIST" / "raw", bad)
    path = bad / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[-1] = (raw[-1] + 1) % 10            # one label changed: same name, not the official file
    path.chmod(0o644)
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(RuntimeError) as e:
        fetch_and_verify(["mnist"], tmp_path / "data", bad, log=lambda s: None)
    assert str(e.value).startswith("mnist: ") and "md5" in str(e.value)
    assert not (tmp_path / "data" / "mnist").exists()      # nothing half-written


@pytest.mark.slow
@pytest.mark.skipif(not HAS_MNIST, reason="no MNIST in the offline mirror")
def test_setup_data_step_runs_from_the_unpacked_zip(tmp_path):
    """setup.sh's own data lines, run in the unpacked zip (the mirror stands in for the
    download): a2 gets MNIST, verified, where run_autograder reads it, and nothing else."""
    if "a2" not in [a.id for a in COURSE.assignments]:
        pytest.skip("this course has no a2")
    root = unpack(gradescope.build("a2", tmp_path / "autograder.zip"), tmp_path / "autograder")
    text = (root / "source" / "setup.sh").read_text()
    lines = text[text.index('cd "$SRC"\n'):text.index("\n\n", text.index('cd "$SRC"\n'))]
    script = f'SRC={root / "source"}\nROOT={root}\n' + lines.replace('"$ROOT/venv/bin/python"', sys.executable)
    env = {"PATH": os.environ["PATH"], "VITLAB_MIRROR": str(MIRROR)}
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "a2 grades on mnist" in r.stdout and "md5 verified" in r.stdout and "cache sha256 OK" in r.stdout
    data = root / "source" / "datasets" / "data"
    assert sorted(p.name for p in data.iterdir() if not p.name.startswith(".")) == ["mnist"]
