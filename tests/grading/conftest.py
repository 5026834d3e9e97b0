"""pytest set-up for the grading engine's tests (helpers live in grading_helpers.py)."""

# the fixture course's hidden graders are run by the engine, never collected directly
collect_ignore_glob = ["fixtures/*"]
