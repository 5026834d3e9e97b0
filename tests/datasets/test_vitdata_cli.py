"""`python -m vitdata fetch|info` and the `make datasets` rule."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import vitdata
from vitdata.__main__ import main
from vitdata_fixtures import cifar_arrays, imagefolder_members, write_mnist, write_tar

ROOT = Path(__file__).resolve().parents[2]


def test_fetch_all_then_info(tmp_path, small, capsys):
    mirror = tmp_path / "m"
    write_mnist(mirror / "MNIST" / "raw", small)
    write_tar(mirror / "cifar10-jpeg.tar.gz", imagefolder_members(cifar_arrays(), "JPEG"))
    assert main(["fetch", "all", "--mirror", str(mirror), "--data-dir", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert f"MNIST: importing from {mirror.resolve()}" in out
    assert "verified train-images-idx3-ubyte.gz: md5 of the IDX data matches the official" in out
    assert "CIFAR-10: importing from" in out and "cifar10-jpeg.tar.gz" in out
    assert "train: 20 images (20, 3, 32, 32) uint8" in out
    assert f"cache: {tmp_path / 'd' / 'cifar10'}" in out and "CIFAR-10 (JPEG copy) in" in out
    assert main(["info", "--data-dir", str(tmp_path / "d"), "--verify"]) == 0
    out = capsys.readouterr().out
    assert "CIFAR-10 (JPEG copy):" in out and "imagefolder-jpeg, not official" in out
    assert out.count("cache arrays: sha256 OK") == 2
    assert vitdata.display_name("mnist", data_dir=tmp_path / "d") == "MNIST"


def test_fetch_failure_exits_nonzero_with_the_reason(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["fetch", "mnist", "--mirror", str(tmp_path / "empty"), "--data-dir", str(tmp_path / "d")]) == 1
    err = capsys.readouterr().err
    assert "error: no MNIST in mirror" in err and "train-images-idx3-ubyte" in err
    assert main(["info", "mnist", "--data-dir", str(tmp_path / "d")]) == 1


def test_make_datasets_passes_the_mirror():
    """`make datasets` fetches the datasets course.toml lists (`all` when it lists both)."""
    from vitlab.course import DATASETS, course_datasets, load_course

    names = course_datasets(load_course(ROOT))
    which = "all" if set(names) == set(DATASETS) else names[0]
    dry = subprocess.run(["make", "-n", "datasets", "MIRROR=/some/mirror", "FORCE=1"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert f"PYTHONPATH=datasets .venv/bin/python -m vitdata fetch {which} --mirror /some/mirror --force" in dry
    dry = subprocess.run(["make", "-n", "datasets"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert f"-m vitdata fetch {which}" in dry and "--mirror" not in dry
    dry = subprocess.run(["make", "-n", "datasets", "DATASET=cifar10"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert "-m vitdata fetch cifar10" in dry


def test_package_is_self_contained(tmp_path, small):
    """A copy of vitdata alone (as shipped to students) runs its CLI and loaders."""
    shutil.copytree(ROOT / "datasets" / "vitdata", tmp_path / "student" / "vitdata",
                    ignore=shutil.ignore_patterns("__pycache__"))
    write_mnist(tmp_path / "m", small)  # md5s registered only in this process: expect a refusal
    env = {**os.environ, "PYTHONPATH": "", "HOME": str(tmp_path / "home")}
    env.pop("VITLAB_MIRROR", None)
    env.pop("VITLAB_DATA", None)
    run = subprocess.run([sys.executable, "-m", "vitdata", "fetch", "mnist", "--mirror", str(tmp_path / "m")],
                         cwd=tmp_path / "student", env=env, capture_output=True, text=True)
    assert run.returncode == 1, run.stderr
    assert "holds 10 images, expected 10000" in run.stderr and "make datasets" not in run.stderr
    assert str(tmp_path / "home" / ".cache" / "vitlab" / "datasets") in run.stdout
    code = "import vitdata; print(vitdata.synthetic('cifar10', n=3)[0].shape)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path / "student", env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "(3, 3, 32, 32)"
