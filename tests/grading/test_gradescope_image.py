"""The Gradescope image installs the zip's own requirements.txt: what grading the assignment
imports, pinned from the kit's requirements.lock, never the whole lock. The deep test builds
a1's zip, installs its requirements.txt alone into a fresh venv and grades the reference there."""
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from autograder.engine import examples
from autograder.engine.gradescope import build as gradescope
from autograder.engine.gradescope import requirements as gr
from autograder.engine.gradescope.scripts import TORCH_CPU_INDEX
from gradescope_helpers import ROOT, submit, unpack
from vitlab.course import load_course
from vitlab.release.generated import _key, _pins

COURSE = load_course()
IDS = [a.id for a in COURSE.assignments]
KIT_ONLY = {"mkdocs", "mkdocs-material", "cookiecutter", "copydetect", "pytest-xdist"}   # never graded with
CUDA = re.compile(r"^(nvidia-.*|cuda-.*|triton)$")


@pytest.fixture(scope="module")
def zips(tmp_path_factory):
    out = tmp_path_factory.mktemp("gradescope-image")
    return {aid: gradescope.build(aid, out / aid / "autograder.zip") for aid in IDS}


def listed(zip_path) -> dict[str, str]:
    return dict(gr.packages(zipfile.ZipFile(zip_path).read(gr.FILE).decode()))


@pytest.mark.parametrize("aid", IDS)
def test_the_image_installs_its_own_pinned_list_not_the_lock(zips, aid):
    a = COURSE.assignment(aid)
    z = zipfile.ZipFile(zips[aid])
    setup = z.read("setup.sh").decode()
    assert "requirements.lock" not in z.namelist()
    assert "requirements.lock" not in setup.replace("pinned from the kit's requirements.lock", "")
    assert 'pip install -q -r "$SRC/requirements.txt"' in setup
    pkgs = listed(zips[aid])
    pins = _pins(ROOT / "requirements.lock")
    for name, line in pkgs.items():   # pinned from the lock (setuptools: the bootstrap torch asks for)
        assert line == pins.get(name) or (name == "setuptools" and name not in pins), line
    assert not KIT_ONLY & set(pkgs), KIT_ONLY & set(pkgs)
    assert {"numpy", "pytest", "hypothesis", "rich"} <= set(pkgs)
    # notebook grading only where a task is a notebook
    assert ("nbformat" in pkgs and "nbgrader" in pkgs) == gr.has_notebook_tasks(a)
    # CUDA only where assignment.toml says gpu = true; elsewhere torch is the CPU build, from its index
    cuda = {n for n in pkgs if CUDA.match(n)}
    if a.extra.get("gpu"):
        assert "torch" in pkgs and "nvidia-cudnn-cu13" in cuda and TORCH_CPU_INDEX not in setup
    else:
        assert not cuda, cuda
        assert (TORCH_CPU_INDEX in setup) == ("torch" in pkgs)
        if "torch" in pkgs:
            cpu_line = next(s for s in setup.splitlines() if "--index-url" in s)
            assert "--no-deps" in cpu_line and f"'{pkgs['torch']}'" in cpu_line
            assert cpu_line.index("--index-url") < setup.index('-r "$SRC/requirements.txt"')
    # everything the student's code needs (requirements.in) is there
    for name in (a.source_dir / "requirements.in").read_text().split("\n"):
        name = name.split("#")[0].strip()
        if name and (_key(name) not in gr.NOTEBOOK_TOOLS or gr.has_notebook_tasks(a)):
            assert _key(name) in pkgs, name


def test_each_image_gets_what_its_graders_import():
    """a1's and a2's graders check against torch on the trusted side (the CPU build); a3 needs
    torch and safetensors; only the capstone (gpu = true) gets CUDA. a1 has no notebook task."""
    sets = {aid: dict(gr.packages(gr.requirements(COURSE.assignment(aid)))) for aid in IDS}
    if "a1" in sets:
        assert "torch" in sets["a1"] and "nbgrader" not in sets["a1"] and "matplotlib" not in sets["a1"]
        assert "torch" in gr.grader_modules(COURSE.assignment("a1"))
    if "a3" in sets:
        assert {"torch", "torchvision", "safetensors", "nbgrader"} <= set(sets["a3"])
    for aid, pkgs in sets.items():
        assert any(CUDA.match(n) for n in pkgs) == bool(COURSE.assignment(aid).extra.get("gpu")), aid


@pytest.mark.slow
def test_a1_grades_in_a_fresh_venv_with_only_its_requirements(zips, tmp_path):
    """setup.sh's install, in a fresh venv: the CPU index is not reachable here, so torch comes
    from PyPI as its CUDA build and pulls its CUDA packages; nothing else beyond the zip's list
    may arrive. Then the zip grades the a1 reference (full marks) and the release (zero) with it."""
    if "a1" not in IDS:
        pytest.skip("this course has no a1")
    a = COURSE.assignment("a1")
    root = unpack(zips["a1"], tmp_path / "autograder")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    env = {**os.environ, "PIP_NO_CACHE_DIR": "1"}
    env.pop("PYTHONPATH", None)
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "-r", str(root / "source" / gr.FILE)],
                       env=env, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    freeze = subprocess.run([str(py), "-m", "pip", "list", "--format=freeze"], env=env, capture_output=True,
                            text=True, check=True).stdout
    installed = {_key(line.split("==")[0]) for line in freeze.split()} - {"pip", "setuptools", "wheel"}
    want = set(listed(zips["a1"])) - {"setuptools"}
    assert not want - installed, want - installed
    assert {n for n in installed - want if not CUDA.match(n)} == set()
    probe = subprocess.run([str(py), "-c", "import jupyterlab"], capture_output=True)
    assert probe.returncode != 0      # not the kit's venv: what the kit has and a1 does not, is absent

    try:
        ref = submit(root, lambda d: examples.write_base(a, d, "reference"), python=py)
        bad = [(t["number"], t["extra_data"]["status"], t["output"][:300]) for t in ref["tests"]
               if t["score"] != t["max_score"]]
        assert not bad and ref["score"] == pytest.approx(a.points), bad
        rel = submit(root, lambda d: examples.write_base(a, d, "release"), python=py)
        assert rel["score"] == 0 and {t["extra_data"]["status"] for t in rel["tests"]} == {"not_implemented"}
    finally:
        shutil.rmtree(venv, ignore_errors=True)
