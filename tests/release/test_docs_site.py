"""The manual: `make docs` builds docs/ with mkdocs-material in strict mode into build/site/,
and the site works in a browser: headless Chromium loads pages over http (the search needs
http, not file://), finds the navigation, and the search index holds the manual's text."""
from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import threading
from functools import partial
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "build" / "site"
CHROMIUM = next((p for p in (shutil.which("chromium"), "/usr/bin/chromium", shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p and Path(p).exists()), None)
# a phrase of the trust model page, and one of the LMS page
PHRASES = ("bubblewrap", "Download Submissions")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site():
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL")}
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
