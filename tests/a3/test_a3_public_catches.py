"""The released public tests of a3 catch the common mistakes the hidden graders punish, and
say which: each bug below (from the mutation table) is planted in a copy of the reference,
and solutions/a3_torch_vit/tests/test_common_mistakes.py must fail naming the mistake."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from .a3_mutation_table import BUGS
from .conftest import a3_env
from .test_a3_graded_variants import A3
from tests.mutation_helpers import apply

CATCHES = {
    "Mlp skips drop1": "should call each of ['drop1', 'drop2'] once",
    "Block skips drop_path2": "should call each of ['drop_path1', 'drop_path2'] once",
    "GPSA skips attn_drop": "should call each of ['attn_drop', 'proj_drop'] once",
    "ViT skips pos_drop": "call pos_drop after the positions",
    "random_hflip ignores its generator": "drew from the global RNG",
    "crop offsets never reach 2p": "both ends included",
    "hooks never removed": "hooks on the model",
    "checkpoint written in place (not atomic)": "a crash mid-save damaged the checkpoint",
}


def _run_with(bug, folder):
    """The public tests of the bug's task, on a copy of the reference with the bug planted."""
    shutil.copytree(A3.source_dir, folder, ignore=shutil.ignore_patterns("*.ipynb", "__pycache__", "runs"))
    texts = {bug.file: (A3.source_dir / bug.file).read_text(encoding="utf-8")}
    apply(texts, bug)
    (folder / bug.file).write_text(texts[bug.file], encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "pytest", "tests/test_common_mistakes.py", "-q", "-p",
                           "no:cacheprovider", "-m", f"task{bug.task.replace('.', '_')}"],
                          cwd=folder, env={**a3_env(), "PYTHONPATH": str(folder)}, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
def test_public_tests_name_each_mistake(tmp_path):
    """One copy per bug, two pytest processes at a time (each imports torch once)."""
    from concurrent.futures import ThreadPoolExecutor
    bugs = [next(b for b in BUGS if b.name == name) for name in CATCHES]
    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = list(pool.map(lambda ib: _run_with(ib[1], tmp_path / f"bug{ib[0]:02d}"), enumerate(bugs)))
    missed = []
    for bug, proc in zip(bugs, procs):
        out = proc.stdout + proc.stderr
        if proc.returncode != 1 or CATCHES[bug.name] not in out:
            missed.append(f"{bug.name}: exit {proc.returncode}, {CATCHES[bug.name]!r} not said:\n{out[-1200:]}")
    assert not missed, "\n\n".join(missed)
