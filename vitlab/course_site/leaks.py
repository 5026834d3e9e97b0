"""The leak guard over the built docs site: no solution line and no hidden-grader line anywhere
in it (build/site/), course part or manual, HTML, search index or any other file.

The secrets are the feedback guard's (vitlab.release.leaks.feedback_secrets: every
solution-fence, hidden-test and hidden-grader line that no release shows anyway) and, stricter
than it, the solution lines a later folder ships only as given code (a2's copy of a1's
layers.py): the site is public from the first day of term, before those folders are handed
out. Lines are matched the same way: a whole line, whitespace normalised. A line is read as a person or a search engine reads it:
HTML without its tags and entities (a highlighted code line is one line again, whatever
spans it is cut into), each attribute value on its own line; every string of a JSON file
(the search index) read the same way; a `.gz` file decompressed; binary files skipped.
"""
from __future__ import annotations

import gzip
import json
from html.parser import HTMLParser
from pathlib import Path

from vitlab.course import Course
from vitlab.release import sources
from vitlab.release.leaks import (SHIPPED, Leak, _public_lines, _released_lines, feedback_secrets,
                                  secret_lines)

# tags that do not end a line of text: a highlighted code line is cut into spans
INLINE = {"a", "abbr", "b", "bdi", "bdo", "cite", "data", "del", "dfn", "em", "i", "ins", "kbd", "mark", "q", "s",
          "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr"}
_SECRETS: dict[Path, dict[str, tuple[int, str]]] = {}      # one computation per process (mkdocs serve rebuilds)


def _norm(line: str) -> str:
    return " ".join(line.split())


class _Text(HTMLParser):
    """(source line, text) for each line of text an HTML document shows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self._cur: list[str] = []
        self._start = 0

    def _end_line(self) -> None:
        if self._cur:
            self.lines.append((self._start, "".join(self._cur)))
        self._cur = []

    def handle_starttag(self, tag, attrs):
        if tag not in INLINE:
            self._end_line()
        self.lines += [(self.getpos()[0], value) for _, value in attrs if value]

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag not in INLINE:
            self._end_line()

    def handle_data(self, data):
        line = self.getpos()[0]
        for k, part in enumerate(data.split("\n")):
            if k:
                self._end_line()
                line += 1
            if not self._cur:
                self._start = line
            self._cur.append(part)

    def close(self):
        super().close()
        self._end_line()


def html_lines(text: str) -> list[tuple[int, str]]:
    parser = _Text()
    parser.feed(text)
    parser.close()
    return parser.lines


def json_lines(text: str) -> list[tuple[int, str]]:
    """Every line of every string in a JSON document (HTML in a string read as HTML), numbered in order."""
    stack, out = [json.loads(text)], []
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            out += [line for _, line in html_lines(value)] if "<" in value else value.splitlines()
        elif isinstance(value, dict):
            stack += reversed(list(value.values()))
        elif isinstance(value, list):
            stack += reversed(value)
    return list(enumerate(out, 1))


def file_lines(path: Path, data: bytes | None = None) -> list[tuple[int, str]]:
    """(line number, text) for each line `path` shows; [] for a binary file."""
    data = path.read_bytes() if data is None else data
    if path.suffix == ".gz":
        try:
            return file_lines(path.with_suffix(""), gzip.decompress(data))
        except (OSError, EOFError):
            return []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return []                       # fonts, images
    if path.suffix in (".html", ".htm", ".svg", ".xml"):
        return html_lines(text)
    if path.suffix in (".json", ".ipynb"):
        try:
            return json_lines(text)
        except ValueError:
            pass
    return list(enumerate(text.splitlines(), 1))


def secrets(course: Course) -> dict[str, tuple[int, str]]:
    """Normalised line -> (course position, origin): what no file of the site may show. Computed
    once per process and course (a `mkdocs serve` session keeps the set it started with)."""
    root = Path(course.root).resolve()
    if root not in _SECRETS:
        _SECRETS[root] = site_secrets(course)
    return _SECRETS[root]


def site_secrets(course: Course) -> dict[str, tuple[int, str]]:
    """feedback_secrets, plus every solution line that only given copies in assignments/ show."""
    found = dict(feedback_secrets(course))
    given = {(course.root / "assignments" / a.folder / f.rel).resolve()
             for a in course.assignments for f in sources.walk(a) if f.given}
    shown = _public_lines(course)
    for top in SHIPPED:
        for p in sorted((course.root / top).rglob("*")) if (course.root / top).is_dir() else []:
            if p.is_file() and p.suffix in (".py", ".ipynb", ".md", ".toml") and p.resolve() not in given:
                shown |= {_norm(line) for _, line in _released_lines(p)}
    for pos, a in enumerate(course.assignments):
        for f in sources.walk(a):
            if not f.given:
                for line, origin in secret_lines(f.path, f"solutions/{a.folder}/{f.rel}").items():
                    if line not in shown:
                        found.setdefault(line, (pos, origin))
    return found


def scan_site(course: Course, site: Path, known: dict[str, tuple[int, str]] | None = None) -> list[Leak]:
    """Every solution or hidden-grader line in any file under `site` (a built docs site)."""
    known = secrets(course) if known is None else known
    found = []
    for path in sorted(p for p in Path(site).rglob("*") if p.is_file()):
        for lineno, line in file_lines(path):
            if hit := known.get(_norm(line)):
                found.append(Leak(path, lineno, f"reveals {hit[1]}"))
    return found
