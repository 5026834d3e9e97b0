"""One `student` for every grader: a .py task's calls go to its sandboxed worker, a notebook
task's to its kernel, through the same Student (engine/student.py), so a check reads the
same whichever kind of task it grades, and a handle is checked against where it came from."""
import pytest

from autograder.engine.inside.wire import Handle
from autograder.engine.notebooks import plugin as nbplugin
from autograder.engine.notebooks.kernel_host import CallError
from autograder.engine.student import Student


class Kernel:
    pass


class Session:
    """A notebook session's calls, recorded."""

    def __init__(self):
        self.the_kernel, self.calls = Kernel(), []

    def kernel(self, task, name):
        return self.the_kernel

    def call(self, task, op, target, args, kwargs):
        self.calls.append((task, op, target, args, kwargs))
        return "ok"


def test_the_notebook_fixture_is_the_engine_student():
    assert nbplugin.Student is Student and nbplugin.student.__wrapped__.__annotations__["return"] in ("Student", Student)


def test_calls_reach_the_kernel_as_the_worker_gets_them():
    session = Session()
    student = Student(nbplugin.KernelChannel(session, "2.10"))
    assert student.task == "2.10"
    assert student.call("vit_num_params", 1, dim=2) == "ok"
    h = Handle(7, "ViT", origin=id(session.the_kernel))
    student.call(h, "forward", 3)
    student.getattr(h, "params")
    assert session.calls == [
        ("2.10", "call", "vit_num_params", (1,), {"dim": 2}),
        ("2.10", "call", {"handle": 7, "attr": "forward", "type": "ViT"}, (3,), {}),
        ("2.10", "getattr", {"handle": 7, "attr": "params", "type": "ViT"}, (), {})]


def test_a_handle_from_another_kernel_is_refused():
    session = Session()
    student = Student(nbplugin.KernelChannel(session, "2.10"))
    with pytest.raises(CallError, match="came from another kernel"):
        student.call(Handle(7, "ViT", origin=id(object())), "forward")
    assert not session.calls
