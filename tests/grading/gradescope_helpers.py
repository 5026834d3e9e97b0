"""Gradescope's image and run, simulated in a folder (AUTOGRADER_ROOT) for the tests."""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
A4_BUILD = ROOT / "tests" / "a4" / "a4_build.py"


def a4_build():
    spec = importlib.util.spec_from_file_location("a4_build_for_gradescope", A4_BUILD)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def unpack(zip_path: Path, root: Path) -> Path:
    """Gradescope's image build: the zip's contents in root/source, run_autograder copied up."""
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(root / "source")
        for info in z.infolist():   # extractall drops modes; Gradescope keeps the executable bits
            mode = info.external_attr >> 16
            if mode & 0o111:
                os.chmod(root / "source" / info.filename, mode & 0o777)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "results").mkdir()
    return root


def tiny_data(data_dir: Path, names: list[str]) -> None:
    """What setup.sh fetches, as small caches: MNIST-shaped 2,400 train / 1,000 test (a2's
    training test draws 2,000 / 1,000), CIFAR-10-shaped 1,200 / 400 with 5 % labels flipped."""
    from vitdata import cache

    b = a4_build()
    sizes = {"mnist": (2400, 1000), "cifar10": (1200, 400)}
    for name in names:
        n_train, n_test = sizes[name]
        arrays = {"train": b.motif(name, n_train, seed=0), "test": b.motif(name, n_test, seed=1, flip=b.FLIPPED[name])}
        meta = {"name": name, "display_name": f"{name} (test motif arrays)", "source": "tests", "origin": "tests",
                "source_kind": "test-arrays", "official": False, "checksums": {},
                "counts": {s: len(arrays[s][1]) for s in arrays}, "shapes": {s: list(arrays[s][0].shape) for s in arrays}}
        cache.write(name, arrays, meta, data_dir)


def run_autograder(root: Path, python: Path | None = None) -> dict:
    """`bash run_autograder` in root; `python`: the image's venv (default: the kit's)."""
    env = {k: v for k, v in os.environ.items() if k not in ("VITLAB_MIRROR", "VITLAB_DATA", "PYTHONPATH")}
    env.update(AUTOGRADER_ROOT=str(root), PYTHON=str(python or sys.executable))
    r = subprocess.run(["bash", str(root / "run_autograder")], env=env, capture_output=True, text=True,
                       timeout=1800, cwd=root)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    (root / "results" / "stdout").write_text(r.stdout)   # what Gradescope keeps for staff
    return json.loads((root / "results" / "results.json").read_text())


def submit(root: Path, make, python: Path | None = None) -> dict:
    if (root / "submission").exists():
        shutil.rmtree(root / "submission")
    make(root / "submission")
    (root / "results" / "results.json").unlink(missing_ok=True)
    return run_autograder(root, python)
