"""The shell commands the manual shows: every line of a fenced code block in README.md and
docs/**/*.md (and the files they include with `--8<--`) that a reader would type.

Which blocks are shell:

- a block labelled `bash`, `sh` or `shell`: every line is a command;
- a block labelled `console`, or any block with a line that starts with a `$ ` prompt: only
  the prompted lines are commands (the rest is what the command printed);
- an unlabelled block whose first line (comments aside) starts with a command word (`make`,
  `python`, `cd`, ...; SHELL_WORDS): every line is a command. An unlabelled listing (a
  folder tree) is not.

A command is one line, with `\\` continuations joined and the `$ ` prompt stripped; its
identity is its text without the trailing comment. Comment lines are not commands.

The marker for a command the tests do not run (docs/contributing/testing.md) is a shell
comment that starts with MARKER and gives a reason: trailing on the command's own line,
or on a line of its own, where it covers the commands after it up to the next blank line
or the end of the block.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = "not run by the tests:"
SHELL_LANGS = {"bash", "sh", "shell"}
SHELL_WORDS = {"make", "python", "python3", "cd", "git", "unzip", "zip", "tar", "ssh", "export", "pip", "bash", "sh",
               "jupyter", "nbgrader", "curl", "wget", "cp", "mv", "rm", "mkdir", "ls", "cat", "source", "env"}
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
SNIPPET = re.compile(r'^\s*-+8<-+\s+"(?P<path>[^"]+)"\s*$')
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class Command:
    """One documented command: where it is (file relative to the root, 1-based line), its
    text, and the reason given by a marker (None when it carries none)."""
    file: str
    line: int
    text: str
    reason: str | None

    def where(self) -> str:
        return f"{self.file}:{self.line}: {self.text}"


def pages(root: Path = ROOT) -> list[Path]:
    """README.md and every page of docs/, and every file a page includes (`--8<-- "path"`)."""
    found = [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
    for page in list(found):
        for line in page.read_text(encoding="utf-8").splitlines():
            m = SNIPPET.match(line)
            if m and (root / m["path"]).is_file() and root / m["path"] not in found:
                found.append(root / m["path"])
    return [p for p in found if p.is_file()]


def split_comment(line: str) -> tuple[str, str]:
    """(command, comment): the comment starts at a `#` outside quotes that begins a word."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
            elif ch == "\\" and quote == '"':
                continue
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip(), line[i + 1:].strip()
    return line.rstrip(), ""


def marker_reason(comment: str) -> str | None:
    """The reason of a marker comment ('' for a marker with no reason), else None."""
    if not comment.startswith(MARKER):
        return None
    return comment[len(MARKER):].strip()


def _is_shell(lang: str, body: list[str]) -> str | None:
    """'all' (every line a command), 'prompt' (only `$ ` lines) or None (not shell)."""
    if any(line.lstrip().startswith("$ ") for line in body):
        return "prompt"
    if lang == "console":
        return "prompt"
    if lang in SHELL_LANGS:
        return "all"
    if lang:
        return None
    first = next((line.split()[0] for line in body if line.strip() and not line.lstrip().startswith("#")), "")
    if first in SHELL_WORDS or first.startswith(("./", ".venv/")) or ASSIGNMENT.match(first):
        return "all"
    return None


def _blocks(text: str):
    """(language, first body line number, body lines) of each fenced block."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, start, body = m["fence"], i + 2, []
        i += 1
        while i < len(lines) and not (lines[i].strip().startswith(fence)
                                      and set(lines[i].strip()) == {fence[0]}):
            body.append(lines[i][len(m["indent"]):] if lines[i].startswith(m["indent"]) else lines[i].lstrip())
            i += 1
        i += 1
        yield m["lang"].lower(), start, body


def commands_in(path: Path, root: Path = ROOT) -> list[Command]:
    """Every command of the shell blocks of one Markdown file."""
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    out = []
    for lang, start, body in _blocks(path.read_text(encoding="utf-8")):
        kind = _is_shell(lang, body)
        if kind is None:
            continue
        block_reason, j = None, 0
        while j < len(body):
            line, number = body[j], start + j
            j += 1
            stripped = line.strip()
            if not stripped:                                      # a blank line ends a marker's reach
                block_reason = None
                continue
            if kind == "prompt":
                if not stripped.startswith("$ "):
                    continue
                stripped = stripped[2:].strip()
            while stripped.endswith("\\") and j < len(body):      # join continuations
                stripped = stripped[:-1].rstrip() + " " + body[j].strip()
                j += 1
            text, comment = split_comment(stripped)
            reason = marker_reason(comment)
            if not text:                                          # a comment line
                if reason is not None:
                    block_reason = reason
                continue
            out.append(Command(rel, number, text, reason if reason is not None else block_reason))
    return out


def documented(root: Path = ROOT) -> list[Command]:
    """Every command of README.md and docs/, in page order."""
    return [c for page in pages(root) for c in commands_in(page, root)]
