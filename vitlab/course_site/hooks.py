"""mkdocs hooks (mkdocs.yml `hooks:`): the course part of the site, and the leak guard over it.

on_config  picks the assignments to show (vitlab.course_site.pages.published) and expands the
           nav's `Course: course/index.md` entry into the course map and one section each;
           and writes their pages into build/course-pages/ (generated Markdown, the released
           notebooks and the files their links point to, copied from assignments/);
on_files   adds them to the site, ahead of mkdocs-jupyter, which then renders the notebooks;
post_build scans every file of the built site for solution and hidden-grader lines and fails
           the build on any (vitlab.course_site.leaks).

A problem stops the build (PluginError) with one message naming the file and what is wrong.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:              # `mkdocs build` run as a script has no cwd on sys.path
    sys.path.insert(0, str(ROOT))

from mkdocs.exceptions import PluginError  # noqa: E402
from mkdocs.plugins import event_priority  # noqa: E402
from mkdocs.structure.files import File  # noqa: E402

from vitlab.course import CourseError, load_course  # noqa: E402
from vitlab.course_site import leaks, pages  # noqa: E402

log = logging.getLogger("mkdocs.hooks.course_site")
NAV_ENTRY = f"{pages.TOP}/index.md"
OUT = ROOT / "build" / "course-pages"            # generated each build; /build/ is not committed
_built: dict[str, list[str]] = {}                # this build's course files, from on_config to on_files


def on_config(config):
    try:
        course = load_course(ROOT)
        shown, notes = pages.published(course)
        found = pages.course_pages(course, shown, config.use_directory_urls)
        entries = pages.nav(course, shown)
        pages.write_tree(found, OUT)
    except CourseError as e:
        raise PluginError(f"course site: {e}") from None
    _built["uris"] = [page.uri for page in found]
    for note in notes:
        log.info("course site: %s", note)
    log.info("course site: %s", ", ".join(a.folder for a in shown) or "no assignment released yet")
    config.nav = expand_nav(config.nav, entries)
    return config


def expand_nav(nav: list, entries: list) -> list:
    """`nav` with its `<title>: course/index.md` entry turned into a section of `entries`."""
    out, found = [], False
    for item in nav or []:
        if isinstance(item, dict) and len(item) == 1 and list(item.values())[0] == NAV_ENTRY:
            out.append({list(item)[0]: entries})
            found = True
        else:
            out.append(item)
    if not found:
        raise PluginError(f"course site: mkdocs.yml's nav has no top-level `Course: {NAV_ENTRY}` entry "
                          "to put the course part under")
    return out


@event_priority(50)        # before mkdocs-jupyter's on_files, which must see the notebooks
def on_files(files, config):
    for uri in _built.get("uris", []):
        if files.get_file_from_path(uri) is not None:
            raise PluginError(f"course site: docs/{uri} is in the way of the generated course part "
                              f"(the site's {pages.TOP}/ folder is generated); move it")
        # a real file under src_dir, as mkdocs-jupyter expects (it cannot read an in-memory page)
        files.append(File(uri, src_dir=str(OUT), dest_dir=config.site_dir, use_directory_urls=config.use_directory_urls))
    return files


def on_post_build(config):
    site = Path(config.site_dir)
    found = leaks.scan_site(load_course(ROOT), site)
    if found:
        shown = "\n".join(f"  {leak}" for leak in found[:20])
        more = f"\n  ... and {len(found) - 20} more" if len(found) > 20 else ""
        raise PluginError(f"leak guard: {len(found)} solution or hidden-grader line(s) in the built site "
                          f"{site}:\n{shown}{more}")
    log.info("leak guard: no solution or hidden-grader line in %s", site)
