"""The committed assignments/ is exactly what `make release` makes, and leaks nothing."""
from vitlab.release.__main__ import main as release_main
from vitlab.release.leaks import scan


def test_assignments_in_sync_with_solutions(capsys):
    code = release_main(["--check"])
    assert code == 0, capsys.readouterr().out


def test_leak_guard_on_the_real_release(course):
    leaks = scan(course, course.root / "assignments")
    assert not leaks, "solutions or hidden tests leaked into assignments/:\n" + "\n".join(map(str, leaks))
