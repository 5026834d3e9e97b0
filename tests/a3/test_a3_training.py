"""The Assignment 3 training loop as a user meets it: the train.py and attention_viz.py
commands, what a run writes, Ctrl-C and --resume, and deterministic mode. Synthetic data."""
import json
import signal
import subprocess
import sys
import time

import pytest

from .conftest import A3, a3_env, run_a3

pytestmark = pytest.mark.slow

TOML = """
model = "convit"
synthetic = true
train_subset = 256
img_size = 28
patch_size = 7
embed_dim = 16
depth = 2
num_heads = 4
local_layers = 1
batch_size = 64
epochs = {epochs}
lr = 3e-3
crop_padding = 2
progress = false
threads = 1
out_dir = "{out}"
"""


def _cli(*args, timeout=180):
    return subprocess.run([sys.executable, *args], cwd=A3, env=a3_env(), capture_output=True, text=True,
                          timeout=timeout)


def test_train_command_writes_every_artefact(tmp_path):
    out = tmp_path / "run"
    (tmp_path / "cfg.toml").write_text(TOML.format(epochs=2, out=out))
    proc = _cli("train.py", "--config", str(tmp_path / "cfg.toml"), "--set", "eval_every=1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "test accuracy" in proc.stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == ["checkpoint.safetensors", "config.json", "curves.png", "metrics.csv", "metrics.json",
                     "train_state.safetensors"], names
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = (out / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,step,lr,train_loss") and len(rows) == 3
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_run"] == 2 and 0.0 <= metrics["test_acc"] <= 1.0 and metrics["params"] > 0
    assert metrics["train_images_per_s"] > 0 and metrics["config"]["model"] == "convit"
    viz = _cli("attention_viz.py", "--checkpoint", str(out / "checkpoint.safetensors"),
               "--out", str(tmp_path / "attn.png"), "--n", "2")
    assert viz.returncode == 0, viz.stderr[-2000:]
    assert "GPSA layer 0 gates:" in viz.stdout
    assert (tmp_path / "attn.png").read_bytes()[:4] == b"\x89PNG"


def test_train_command_rejects_a_bad_override(tmp_path):
    (tmp_path / "cfg.toml").write_text(TOML.format(epochs=1, out=tmp_path / "run"))
    proc = _cli("train.py", "--config", str(tmp_path / "cfg.toml"), "--set", "pach_size=4")
    assert proc.returncode == 2 and "pach_size" in proc.stderr and "patch_size" in proc.stderr
    assert not (tmp_path / "run").exists(), "nothing may be written before the config is valid"


def _epoch_of(out):
    from safetensors import safe_open
    with safe_open(str(out / "checkpoint.safetensors"), "np") as f:
        return json.loads(f.metadata()["extra"])["epoch"]


def test_ctrl_c_keeps_the_last_checkpoint_and_resume_continues(tmp_path):
    out = tmp_path / "run"
    (tmp_path / "cfg.toml").write_text(TOML.format(epochs=400, out=out))
    proc = subprocess.Popen([sys.executable, "train.py", "--config", str(tmp_path / "cfg.toml")], cwd=A3,
                            env=a3_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (out / "train_state.safetensors").exists():
            time.sleep(0.2)
        assert (out / "train_state.safetensors").exists(), "no checkpoint within 120 s"
        time.sleep(1.0)                          # land the signal somewhere in the middle of an epoch
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err and "--resume" in err
    leftovers = [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers, f"temporary files left behind: {leftovers}"
    done = _epoch_of(out)
    assert done >= 1
    state = run_a3(f"""
    import json
    from checkpoint import load_checkpoint, checkpoint_extra
    model, cfg = load_checkpoint({str(out / 'checkpoint.safetensors')!r})
    print(json.dumps({{"epoch": checkpoint_extra({str(out / 'checkpoint.safetensors')!r})["epoch"],
                       "model": type(model).__name__}}))
    """)
    assert state == {"epoch": done, "model": "ConViT"}
    resumed = _cli("train.py", "--config", str(tmp_path / "cfg.toml"), "--resume", "--set", "time_budget_s=1.5")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming after epoch {done}" in resumed.stderr
    history = json.loads((out / "metrics.json").read_text())["history"]
    epochs = [r["epoch"] for r in history]
    assert epochs == list(range(1, len(epochs) + 1)) and len(epochs) > done, epochs


def test_deterministic_mode_repeats_exactly(tmp_path):
    got = run_a3(f"""
    import json, torch
    import vitdata
    from config import Config
    from train import train
    from checkpoint import load_checkpoint
    data = (*vitdata.synthetic("mnist", "train", 128), *vitdata.synthetic("mnist", "test", 64))
    sums = []
    for run in ("a", "b"):
        cfg = Config(model="vit", embed_dim=16, depth=1, num_heads=2, epochs=2, batch_size=32, crop_padding=2,
                     mixup_alpha=0.2, drop_path_rate=0.1, deterministic=True, seed=3, progress=False,
                     out_dir={str(tmp_path)!r} + "/" + run)
        r = train(cfg, data=data)
        model, _ = load_checkpoint(r["checkpoint"])
        sums.append([r["train_loss"], sum(float(v.double().sum()) for v in model.state_dict().values())])
    print(json.dumps(sums))
    """)
    assert got[0] == got[1]
