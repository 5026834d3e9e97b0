"""Grading throughput: N copies of the Assignment 1 reference, graded with 1 and 2 workers.

    make bench NAME=grading                       # 100 copies, pinned to 2 cores
    make bench NAME=grading ARGS="--copies 10"    # a quick check
    make bench NAME=grading ARGS="--assignment a2 --workers 2"   # one pass only

Reports seconds per submission for each worker count, the speed-up from 1 to 2 workers
(goal >= 1.8x) and the total wall time of the 2-worker run including start-up (goal:
under 3 minutes for 100 copies). Every copy must get full marks, or the run fails.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from autograder.engine import examples
from autograder.engine.grade import grade_all
from autograder.engine.plan import make_plan
from vitlab.course import load_course

GOAL_FOR = "a1_numpy_layers"   # the 3-minute goal is for 100 copies of a1


def _cpu_s() -> float:
    """CPU seconds of this process and of the forkserver's children (the per-student
    trusted processes). The zygote is its sandbox's init (bwrap --as-pid-1), so bubblewrap
    reaps it and its workers, and their CPU time is in the trusted processes' children's
    time already. Unlike wall time, this barely moves when others share the machine."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    from multiprocessing import forkserver
    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    if pid:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    return total


def _copies(a, dest: Path, n: int) -> Path:
    ref = dest / "_reference"
    examples.write_base(a, ref, "reference")
    subs = dest / "subs"
    for i in range(n):
        shutil.copytree(ref, subs / f"student{i:03d}")
    return subs


def _run(plan, subs: Path, out: Path, workers: int) -> dict:
    cpu0, t0 = _cpu_s(), time.perf_counter()
    summary = grade_all(plan.assignment.folder, subs, out, workers=workers, force=True, plan=plan)
    wall, cpu = time.perf_counter() - t0, _cpu_s() - cpu0
    bad = [r["extra_data"]["student"] for r in summary.results if r["score"] != plan.assignment.points]
    if bad:
        raise SystemExit(f"bench grading: {len(bad)} copies of the reference lost points, e.g. {bad[0]}; "
                         f"see {out / bad[0] / 'feedback.md'}")
    return {"wall": wall, "cpu": cpu, "n": len(summary.results)}


def main() -> list[dict]:
    p = argparse.ArgumentParser(prog="bench/grading.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--copies", type=int, default=100)
    p.add_argument("--cores", type=int, default=2, help="pin the benchmark to this many CPUs")
    p.add_argument("--assignment", default="a1")
    p.add_argument("--workers", default="1,2", choices=("1,2", "1", "2"),
                   help="the passes to run (the speed-up needs both)")
    args = p.parse_args(sys.argv[1:])
    cpus = sorted(os.sched_getaffinity(0))[: args.cores]
    os.sched_setaffinity(0, cpus)
    a = load_course().assignment(args.assignment)
    with tempfile.TemporaryDirectory(prefix="vitlab-bench-grading-") as tmp:
        tmp = Path(tmp)
        subs = _copies(a, tmp, args.copies)
        t0 = time.perf_counter()
        plan = make_plan(a.folder, tmp / "plan")
        warm_subs = tmp / "warm"
        shutil.copytree(subs / "student000", warm_subs / "warmup")
        _run(plan, warm_subs, tmp / "out-warm", 1)            # starts the forkserver once
        startup = time.perf_counter() - t0
        passes = {w: _run(plan, subs, tmp / f"out-{w}", w) for w in map(int, args.workers.split(","))}
    return _report(a.folder, args.copies, len(cpus), startup, passes)


def _report(folder: str, n: int, cores: int, startup: float, passes: dict[int, dict]) -> list[dict]:
    labels = {"assignment": folder, "copies": n, "cores": cores,
              "load_average": round(os.getloadavg()[0], 2)}   # others' work skews wall times
    speedup = passes[1]["wall"] / passes[2]["wall"] if len(passes) == 2 else None
    print(f"{n} copies of the {folder} reference on {cores} cores "
          f"(start-up: plan + forkserver + 1 warm-up submission {startup:.1f} s)")
    print(f"  {'workers':>7}  {'wall s':>8}  {'s / submission':>14}  {'CPU s / submission':>18}  {'speed-up':>8}")
    metrics = []
    for w, r in passes.items():
        up = "1.00x" if w == 1 else (f"{speedup:.2f}x" if speedup else "")
        print(f"  {w:>7}  {r['wall']:>8.1f}  {r['wall'] / n:>14.2f}  {r['cpu'] / n:>18.2f}  {up:>8}")
        metrics.append({"name": "seconds_per_submission", "value": round(r["wall"] / n, 3), "unit": "s",
                        "workers": w, **labels})
        metrics.append({"name": "cpu_seconds_per_submission", "value": round(r["cpu"] / n, 3), "unit": "s",
                        "workers": w, **labels})
    print(f"load average during the run: {os.getloadavg()[0]:.1f} (wall times are only meaningful near 0)")
    if 2 in passes:
        total = startup + passes[2]["wall"]
        goal = f" ({'within' if total < 180 else 'over'} the 3-minute goal)" if folder == GOAL_FOR else ""
        print(f"total wall time with 2 workers, start-up included: {total:.1f} s{goal}")
        metrics.append({"name": "total_wall_2_workers", "value": round(total, 1), "unit": "s", **labels})
    if speedup:
        print(f"speed-up {speedup:.2f}x ({'meets' if speedup >= 1.8 else 'misses'} the 1.8x goal)")
        metrics.append({"name": "speedup_1_to_2_workers", "value": round(speedup, 3), "unit": "x", **labels})
    return metrics


if __name__ == "__main__":
    main()
