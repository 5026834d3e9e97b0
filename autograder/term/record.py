"""What `make grade` records for the term, beside each student's results (trusted side).

submitted.json: when the student submitted, from the submission's own time files
(times.py). timing.json: seconds each task took to grade, measured in the grading process.
results.json stays free of times, so grading the same submission twice gives the same file.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from autograder.term import times
from vitlab.io import atomic_write_json

TIMING = "timing.json"


def submission(out_dir: Path, student: str, staged: Path) -> None:
    try:
        times.record(out_dir, student, staged)
    except Exception as e:  # noqa: BLE001 - the term's record never stops grading
        print(f"grade: could not record {student}'s submission time: {type(e).__name__}", flush=True)


def runtime(out_dir: Path, student: str, seconds) -> None:
    if not isinstance(seconds, dict):
        return
    clean = {str(k)[:16]: round(float(v), 3) for k, v in seconds.items()
             if isinstance(v, (int, float)) and math.isfinite(v) and v >= 0}
    try:
        atomic_write_json(Path(out_dir) / student / TIMING, clean)
    except OSError as e:
        print(f"grade: could not record {student}'s task times: {e.strerror or e}", flush=True)


def runtimes(out_dir: Path, student: str) -> dict[str, float]:
    try:
        data = json.loads((Path(out_dir) / student / TIMING).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: float(v) for k, v in data.items() if isinstance(v, (int, float))} if isinstance(data, dict) else {}
