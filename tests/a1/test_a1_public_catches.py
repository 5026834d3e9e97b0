"""The public tests catch the common mistakes the hidden graders punish, before grading,
and their message names the mistake: each bug below, planted in the reference, makes the
released tests of its task fail with output that holds the given words."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from a1_mutation_table import BUGS
from test_a1_mutations import A1, MODULES
from tests.mutation_helpers import apply

# bug name -> words the failing public test's output must hold
COMMON = {
    "dx[:, :, p:-p] crop (empty at padding 0)": "check the crop",
    "forward ignores the stride": "stride",
    "col2im ignores the stride": "step by the stride",
    "float64 im2col buffer (float32 out becomes float64)": "float32",
    "float64 dx buffer": "float32",
    "stride taken as the kernel size": "stride",
    "column-major argmax cache": "row-major",
    "softmax without the max shift": "subtract the max",
    "cross-entropy without the max shift": "huge logits",
    "cross-entropy as log of an underflowed probability": "underflowed probability",
    "float64 one-hot target (float32 dlogits become float64)": "float32",
    "normal_cdf with a NumPy float64 constant (float32 becomes float64)": "float32",
    "db accumulated in float64": "float32",
    "mean taken in float64": "float32",
    "variance as E[x^2] - E[x]^2": "two passes",
    "float64 scale (float32 becomes float64)": "float32",
    "p == 1 divides by zero": "p_one",
    "a Generator is reseeded instead of used": "Generator",
    "float64 gradient for float32 x": "float32",
    "rel_error of the maxima, not elementwise": "elementwise",
    "relu backward overwrites dout in place (dx = dout; dx[x <= 0] = 0)": "in place",
    "softmax forward shifts x in place": "in place",
    "db summed over the first axis only (wrong for (N, T, D))": "every leading axis",
    "dgamma summed over axis 0 only (wrong for (N, T, D))": "every leading axis",
}


FILES = {"1.1": "test_linear", "1.2": "test_activations", "1.3": "test_softmax", "1.4": "test_layernorm",
         "1.5": "test_dropout", "1.6": "test_conv", "1.7": "test_maxpool", "1.8": "test_gradcheck"}


def _rounds() -> list[list]:
    """The common bugs, at most one per task in each round (tasks' public tests are independent)."""
    rounds: list[list] = []
    for bug in (b for b in BUGS if b.name in COMMON):
        free = next((r for r in rounds if bug.task not in {b.task for b in r}), None)
        if free is None:
            rounds.append(free := [])
        free.append(bug)
    return rounds


def _failures(report: Path) -> dict[str, str]:
    """Task -> the text of its failing public tests, from pytest's JUnit XML."""
    out: dict[str, str] = {}
    task_of = {f: t for t, f in FILES.items()}
    for case in ET.parse(report).getroot().iter("testcase"):
        bad = [e for e in case if e.tag in ("failure", "error")]
        if bad:
            task = task_of[case.get("classname", "").split(".")[-1]]
            out[task] = out.get(task, "") + "".join(f"{e.get('message', '')}\n{e.text or ''}" for e in bad)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(len(_rounds())))
def test_public_tests_name_the_mistake(tmp_path, round_):
    bugs = _rounds()[round_]
    texts = {m: (A1 / m).read_text(encoding="utf-8") for m in MODULES}
    for bug in bugs:
        apply(texts, bug)
    for m, text in texts.items():
        (tmp_path / m).write_text(text, encoding="utf-8")
    shutil.copytree(A1 / "tests", tmp_path / "tests")
    shutil.copy(A1 / "pytest.ini", tmp_path / "pytest.ini")
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--tb=short",
                    f"--junitxml={tmp_path / 'report.xml'}"], cwd=tmp_path, capture_output=True, text=True,
                   timeout=600, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    failed = _failures(tmp_path / "report.xml")
    for bug in bugs:
        assert bug.task in failed, f"the public tests of Task {bug.task} pass with the bug {bug.name!r}"
        assert COMMON[bug.name] in failed[bug.task], \
            f"{bug.name!r}: no public failure says {COMMON[bug.name]!r}:\n{failed[bug.task][-3000:]}"
    assert set(failed) == {b.task for b in bugs}, "a bug made another task's public tests fail"


def test_every_common_mistake_is_in_the_table():
    names = {b.name for b in BUGS}
    assert set(COMMON) <= names, set(COMMON) - names
