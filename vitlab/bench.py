"""`make bench`: run the benchmarks in bench/ and record their results.

A benchmark is `bench/<name>.py` with `main() -> list[dict]`; each dict is one metric
(`name`, `value`, `unit`, plus any labels such as `model` or `dataset`). `main` prints its
own table; `record` adds the context that makes numbers comparable over time and across
machines and writes `bench/results/<name>-<UTC date>.json`.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import subprocess
import sys
from pathlib import Path

from vitlab.io import atomic_write_json

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"


def hardware() -> dict:
    info = {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version()}
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
        info["cpu"] = model
    except (OSError, StopIteration):
        info["cpu"] = platform.processor() or "unknown"
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        info["torch"] = None
    return info


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def record(name: str, metrics: list[dict], out_dir: Path = BENCH_DIR / "results") -> Path:
    """Write one benchmark run as JSON and return its path."""
    for m in metrics:
        missing = {"name", "value", "unit"} - m.keys()
        if missing:
            raise ValueError(f"benchmark {name}: metric {m} lacks {', '.join(sorted(missing))}")
    now = dt.datetime.now(dt.timezone.utc)
    payload = {
        "benchmark": name,
        "date": now.isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "hardware": hardware(),
        "metrics": metrics,
    }
    path = out_dir / f"{name}-{now:%Y%m%dT%H%M%SZ}.json"
    atomic_write_json(path, payload)
    return path


# Scripts in bench/ that are not benchmarks (no main() -> metrics): make bench-gpu, make calibrate.
NOT_BENCHMARKS = {"gpu_run", "calibrate"}


def available() -> list[str]:
    return sorted(p.stem for p in BENCH_DIR.glob("*.py") if not p.name.startswith("_") and p.stem not in NOT_BENCHMARKS)


def run(name: str, argv: list[str]) -> Path:
    if name not in available():
        raise SystemExit(f"bench: no benchmark {name!r} (available: {', '.join(available())})")
    module = importlib.import_module(f"bench.{name}")
    sys.argv = [f"bench/{name}.py", *argv]
    metrics = module.main()
    path = record(name, metrics)
    print(f"bench: {name}: {len(metrics)} metrics recorded in {path.relative_to(ROOT)}")
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vitlab.bench", description="Run benchmarks (all, or one by name).")
    p.add_argument("name", nargs="?", help=f"one of: {', '.join(available())}")
    p.add_argument("args", nargs=argparse.REMAINDER, help="passed to the benchmark")
    args = p.parse_args(argv)
    for name in [args.name] if args.name else available():
        print(f"== bench {name}", flush=True)
        run(name, args.args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
