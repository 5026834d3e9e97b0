"""GPU opt-in (`gpu = true` in assignment.toml): the sandbox gets the machine's NVIDIA device
nodes and a memory limit CUDA can live with; everything else about it stays the same.

No GPU is needed: these check the sandbox's command line and limits, not CUDA itself."""
from __future__ import annotations

import resource
from pathlib import Path

import pytest

from autograder.engine.plan import make_plan
from autograder.engine.sandbox import GiB, Limits, Sandbox, gpu_devices
from vitlab.course import load_course


def test_gpu_devices_lists_the_nvidia_nodes_only(tmp_path):
    for name in ("nvidia0", "nvidiactl", "nvidia-uvm", "null", "sda"):
        (tmp_path / name).touch()
    (tmp_path / "nvidia-caps").mkdir()   # a folder, not a device node
    assert gpu_devices(tmp_path) == tuple(str(tmp_path / n) for n in ("nvidia-uvm", "nvidia0", "nvidiactl"))
    assert gpu_devices(tmp_path / "missing") == ()


def test_without_devices_memory_is_bounded_by_address_space():
    limits = Limits(address_space=3 * GiB).rlimits()
    assert limits["RLIMIT_AS"] == 3 * GiB and "RLIMIT_DATA" not in limits


def test_with_devices_the_bound_moves_to_data():
    limits = Limits(address_space=3 * GiB, devices=("/dev/nvidia0",)).rlimits()
    assert limits["RLIMIT_AS"] == resource.RLIM_INFINITY
    assert limits["RLIMIT_DATA"] == 3 * GiB


def _argv(tmp_path: Path, devices: tuple[str, ...]) -> list[str]:
    box = Sandbox(tmp_path, Limits(devices=devices))
    argv, _ = box.command(tmp_path, 3)
    return argv


def test_sandbox_binds_exactly_the_given_devices(tmp_path, monkeypatch):
    monkeypatch.setattr("autograder.engine.sandbox.bwrap_path", lambda: "/usr/bin/bwrap")
    plain = _argv(tmp_path, ())
    assert "--dev-bind" not in plain and "/sys" not in plain
    gpu = _argv(tmp_path, ("/dev/nvidia0", "/dev/nvidiactl"))
    binds = [gpu[i + 1] for i, a in enumerate(gpu) if a == "--dev-bind"]
    assert binds == ["/dev/nvidia0", "/dev/nvidiactl"]
    # the devices are bound after the sandbox's own minimal /dev, or they would be hidden
    assert gpu.index("--dev-bind") > gpu.index("--dev")
    assert "--unshare-all" in gpu and "--clearenv" in gpu


def test_the_capstone_opts_in_and_nothing_else_does(tmp_path, monkeypatch):
    course = load_course()
    if "a4" not in [a.id for a in course.assignments]:
        pytest.skip("this course has no capstone")
    assert [a.id for a in course.assignments if a.extra.get("gpu")] == ["a4"]
    monkeypatch.setattr("autograder.engine.plan.gpu_devices", lambda: ("/dev/nvidia0",))
    assert make_plan("a4", tmp_path / "a4").limits.devices == ("/dev/nvidia0",)
