"""The capstone notebook on a notebook server that has only Python, numpy, torch and
torchvision (as Colab and Kaggle do), plus the Jupyter kernel any notebook needs: from the
uploaded zip of the released folder, top to bottom on the CPU with the smoke recipe. It
unpacks the zip, installs the rest from the folder's requirements.txt, picks the CPU recipes
and ends with a submission.zip."""
from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.release.fresh_env import clean_env, fresh_venv, kernel_spec
from tests.release.student_copies import ROOT

A4 = ROOT / "assignments" / "a4_capstone"
PREINSTALLED = ["numpy", "torch", "torchvision", "ipykernel"]


def _zip_folder(folder: Path, archive: Path) -> None:
    """a4_capstone.zip as a student makes it: the folder itself at the top."""
    with zipfile.ZipFile(archive, "w") as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                z.write(p, Path(folder.name, p.relative_to(folder)).as_posix())


@pytest.mark.slow
def test_capstone_notebook_from_the_zip_on_a_server_with_only_torch(tmp_path, monkeypatch):
    python = fresh_venv(tmp_path / "env", PREINSTALLED)
    data = tmp_path / "data"        # an empty data cache: the dry run trains on the synthetic stand-in
    data.mkdir()
    env = {**{k: "" for k in ("PYTHONPATH", "VITLAB_MIRROR")}, "VITLAB_DATA": str(data),
           "VITLAB_CAPSTONE_FAST": "1", "MPLBACKEND": "Agg", "CUDA_VISIBLE_DEVICES": ""}
    kernel_spec(tmp_path / "jupyter", "notebook-server", python, env)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    work = tmp_path / "content"     # Colab's working folder, with the uploaded zip in it
    work.mkdir()
    _zip_folder(A4, work / "a4_capstone.zip")
    shutil.copyfile(A4 / "a4_capstone.ipynb", work / "a4_capstone.ipynb")   # uploaded on its own too
    probe = subprocess.run([str(python), "-c", "import safetensors"], capture_output=True, env=clean_env())
    assert probe.returncode != 0, "the fresh environment must start without the capstone's other packages"

    nb = nbformat.read(work / "a4_capstone.ipynb", as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="notebook-server", resources={"metadata": {"path": str(work)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors[0]
    text = "\n".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert f"unpacked {work / 'a4_capstone.zip'}" in text
    installed = text.split("installing:", 1)[1].splitlines()[0]
    for pin in ("safetensors==", "matplotlib==", "tqdm==", "pytest=="):
        assert pin in installed, installed
    for kept in ("torch==", "torchvision==", "numpy==", "nbgrader"):
        assert kept not in installed, installed
    assert "recipes: *_cpu.toml | fast dry run: True" in text
    assert "test accuracy" in text
    assert "submission.zip:" in text and "Upload" in text
    site = next((tmp_path / "env" / "venv" / "lib").glob("python3*/site-packages"))
    assert (site / "safetensors").is_dir(), "installed into the notebook's own environment"
