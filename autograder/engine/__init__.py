"""The grading engine: sandboxed workers, the pytest plugin, scoring and the gradebook.

Kept import-free: the sandboxed worker imports `autograder.engine.inside.wire` through it.
"""
