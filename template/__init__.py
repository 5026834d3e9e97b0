"""Cookiecutter templates that bake a new course (`course/`) or add a task (`exercise/`),
and the code their hooks run. `python -m template --help`; `make new-course`, `make new-exercise`.
"""
