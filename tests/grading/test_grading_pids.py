"""The pids cap (autograder/engine/pids.py): a sandbox's processes and threads are counted
from its first instruction, and the cgroup is gone once the sandbox has ended."""
import subprocess
import sys

import pytest

from autograder.engine import pids


def test_a_capped_command_cannot_start_more_processes_than_its_cap():
    if pids.available() is not None:
        pytest.skip(pids.available())
    cap = pids.PidsCap(8)
    try:
        script = ("import os, signal, time\n"
                  "kids = []\n"
                  "for _ in range(40):\n"
                  "    try:\n"
                  "        pid = os.fork()\n"
                  "    except OSError:\n"
                  "        break\n"
                  "    if pid == 0:\n"
                  "        time.sleep(30)\n"
                  "        os._exit(0)\n"
                  "    kids.append(pid)\n"
                  "print(len(kids))\n"
                  "for pid in kids:\n"
                  "    os.kill(pid, signal.SIGKILL)\n"
                  "    os.waitpid(pid, 0)\n")
        out = subprocess.run(cap.wrap([sys.executable, "-c", script]), capture_output=True, text=True, timeout=60)
        assert 0 < int(out.stdout.split()[-1]) < 8, out
        assert (cap.path / "pids.max").read_text().strip() == "8"
    finally:
        path = cap.path
        cap.close()
    assert not path.exists()


def test_no_cap_leaves_the_command_as_it_is():
    cap = pids.PidsCap(0)
    assert cap.path is None and cap.wrap(["true"]) == ["true"]
    cap.close()
