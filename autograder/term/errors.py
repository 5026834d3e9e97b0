"""One error type for everything the instructor's files can get wrong."""
from __future__ import annotations


class TermError(ValueError):
    """A bad value in course.toml, a roster, extension, override or times file, or on the
    command line. The message names the file, line and value; nothing has been written."""
