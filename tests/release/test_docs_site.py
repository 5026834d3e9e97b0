"""The manual: `make docs` builds docs/ with mkdocs-material in strict mode into build/site/,
and the site works in a browser: headless Chromium loads pages over http (the search needs
http, not file://), finds the navigation, and the search index holds the manual's text. The
course part (course/) holds every released assignment's README and notebooks, a notebook page
shows its cells, and the leak guard finds no solution line in any file of the built site but
does find one planted there."""
from __future__ import annotations

import html
import http.server
import json
import os
import shutil
import subprocess
import threading
from functools import partial
from pathlib import Path

import nbformat
import pytest
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from vitlab.course import load_course
from vitlab.course_site import leaks, pages

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "build" / "site"
CHROMIUM = next((p for p in (shutil.which("chromium"), "/usr/bin/chromium", shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p and Path(p).exists()), None)
# a phrase of the trust model page, and one of the LMS page
PHRASES = ("bubblewrap", "Download Submissions")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site():
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MAKELEVEL", pages.ENV_ONLY, "VITLAB_TODAY", "SITE_ASSIGNMENTS")}
    proc = subprocess.run(["make", "--no-print-directory", "docs"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"make docs failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert (SITE / "index.html").is_file()
    return SITE


@pytest.fixture(scope="module")
def server(site):
    handler = partial(_Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def dump_dom(url: str, tmp_path: Path) -> str:
    profile = tmp_path / f"chromium-{abs(hash(url))}"
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}",
                           "--virtual-time-budget=5000", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_strict_build_writes_every_page_and_the_search_index(site):
    for page in ("students", "instructors/grading", "instructors/lms", "instructors/nbgrader", "designers/new-course",
                 "capstone", "trust-model", "benchmarks", "contributing/testing"):
        assert (site / page / "index.html").is_file(), page
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    text = " ".join(doc.get("text", "") + " " + doc.get("title", "") for doc in index["docs"])
    for phrase in PHRASES:
        assert phrase in text, phrase
    assert any(doc["location"].startswith("instructors/lms/") for doc in index["docs"])


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine")
def test_pages_open_in_a_browser_with_navigation_and_search(server, tmp_path):
    home = dump_dom(server + "/", tmp_path)
    assert "md-nav" in home and "md-search" in home
    for href in ("students/", "instructors/", "designers/", "capstone/", "trust-model/", "contributing/"):
        assert f'href="{href}' in home or f'href="./{href}' in home, href
    page = dump_dom(server + "/instructors/grading/", tmp_path)
    assert "Statuses" in page and "md-nav" in page and 'href="../lms/' in page
    # the search index the page's search box loads, over the same http server
    index = dump_dom(server + "/search/search_index.json", tmp_path)
    assert "bubblewrap" in index


def shown():
    """The assignments the course part shows today, and their notebooks."""
    course = load_course(ROOT)
    return course, [(a, pages.notebooks(course, a)) for a in pages.published(course)[0]]


def test_the_course_part_holds_each_released_assignment_and_its_notebooks(site):
    course, found = shown()
    assert found, "no released assignment to show"
    assert (site / "course" / "index.html").is_file()
    for a, nbs in found:
        assert (site / "course" / a.folder / "index.html").is_file(), a.folder
        for nb in nbs:
            assert (site / "course" / a.folder / nb.stem / "index.html").is_file(), nb
    # the search finds the notebooks' text too
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    a, nbs = found[0]
    assert any(doc["location"].startswith(f"course/{a.folder}/{nbs[0].stem}/") for doc in index["docs"])


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine")
def test_course_pages_open_in_a_browser_and_a_notebook_shows_its_cells(server, tmp_path):
    course, found = shown()
    home = dump_dom(server + "/course/", tmp_path)
    for a, _ in found:
        assert f'href="{a.folder}/' in home or f'href="./{a.folder}/' in home, a.folder
    a, nbs = next((a, nbs) for a, nbs in found if nbs)
    nb = nbformat.read(nbs[0], as_version=4)
    page = dump_dom(f"{server}/course/{a.folder}/{nbs[0].stem}/", tmp_path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "md-nav" in page and page.count("jp-CodeCell") >= len(code)
    shown_lines = {" ".join(line.split()) for _, line in leaks.html_lines(page)}
    first = next(line for c in code for line in c.source.splitlines() if len(line.strip()) > 10)
    assert " ".join(first.split()) in shown_lines, first          # a code line, as the reader sees it


def test_the_leak_guard_finds_nothing_in_the_built_site_and_a_planted_line(site, tmp_path):
    course = load_course(ROOT)
    assert leaks.scan_site(course, site) == []
    copy = Path(shutil.copytree(site, tmp_path / "site"))
    known = sorted(leaks.secrets(course).items(), key=lambda kv: "(solution fence)" not in kv[1][1])   # a solution first
    secret, (_, origin) = known[0]
    a, nbs = next((a, nbs) for a, nbs in shown()[1] if nbs)
    page = copy / "course" / a.folder / nbs[0].stem / "index.html"
    code = highlight(secret + "\n", PythonLexer(), HtmlFormatter())      # as nbconvert highlights a cell
    page.write_text(page.read_text(encoding="utf-8").replace("</article>", code + "</article>", 1), encoding="utf-8")
    index = copy / "search" / "search_index.json"
    data = json.loads(index.read_text(encoding="utf-8"))
    data["docs"][0]["text"] += f"<pre><code>{html.escape(secret)}\n</code></pre>"
    index.write_text(json.dumps(data), encoding="utf-8")
    found = leaks.scan_site(course, copy)
    assert sorted(leak.released for leak in found) == [page, index], found
    assert all(origin in leak.origin for leak in found)
