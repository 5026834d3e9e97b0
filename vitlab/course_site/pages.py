"""The course part of the docs site, generated from the release (`assignments/`), never from
`solutions/`.

An assignment is shown when it is released (`assignments/<folder>/README.md` exists), when
the release order lets it out today (it ships no reference solution of an assignment still
open by course.toml `[gradebook.deadlines]`; see vitlab/release/open_given.py), and, when
VITLAB_SITE_ASSIGNMENTS names some (make docs SITE_ASSIGNMENTS="a1 a2"), when it is one of
them. Its pages: the course map (course/index.md), its README (course/<folder>/index.md),
each notebook at the folder's top (course/<folder>/<name>.ipynb, rendered by mkdocs-jupyter
without running it) and every file their links point to. A link to a file the folder does
not hold, or out of the folder, stops the build with the file and the link named.
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote

import nbformat

from vitlab.course import Assignment, Course, CourseError, course_map, load_assignment
from vitlab.release.open_given import now, still_open

ENV_ONLY = "VITLAB_SITE_ASSIGNMENTS"
TOP = "course"                      # the course part's folder in the site
PAGE_SUFFIXES = (".md", ".ipynb")
# a Markdown link or image target, and an HTML src/href (Markdown allows raw HTML)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)|\b(?:src|href)\s*=\s*[\"']([^\"']+)[\"']")
CODE = re.compile(r"^(```|~~~).*?^\1[^\n]*$|`[^`\n]+`", re.S | re.M)      # fenced blocks, inline code
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
SNIPPET = "--8<--"                  # pymdownx.snippets would pull a kit file into the page


class CourseSiteError(CourseError):
    """The course part cannot be generated; the message names the file and what is wrong."""


@dataclass(frozen=True)
class SitePage:
    """One file of the course part: generated text, or a released file published as it is."""
    uri: str                        # path in the site's source tree: course/a1_numpy_layers/index.md
    content: str | None = None
    source: Path | None = None


def released_dir(course: Course, a: Assignment) -> Path:
    return course.root / "assignments" / a.folder


def selected(course: Course, only: str) -> set[str] | None:
    """The folders named by `only` ("a1 a2", "a1,a3_torch_vit"), or None when it names none."""
    keys = [k for k in re.split(r"[\s,]+", only.strip()) if k]
    try:
        return {course.assignment(k).folder for k in keys} or None
    except CourseError as e:
        raise CourseSiteError(f"{ENV_ONLY}={only!r}: {e}") from None


def published(course: Course, today: datetime | None = None,
              only: str | None = None) -> tuple[list[Assignment], list[str]]:
    """(the assignments the site shows, in course order; one note per assignment left out and why).

    `today` defaults to now (VITLAB_TODAY stands in for it), `only` to VITLAB_SITE_ASSIGNMENTS.
    """
    today = now() if today is None else today
    wanted = selected(course, os.environ.get(ENV_ONLY, "") if only is None else only)
    shown, notes = [], []
    for a in course.assignments:
        if wanted is not None and a.folder not in wanted:
            notes.append(f"{a.folder}: not in {ENV_ONLY}")
        elif not (released_dir(course, a) / "README.md").is_file():
            notes.append(f"{a.folder}: not released (no assignments/{a.folder}/README.md)")
        elif held := still_open(course, a, today):
            notes.append(f"{a.folder}: held back by the release order: {'; '.join(held)}")
        else:
            shown.append(a)
    return shown, notes


def notebooks(course: Course, a: Assignment) -> list[Path]:
    """The notebooks at the top of the released folder, sorted (the assignment's own first)."""
    found = sorted(released_dir(course, a).glob("*.ipynb"))
    return sorted(found, key=lambda p: (p.stem != a.folder, p.name))


def released_tasks(course: Course, a: Assignment) -> Assignment:
    """The assignment as its released assignment.toml declares it (the map is read from the release)."""
    return load_assignment(released_dir(course, a))


def course_pages(course: Course, shown: list[Assignment], directory_urls: bool = True) -> list[SitePage]:
    """Every file of the course part: the map, and for each shown assignment its README, its
    notebooks and the files their links point to."""
    pages = [SitePage(f"{TOP}/index.md", content=course_index(course, shown))]
    for a in shown:
        folder, base = released_dir(course, a), f"{TOP}/{a.folder}"
        readme = folder / "README.md"
        text = readme.read_text(encoding="utf-8")
        _refuse_snippets(text, readme)
        pages.append(SitePage(f"{base}/index.md", content=assignment_page(course, a, text)))
        assets = {f"{base}/{rel}": folder / rel for rel in linked_files(folder, readme, [text])}
        for nb in notebooks(course, a):
            pages.append(SitePage(f"{base}/{nb.name}", source=nb))
            # mkdocs leaves a notebook's HTML as it is: its links resolve from the page's own URL
            here = f"{base}/{nb.stem}" if directory_urls else base
            assets.update({f"{here}/{rel}": folder / rel for rel in linked_files(folder, nb, _markdown_cells(nb))})
        pages += [SitePage(uri, source=src) for uri, src in sorted(assets.items())]
    return pages


def linked_files(folder: Path, page: Path, texts: list[str]) -> list[str]:
    """The files (pages aside) that the Markdown `texts` of `page` link to, relative to `folder`.

    Raises CourseSiteError for a link out of the folder or to a file the folder does not hold.
    """
    found: set[str] = set()
    for text in texts:
        for m in LINK.finditer(CODE.sub("", text)):
            target = unquote((m.group(1) or m.group(2)).split("#", 1)[0].split("?", 1)[0])
            if not target or SCHEME.match(m.group(1) or m.group(2)):
                continue                            # an anchor on the page, or a web address
            where = f"assignments/{folder.name}/{page.name}"
            path = (folder / target).resolve()
            if target.startswith("/") or folder.resolve() not in path.parents:
                raise CourseSiteError(f"{where} links to {target!r}, outside the assignment folder: "
                                      f"the course site publishes only what assignments/{folder.name} holds")
            if not path.is_file():
                raise CourseSiteError(f"{where} links to {target!r}, which assignments/{folder.name} does not hold")
            if path.suffix not in PAGE_SUFFIXES:
                found.add(path.relative_to(folder.resolve()).as_posix())
    return sorted(found)


def _markdown_cells(nb: Path) -> list[str]:
    try:
        cells = nbformat.read(nb, as_version=4).cells
    except Exception as e:          # nbformat raises several kinds; all mean the same here
        raise CourseSiteError(f"assignments/{nb.parent.name}/{nb.name}: not a readable notebook ({e})") from None
    return [c.source for c in cells if c.cell_type == "markdown"]


def _refuse_snippets(text: str, path: Path) -> None:
    """The site's Markdown includes files with pymdownx.snippets; a released page must not."""
    for lineno, line in enumerate(text.splitlines(), 1):
        if SNIPPET in line:
            raise CourseSiteError(f"assignments/{path.parent.name}/{path.name}:{lineno}: {SNIPPET!r} would "
                                  "include another file of the kit in the course site; write the text out")


def course_index(course: Course, shown: list[Assignment]) -> str:
    """course/index.md: the course map of the shown assignments, each linked to its pages."""
    out = [f"# {course.name}: the course", "",
           "Each assignment's guide and notebooks, as they are handed out. Work in your own copy of the "
           "assignment's folder: [Students](../students.md) says how to set it up, check a task and hand it in.", ""]
    if not shown:
        return "\n".join(out + ["No assignment has been released yet.", ""])
    for a in shown:
        own = released_tasks(course, a)
        table = course_map(dataclasses.replace(course, assignments=(own,))).split("\n", 1)[1]
        links = ", ".join(f"[{nb.name}]({a.folder}/{nb.name})" for nb in notebooks(course, a))
        out += [f"## [{own.title}]({a.folder}/index.md)", "",
                f"`{a.folder}`, {own.points:g} points. Notebooks: {links or 'none'}.", "", table.strip(), ""]
    return "\n".join(out)


def assignment_page(course: Course, a: Assignment, readme: str) -> str:
    """course/<folder>/index.md: the released README, then a line to the notebooks."""
    links = ", ".join(f"[{nb.name}]({nb.name})" for nb in notebooks(course, a))
    return readme.rstrip("\n") + ("\n\n## Notebooks on this site\n\n" + links + "\n" if links else "\n")


def write_tree(pages: list[SitePage], dest: Path) -> None:
    """Write `pages` as a fresh folder `dest` (build/course-pages/), swapped in whole: a build
    never sees half of it, nor a page left over from an earlier build."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-new-", dir=dest.parent))
    try:
        for page in pages:
            target = tmp / page.uri
            target.parent.mkdir(parents=True, exist_ok=True)
            if page.content is not None:
                target.write_text(page.content, encoding="utf-8")
            else:
                shutil.copyfile(page.source, target)
        old = Path(tempfile.mkdtemp(prefix=f".{dest.name}-old-", dir=dest.parent))
        try:
            dest.rename(old / dest.name)
        except FileNotFoundError:
            pass
        try:
            tmp.rename(dest)
        except OSError:         # a build beside this one swapped its own in first: the same pages
            if not dest.is_dir():
                raise
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def nav(course: Course, shown: list[Assignment]) -> list:
    """The Course section's entries for mkdocs' nav: the map, then one section per assignment."""
    entries: list = [f"{TOP}/index.md"]
    for a in shown:
        own = released_tasks(course, a)
        pages = [f"{TOP}/{a.folder}/index.md"] + [{nb.name: f"{TOP}/{a.folder}/{nb.name}"} for nb in notebooks(course, a)]
        entries.append({f"{a.id.upper()}: {own.title}": pages})
    return entries
