"""Training on a CPU with a3's train.py (the capstone links the same file): `threads` (default
1) is applied before the model is built, and off a terminal a progress line comes every
`log_every` steps, flushed, on stdout from train() and on stderr from the command line.
Synthetic data; each run is stopped right after the step that follows its first line."""
import json
import subprocess
import sys
import textwrap

import pytest

from .conftest import A3, ROOT, a3_env, run_a3

CHILD = """
import json, os, sys
import torch
import train
from config import load_config

mode, out_dir, probe = sys.argv[1:4]
calls = []
step = train.train_step
def stop_after_the_line(*args, **kwargs):
    calls.append(1)
    if len(calls) == 4:             # step 3 is done: its line must already be in the file
        with open(probe, "w") as f:
            json.dump({"threads": torch.get_num_threads()}, f)
        os._exit(0)                 # ends without flushing anything still buffered
    return step(*args, **kwargs)
train.train_step = stop_after_the_line
sets = {"log_every": 3, "out_dir": out_dir}
if mode == "train":
    train.train(load_config("configs/smoke.toml", sets))
else:
    train.main(["--config", "configs/smoke.toml", "--set", "threads=2"]
               + [a for k, v in sets.items() for a in ("--set", f"{k}={v}")])
"""


def _run(mode, tmp_path):
    out, err, probe = tmp_path / "stdout.txt", tmp_path / "stderr.txt", tmp_path / "probe.json"
    env = a3_env()
    for key in ("PYTHONUNBUFFERED", "OMP_NUM_THREADS"):     # a student's shell; torch's default is every core
        env.pop(key, None)
    with open(out, "w") as fo, open(err, "w") as fe:
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(CHILD), mode, str(tmp_path / "run"), str(probe)],
                              cwd=A3, env=env, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL, timeout=120)
    assert proc.returncode == 0, err.read_text()[-3000:]
    return out.read_text(), err.read_text(), json.loads(probe.read_text())


def _step_lines(text):
    return [line for line in text.splitlines() if " step " in line]


def test_train_applies_threads_and_prints_progress_to_a_log_file(tmp_path):
    out, err, probe = _run("train", tmp_path)
    assert probe["threads"] == 1, "threads defaults to 1 and is applied before training"
    lines = _step_lines(out)
    assert len(lines) == 1 and lines[0].startswith("epoch 1/2 step 3/8: loss "), out
    assert "images/s" in lines[0] and "lr " in lines[0]
    assert "%|" not in err and "\r" not in err, f"no progress bar off a terminal: {err!r}"


def test_the_command_line_prints_progress_on_stderr(tmp_path):
    out, err, probe = _run("cli", tmp_path)
    assert probe["threads"] == 2, "--set threads=2 reaches torch.set_num_threads"
    assert _step_lines(out) == [] and "%|" not in err
    lines = _step_lines(err)
    assert len(lines) == 1 and lines[0].startswith("epoch 1/2 step 3/8: loss "), err


def test_cpu_recipes_use_one_thread():
    got = run_a3(f"""
        import json
        from pathlib import Path
        from config import Config, load_config
        recipes = ["configs/mnist_vit.toml"] + sorted(str(p) for p in Path({str(ROOT / "solutions" / "a4_capstone" / "configs")!r}).glob("*_cpu.toml"))
        out = {{Path(r).stem: [load_config(r).threads, load_config(r).log_every] for r in recipes}}
        out["default"] = [Config().threads, Config().log_every]
        print(json.dumps(out))
    """)
    assert got.pop("default") == [1, 100]
    assert len(got) == 5 and all(threads == 1 for threads, _ in got.values()), got
    assert got["vit_cifar10_cpu"][1] == got["convit_cifar10_cpu"][1] == 25
