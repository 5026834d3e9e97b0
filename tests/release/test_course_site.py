"""The docs site's course part (vitlab.course_site): which assignments it shows, that its pages
come from assignments/ and never from solutions/, that a broken or escaping link stops it, and
that the leak guard over a built site finds solution and hidden-grader lines however the site
dresses them (highlighted HTML, the search index's JSON, gzip)."""
from __future__ import annotations

import gzip
import html
import json
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from vitlab.course import load_course
from vitlab.course_site import leaks, pages
from vitlab.release.build import release
from vitlab.release.leaks import feedback_secrets

from tests.release.conftest import write_course

SOLUTION = "    out = (alpha * x).astype(x.dtype)  # (N, D)"      # a1_demo's Task 1.1 fence (golden/ops_solution.py)
HIDDEN = "assert scale_forward(np.ones((1, 1)), 3.0)[0][0, 0] == 3.0"
OCT_1, OCT_20 = (datetime(2026, 10, d, tzinfo=timezone.utc) for d in (1, 20))


@pytest.fixture(scope="module")
def released_once(tmp_path_factory):
    root = write_course(tmp_path_factory.mktemp("released") / "course")
    release(load_course(root))          # nbgrader makes this the slow part: once per module
    return root


@pytest.fixture
def released(released_once, tmp_path, monkeypatch):
    """A fresh copy of the demo course, released."""
    monkeypatch.delenv(pages.ENV_ONLY, raising=False)
    monkeypatch.delenv("VITLAB_TODAY", raising=False)
    return Path(shutil.copytree(released_once, tmp_path / "released", symlinks=True))


def folders(shown):
    return [a.folder for a in shown]


def test_only_released_folders_are_shown_and_the_selection_narrows_them(course_root, released, monkeypatch):
    monkeypatch.delenv(pages.ENV_ONLY, raising=False)
    shown, notes = pages.published(load_course(course_root), OCT_1)      # never released
    assert shown == [] and all("not released" in n for n in notes) and len(notes) == 2
    course = load_course(released)
    assert folders(pages.published(course, OCT_1)[0]) == ["a1_demo", "a2_more"]
    shown, notes = pages.published(course, OCT_1, only="a2")
    assert folders(shown) == ["a2_more"] and notes == [f"a1_demo: not in {pages.ENV_ONLY}"]
    monkeypatch.setenv(pages.ENV_ONLY, "a1_demo")
    assert folders(pages.published(course, OCT_1)[0]) == ["a1_demo"]
    with pytest.raises(pages.CourseSiteError, match=r"VITLAB_SITE_ASSIGNMENTS='a1 a9'.*unknown assignment 'a9'"):
        pages.published(course, OCT_1, only="a1 a9")


def test_the_release_order_holds_back_a_folder_that_ships_an_open_assignments_solutions(released):
    toml = released / "course.toml"
    toml.write_text(toml.read_text() + "\n[gradebook.deadlines.a1_demo]\ndue = 2026-10-09T23:59:00Z\n")
    course = load_course(released)
    shown, notes = pages.published(course, OCT_1)
    assert folders(shown) == ["a1_demo"]
    assert len(notes) == 1 and notes[0].startswith("a2_more: held back by the release order: a2_more ships a1_demo's")
    assert folders(pages.published(course, OCT_20)[0]) == ["a1_demo", "a2_more"]


def test_pages_are_read_from_the_release_never_from_the_solutions(released):
    course = load_course(released)
    shown, _ = pages.published(course, OCT_20)
    found = {p.uri: p for p in pages.course_pages(course, shown)}
    assert sorted(found) == ["course/a1_demo/a1_demo.ipynb", "course/a1_demo/index.md", "course/a2_more/index.md",
                             "course/index.md"]
    assert found["course/a1_demo/a1_demo.ipynb"].source == released / "assignments" / "a1_demo" / "a1_demo.ipynb"
    readme = (released / "assignments" / "a1_demo" / "README.md").read_text()
    assert found["course/a1_demo/index.md"].content.startswith(readme.rstrip("\n"))
    assert "[a1_demo.ipynb](a1_demo.ipynb)" in found["course/a1_demo/index.md"].content
    index = found["course/index.md"].content
    assert "## [Demo](a1_demo/index.md)" in index and "| 1.1 | Scale | 3 | `ops.py` |" in index
    # the map is the released assignment.toml's, not the solutions' one
    toml = released / "assignments" / "a1_demo" / "assignment.toml"
    toml.write_text(toml.read_text().replace('title = "Scale"', 'title = "Scale, as released"'))
    assert "| 1.1 | Scale, as released | 3 |" in pages.course_index(course, shown)
    assert pages.nav(course, shown) == ["course/index.md",
                                        {"A1: Demo": ["course/a1_demo/index.md", {"a1_demo.ipynb": "course/a1_demo/a1_demo.ipynb"}]},
                                        {"A2: More": ["course/a2_more/index.md"]}]


def test_nothing_released_gives_a_map_that_says_so(course_root):
    assert "No assignment has been released yet." in pages.course_index(load_course(course_root), [])


def _add_to_readme(root, text):
    readme = root / "assignments" / "a1_demo" / "README.md"
    readme.write_text(readme.read_text() + text)


def test_linked_files_are_published_where_their_page_finds_them(released):
    folder = released / "assignments" / "a1_demo"
    (folder / "figures").mkdir()
    (folder / "figures" / "grid.png").write_bytes(b"\x89PNG")
    _add_to_readme(released, "\n![grid](figures/grid.png) [web](https://example.org) [top](#top)\n"
                             "```\n[in code](nowhere.png)\n```\n")
    nb = nbformat.read(folder / "a1_demo.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell('<img src="figures/grid.png">'))
    nbformat.write(nb, folder / "a1_demo.ipynb")
    course = load_course(released)
    found = {p.uri: p.source for p in pages.course_pages(course, [course.assignment("a1")]) if p.source}
    # the README's page is course/a1_demo/; the notebook's page is course/a1_demo/a1_demo/
    assert found["course/a1_demo/figures/grid.png"] == folder / "figures" / "grid.png"
    assert found["course/a1_demo/a1_demo/figures/grid.png"] == folder / "figures" / "grid.png"
    flat = {p.uri for p in pages.course_pages(course, [course.assignment("a1")], directory_urls=False)}
    assert "course/a1_demo/a1_demo/figures/grid.png" not in flat


@pytest.mark.parametrize("link, says", [
    ("[fig](figures/missing.png)", r"README.md links to 'figures/missing.png', which assignments/a1_demo does not hold"),
    ("[answer](../../solutions/a1_demo/ops.py)", r"README.md links to '../../solutions/a1_demo/ops.py', outside"),
    ('<img src="/etc/passwd">', r"links to '/etc/passwd', outside the assignment folder"),
    ('--8<-- "solutions/a1_demo/ops.py"', r"README.md:\d+: '--8<--' would include another file"),
])
def test_a_broken_or_escaping_link_stops_the_course_part(released, link, says):
    _add_to_readme(released, f"\n{link}\n")
    course = load_course(released)
    with pytest.raises(pages.CourseSiteError, match=says):
        pages.course_pages(course, [course.assignment("a1")])


def test_write_tree_swaps_in_a_fresh_folder(tmp_path):
    dest = tmp_path / "build" / "course-pages"
    (dest / "course" / "stale").mkdir(parents=True)
    src = tmp_path / "nb.ipynb"
    src.write_text("{}")
    pages.write_tree([pages.SitePage("course/index.md", content="# Course\n"),
                      pages.SitePage("course/a1/nb.ipynb", source=src)], dest)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == \
        ["course/a1/nb.ipynb", "course/index.md"]
    assert [p.name for p in dest.parent.iterdir()] == ["course-pages"]      # no temporary folder left


# ----------------------------------------------------------------------------- the leak guard

def _site(tmp_path, files: dict[str, bytes | str]):
    site = tmp_path / "site"
    for rel, data in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data if isinstance(data, bytes) else data.encode())
    return site


def test_the_site_guard_reads_lines_as_the_browser_shows_them(released, tmp_path):
    course = load_course(released)
    known = leaks.site_secrets(course)
    code = highlight(SOLUTION.strip() + "\nreturn out, alpha\n", PythonLexer(), HtmlFormatter())
    assert "<span" in code and SOLUTION.strip() not in code          # cut into highlighted spans
    index = {"docs": [{"location": "course/", "text": f"<p>intro</p><pre><code>{HIDDEN.replace('>', '&gt;')}\n</code></pre>"}]}
    site = _site(tmp_path, {
        "index.html": "<html><body><p>Clean &amp; fine</p></body></html>",
        "course/a1_demo/a1_demo/index.html": f"<html><body><h1>Demo</h1>\n{code}</body></html>",
        "search/search_index.json": json.dumps(index),
        "sitemap.xml.gz": gzip.compress(f"<urlset><loc>{SOLUTION}</loc></urlset>".encode()),
        "assets/font.woff2": b"\xff\xfe\x00" + SOLUTION.encode(),            # binary: skipped
    })
    found = sorted((leak.released.relative_to(site).as_posix(), leak.lineno, leak.origin)
                   for leak in leaks.scan_site(course, site, known))
    assert [f[:2] for f in found] == [("course/a1_demo/a1_demo/index.html", 2), ("search/search_index.json", 3),
                                      ("sitemap.xml.gz", 1)]
    assert "solutions/a1_demo/ops.py:11 (solution fence)" in found[0][2]
    assert "solutions/a1_demo/ops.py" in found[1][2] and "hidden tests fence" in found[1][2]


def test_a_solution_shipped_only_as_given_code_is_still_a_secret_of_the_site(released):
    course = load_course(released)
    assert SOLUTION.strip() in (released / "assignments" / "a2_more" / "ops.py").read_text()
    norm = " ".join(SOLUTION.split())
    assert norm not in feedback_secrets(course)              # a2's folder shows it: not a feedback leak
    assert norm in leaks.site_secrets(course)                # the site is public before a2 is handed out


def test_a_clean_site_has_no_leak(released, tmp_path):
    course = load_course(released)
    shutil.copytree(released / "assignments", tmp_path / "site" / "assignments")   # stubs, public tests, notebooks
    site = tmp_path / "site"
    shutil.rmtree(site / "assignments" / "a2_more")                   # a2 ships a1's solution as given code
    assert leaks.scan_site(course, site, leaks.site_secrets(course)) == []


def test_the_build_fails_on_a_planted_line_of_the_kit(tmp_path):
    from mkdocs.exceptions import PluginError

    from vitlab.course_site import hooks

    kit = load_course()
    known = sorted(leaks.secrets(kit).items(), key=lambda kv: "(solution fence)" not in kv[1][1])   # a solution first
    if not known:
        pytest.skip("this course has no solution or hidden-grader line to plant")
    line, (_, origin) = known[0]
    site = _site(tmp_path, {"course/index.html": "<p>fine</p>"})
    hooks.on_post_build(SimpleNamespace(site_dir=str(site)))            # clean: no error
    (site / "course" / "index.html").write_text(f"<p>fine</p>\n<pre><code>{html.escape(line)}\n</code></pre>")
    with pytest.raises(PluginError, match=r"leak guard: 1 solution or hidden-grader line(.|\n)*course/index.html:2: "
                                          rf"reveals {re.escape(origin.split(':')[0])}"):
        hooks.on_post_build(SimpleNamespace(site_dir=str(site)))


def test_the_nav_needs_its_course_entry():
    from mkdocs.exceptions import PluginError

    from vitlab.course_site import hooks

    nav = [{"Home": "index.md"}, {"Course": "course/index.md"}]
    assert hooks.expand_nav(nav, ["course/index.md"]) == [{"Home": "index.md"}, {"Course": ["course/index.md"]}]
    with pytest.raises(PluginError, match="nav has no top-level `Course: course/index.md`"):
        hooks.expand_nav([{"Home": "index.md"}], [])
