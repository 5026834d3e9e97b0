"""Small edits to TOML files as text, so their comments and layout survive.

A file is cut into sections at each table header (`[a.b]` or `[[tasks]]`); the comment
lines directly above a header belong to its section. Every edit is checked by parsing the
result with tomllib.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

from template.options import TemplateError

HEADER = re.compile(r"^\s*(?P<open>\[\[?)\s*(?P<name>[A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$")
COMMENT = re.compile(r"^\s*#")


@dataclass
class Section:
    name: str                # "" for the top of the file; "tasks" for each [[tasks]]
    array: bool              # [[name]]
    lines: list[str]         # with line ends; leading comments included

    def get(self, key: str) -> str | None:
        for line in self.lines:
            if m := _assignment(key).match(line):
                return m["value"]
        return None


def _assignment(key: str) -> re.Pattern:
    return re.compile(rf"^(?P<lead>\s*{re.escape(key)}\s*=\s*)(?P<value>[^#\n]*?)(?P<tail>\s*(#.*)?)(?P<end>\n?)$")


def split(text: str) -> list[Section]:
    sections = [Section("", False, [])]
    for line in text.splitlines(keepends=True):
        if m := HEADER.match(line):
            current = sections[-1].lines
            n = 0                                    # comments directly above move down with the header
            while n < len(current) and COMMENT.match(current[len(current) - 1 - n]):
                n += 1
            lead = current[len(current) - n:] if n else []
            del current[len(current) - n:]
            name = m["name"].replace('"', "").replace(" ", "")
            sections.append(Section(name, m["open"] == "[[", lead + [line]))
        else:
            sections[-1].lines.append(line)
    return sections


def join(sections: list[Section]) -> str:
    return "".join("".join(s.lines) for s in sections)


def parse(text: str, path: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise TemplateError(f"{path}: the edited file is not valid TOML ({e})") from None


def set_value(section: Section, key: str, value: str, path: str) -> None:
    """Set `key = value` (value as TOML text) in `section`, keeping any trailing comment."""
    pattern = _assignment(key)
    for i, line in enumerate(section.lines):
        if m := pattern.match(line):
            section.lines[i] = f"{m['lead']}{value}{m['tail']}{m['end']}"
            return
    raise TemplateError(f"{path}: [{section.name}] has no `{key} = ...` line to change")


def task_id(section: Section) -> str | None:
    raw = section.get("id")
    return raw.strip().strip("\"'") if section.array and section.name == "tasks" and raw else None


def set_points(text: str, tid: str, points: float, path: str = "assignment.toml") -> str:
    """`text` with task `tid`'s `points = ...` line set to `points`."""
    return set_task_value(text, tid, "points", points, path)


def set_task_value(text: str, tid: str, key: str, value: float, path: str = "assignment.toml") -> str:
    """`text` with task `tid`'s `<key> = ...` line (points, timeout_s) set to the number `value`."""
    sections = split(text)
    hit = next((s for s in sections if task_id(s) == tid), None)
    if hit is None or hit.get(key) is None:
        raise TemplateError(f"{path}: task {tid} has no `{key} = ...` line to change")
    set_value(hit, key, fmt(value), path)
    out = join(sections)
    got = {str(t["id"]): t.get(key) for t in parse(out, path).get("tasks", [])}
    if got.get(tid) != value:
        raise TemplateError(f"{path}: could not set the {key} of task {tid}")
    return out


def drop_tasks(text: str, tids: set[str], path: str = "assignment.toml") -> str:
    """`text` without the `[[tasks]]` entries whose id is in `tids`."""
    out = join([s for s in split(text) if task_id(s) not in tids])
    left = {str(t["id"]) for t in parse(out, path).get("tasks", [])}
    if left & tids:
        raise TemplateError(f"{path}: could not remove task(s) {', '.join(sorted(left & tids))}")
    return out


def fmt(points: float) -> str:
    return str(int(points)) if float(points).is_integer() else f"{points:g}"
