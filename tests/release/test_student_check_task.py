"""`make check TASK=X.Y` in a released folder names an unknown task and lists the real ones."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_unknown_task_is_one_line_naming_it_and_the_tasks():
    folder = ROOT / "assignments" / "a1_numpy_layers"
    if not folder.is_dir():
        import pytest
        pytest.skip("this course has no a1_numpy_layers")
    proc = subprocess.run(["make", "--no-print-directory", "check", "TASK=1.9", f"PYTHON={sys.executable}"],
                          cwd=folder, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "no task '1.9' in this assignment" in proc.stdout
    assert "1.1 1.2" in proc.stdout and "Unknown marker" not in proc.stdout + proc.stderr
