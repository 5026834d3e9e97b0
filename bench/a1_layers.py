"""Assignment 1 reference layers against torch CPU: forward + backward time at ViT and
ConViT-stem sizes, float32, NumPy (its BLAS) and torch on the same number of threads.

    make bench NAME=a1_layers                       # 1 thread each; bench/results/a1_layers-<date>.json
    make bench NAME=a1_layers ARGS="--threads 2"    # both on 2 threads
    .venv/bin/python -m bench.a1_layers --repeats 3 --inner 1   # a quick look, nothing recorded

Goals: conv within 3x of torch, everything else within 2x. One thread is the default because
NumPy runs elementwise work (softmax, GELU, LayerNorm) on one core whatever BLAS may use,
while torch spreads it over every thread: one thread each compares the implementations.
OpenBLAS reads its thread count once, when NumPy is first imported, so the timing runs in a
child process started with OPENBLAS_NUM_THREADS set.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "a1_numpy_layers"


def time_pair(np_fn, torch_fn, repeats: int, inner: int) -> tuple[float, float]:
    """Median ms per call of each, timed in alternation so that load from other processes
    hits both alike."""
    np_fn(), torch_fn()  # warm-up: first-touch page faults, lazy initialisation
    t_np, t_torch = [], []
    for _ in range(repeats):
        for fn, times in ((np_fn, t_np), (torch_fn, t_torch)):
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            times.append((time.perf_counter() - start) / inner * 1e3)
    return float(np.median(t_np)), float(np.median(t_torch))


def cases(rng):
    """(key, label, goal ratio, numpy fwd+bwd closure, torch fwd+bwd closure) at benchmark sizes."""
    import torch
    import torch.nn.functional as F

    import conv
    import layers

    def arr(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    L, C = layers, conv

    def np_case(forward, backward, *inputs, **kw):
        def run():
            out, cache = forward(*inputs, **kw)
            backward(np.ones_like(out), cache)
        return run

    def torch_case(fn, *inputs):
        leaves = [torch.from_numpy(a.copy()).requires_grad_(True) for a in inputs]

        def run():
            for t in leaves:
                t.grad = None
            out = fn(*leaves)
            out.backward(torch.ones_like(out))
        return run

    x1, w1, b1 = arr(128, 1, 28, 28), arr(16, 1, 3, 3), arr(16)
    x2, w2, b2 = arr(128, 16, 14, 14), arr(32, 16, 3, 3), arr(32)
    p1, p2 = arr(128, 16, 28, 28), arr(128, 32, 14, 14)
    tok, w, b, g, beta = arr(128, 50, 64), arr(64, 64), arr(64), arr(64), arr(64)
    return [
        ("conv1", "conv 1->16 28x28 3x3 p1", 3.0, np_case(C.conv2d_forward, C.conv2d_backward, x1, w1, b1, padding=1),
         torch_case(lambda x, w, b: F.conv2d(x, w, b, padding=1), x1, w1, b1)),
        ("pool1", "maxpool 16x28x28 2x2", 2.0, np_case(C.maxpool2d_forward, C.maxpool2d_backward, p1),
         torch_case(lambda x: F.max_pool2d(x, 2), p1)),
        ("conv2", "conv 16->32 14x14 3x3 p1", 3.0, np_case(C.conv2d_forward, C.conv2d_backward, x2, w2, b2, padding=1),
         torch_case(lambda x, w, b: F.conv2d(x, w, b, padding=1), x2, w2, b2)),
        ("pool2", "maxpool 32x14x14 2x2", 2.0, np_case(C.maxpool2d_forward, C.maxpool2d_backward, p2),
         torch_case(lambda x: F.max_pool2d(x, 2), p2)),
        ("linear", "linear (128,50,64)->64", 2.0, np_case(L.linear_forward, L.linear_backward, tok, w, b),
         torch_case(F.linear, tok, np.ascontiguousarray(w.T), b)),
        ("gelu", "gelu (128,50,64)", 2.0, np_case(L.gelu_forward, L.gelu_backward, tok),
         torch_case(F.gelu, tok)),
        ("gelu_tanh", "gelu tanh (128,50,64)", 2.0, np_case(L.gelu_forward, L.gelu_backward, tok, approximate="tanh"),
         torch_case(lambda x: F.gelu(x, approximate="tanh"), tok)),
        ("softmax", "softmax (128,50,64)", 2.0, np_case(L.softmax_forward, L.softmax_backward, tok),
         torch_case(lambda x: torch.softmax(x, -1), tok)),
        ("layernorm", "layernorm (128,50,64)", 2.0, np_case(L.layernorm_forward, L.layernorm_backward, tok, g, beta),
         torch_case(lambda x, g, b: F.layer_norm(x, (64,), g, b), tok, g, beta)),
    ]


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="threads for NumPy's BLAS and for torch (default 1)")
    ap.add_argument("--repeats", type=int, default=15, help="timed repeats per case (median is reported)")
    ap.add_argument("--inner", type=int, default=3, help="forward+backward calls per repeat")
    ap.add_argument("--metrics-out", help=argparse.SUPPRESS)   # set for the child process
    return ap.parse_args(argv)


def main(argv=None) -> list[dict]:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.threads < 1:
        raise SystemExit(f"bench a1_layers: --threads must be >= 1, got {args.threads}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "metrics.json"
        env = {**os.environ, "OPENBLAS_NUM_THREADS": str(args.threads), "OMP_NUM_THREADS": str(args.threads)}
        cmd = [sys.executable, "-m", "bench.a1_layers", "--threads", str(args.threads), "--repeats",
               str(args.repeats), "--inner", str(args.inner), "--metrics-out", str(out)]
        subprocess.run(cmd, cwd=ROOT, env=env, check=True)
        return json.loads(out.read_text(encoding="utf-8"))


def measure(args) -> list[dict]:
    import torch
    threads = args.threads
    torch.set_num_threads(threads)
    sys.path.insert(0, str(SOLUTION))
    rng = np.random.default_rng(0)

    print(f"a1 reference layers vs torch {torch.__version__} CPU, float32, forward+backward, median of "
          f"{args.repeats} x {args.inner} calls; NumPy's BLAS and torch on {threads} thread(s)")
    header = f"{'layer':<26} {'numpy ms':>9} {'torch ms':>9} {'ratio':>6} {'goal':>5} {'ok':>3}"
    print(header + "\n" + "-" * len(header))
    metrics = []
    for key, name, goal, np_fn, torch_fn in cases(rng):
        t_np, t_torch = time_pair(np_fn, torch_fn, args.repeats, args.inner)
        ratio = t_np / t_torch
        ok = "yes" if ratio <= goal else "NO"
        print(f"{name:<26} {t_np:>9.2f} {t_torch:>9.2f} {ratio:>6.2f} {goal:>4.0f}x {ok:>3}")
        metrics += [
            {"name": f"{key}_numpy_ms", "value": round(t_np, 4), "unit": "ms", "threads": threads},
            {"name": f"{key}_torch_ms", "value": round(t_torch, 4), "unit": "ms", "threads": threads},
            {"name": f"{key}_ratio", "value": round(ratio, 3), "unit": "x", "goal": goal, "threads": threads},
        ]
    return metrics


if __name__ == "__main__":
    _args = parse(sys.argv[1:])
    if _args.metrics_out:   # the child: time, then hand the metrics back to the parent
        Path(_args.metrics_out).write_text(json.dumps(measure(_args)), encoding="utf-8")
    else:
        main()
