"""Getting the data in a released folder alone: `make datasets` exists wherever the code reads
data, spelled as in the kit, listed by `make help`, explained in the README; the messages a
student sees name it; and, typed as documented against a real mirror, it leaves data that loads."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.release.student_copies import ROOT, student_copy
from vitlab.course import load_course
from vitlab.release import generated

MIRROR = Path(os.environ.get("VITLAB_MIRROR") or ROOT.parent / "shared" / "datasets")
DATA_FOLDERS = [a for a in load_course().assignments if (ROOT / "assignments" / a.folder / "vitdata").is_dir()]
LOAD = "import vitdata; x, y = vitdata.load_mnist('test'); print(x.shape, x.dtype, len(y))"


def _student_env(home: Path) -> dict[str, str]:
    """A student's shell: nothing of the kit's paths or mirror, a home of its own (the cache)."""
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "VITLAB_MIRROR", "VITLAB_DATA", "MAKEFLAGS", "MAKELEVEL")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["HOME"] = str(home)
    return env


def _folder_with_venv(tmp_path: Path, key: str) -> Path:
    """The released folder copied alone, its .venv the kit's (as `make setup` would have made)."""
    folder = student_copy(tmp_path / "student" / key, key, done=set())
    (folder / ".venv").symlink_to(ROOT / ".venv", target_is_directory=True)
    return folder


def test_the_release_gives_make_datasets_to_every_folder_that_ships_vitdata():
    assert DATA_FOLDERS
    assert {a.folder for a in load_course().assignments if generated.needs_data(a)} == {a.folder for a in DATA_FOLDERS}


@pytest.mark.parametrize("a", DATA_FOLDERS, ids=lambda a: a.id)
def test_make_help_and_the_readme_name_make_datasets(a, tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    folder = ROOT / "assignments" / a.folder
    out = subprocess.run(["make", "-s", "help"], cwd=folder, capture_output=True, text=True, check=True).stdout
    assert "make datasets [DATASET=mnist|cifar10|all] [MIRROR=<dir|.tar.gz>]" in out
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "## Get the data" in readme and "MIRROR=" in readme and "VITLAB_MIRROR" in readme
    dry = subprocess.run(["make", "-n", "datasets", "DATASET=mnist", "MIRROR=/m"], cwd=folder,
                         capture_output=True, text=True, env=_student_env(tmp_path))
    assert dry.returncode == 0 and "-m vitdata fetch mnist --mirror /m" in dry.stdout, dry.stdout + dry.stderr


@pytest.mark.skipif(not (MIRROR / "MNIST").is_dir(), reason=f"no MNIST mirror at {MIRROR} (set VITLAB_MIRROR)")
def test_make_datasets_as_typed_in_a_lone_folder_then_the_data_loads(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    folder = _folder_with_venv(tmp_path, DATA_FOLDERS[0].id)    # a2 in the kit; a baked course's first
    env = _student_env(tmp_path / "home")
    python = str(folder / ".venv" / "bin" / "python")
    missing = subprocess.run([python, "-c", LOAD], cwd=folder, env=env, capture_output=True, text=True)
    assert missing.returncode != 0
    assert "`make datasets DATASET=mnist` (online)" in missing.stderr and "in this folder" in missing.stderr, missing.stderr
    typed = subprocess.run(f"make datasets DATASET=mnist MIRROR={MIRROR}", shell=True, cwd=folder, env=env,
                           capture_output=True, text=True, timeout=600)
    assert typed.returncode == 0, typed.stdout[-2000:] + typed.stderr[-2000:]
    assert ".venv/bin/python -m vitdata fetch mnist" in typed.stdout
    loaded = subprocess.run([python, "-c", LOAD], cwd=folder, env=env, capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split() == ["(10000,", "1,", "28,", "28)", "uint8", "10000"]
    assert (tmp_path / "home" / ".cache" / "vitlab" / "datasets" / "mnist").is_dir()


def test_outside_a_data_folder_the_message_names_only_the_python_command(tmp_path, monkeypatch):
    import vitdata

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VITLAB_MIRROR", raising=False)   # a mirror would be imported, not missed
    with pytest.raises(vitdata.DatasetMissingError) as err:
        vitdata.load_mnist("train", data_dir=tmp_path / "data")
    assert "make datasets" not in str(err.value) and "python -m vitdata fetch mnist" in str(err.value)
    (tmp_path / "Makefile").write_text((ROOT / "assignments" / DATA_FOLDERS[0].folder / "Makefile").read_text())
    with pytest.raises(vitdata.DatasetMissingError, match=r"`make datasets DATASET=mnist` \(online\).* in this folder"):
        vitdata.load_mnist("train", data_dir=tmp_path / "data")
