"""The released public tests of a2 catch the common mistakes the hidden graders punish, and
say which: each bug below (from the mutation table) is planted in a copy of the reference,
and solutions/a2_numpy_vit/tests/test_common_mistakes.py must fail naming the mistake."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from a2_mutation_table import BUGS
from test_buggy_variants import A2
from tests.mutation_helpers import apply

CATCHES = {
    "block's dropout runs at evaluation (train=True passed on)": "dropout acted in evaluation mode",
    "model's dropout runs at evaluation": "dropout at eval",
    "ConViT stem padding hard-coded to 1": "padding kernel_size // 2",
    "float64 scale upcasts float32 attention": "turned float32 into float64",
    "vectorised version loops over the heads inline": "it loops over the heads",
    "crop offsets never reach 2p": "both ends included",
    "check_accuracy returns a count": "a fraction, not a count",
    "the same shuffle every epoch": "each epoch shuffles with seed (seed, epoch)",
    "augmentation silently ignored": "so crop_padding and flip take effect",
    "checkpoint loaded with allow_pickle=True": "allow_pickle=False",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CATCHES))
def test_public_tests_name_the_mistake(tmp_path, name):
    bug = next(b for b in BUGS if b.name == name)
    folder = tmp_path / "a2"
    shutil.copytree(A2.source_dir, folder, ignore=shutil.ignore_patterns("*.ipynb", "__pycache__"))
    texts = {bug.file: (A2.source_dir / bug.file).read_text(encoding="utf-8")}
    apply(texts, bug)
    (folder / bug.file).write_text(texts[bug.file], encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    proc = subprocess.run([sys.executable, "-m", "pytest", "tests/test_common_mistakes.py", "-q", "-p",
                           "no:cacheprovider", f"-m", f"task{bug.task.replace('.', '_')}"],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, f"{name}: the public tests did not fail:\n{out[-2000:]}"
    assert CATCHES[name] in out, f"{name}: the failure does not name the mistake:\n{out[-2000:]}"
