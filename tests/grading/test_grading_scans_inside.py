"""Scans of student source run inside a sandbox (engine/parse_sandbox.py): the a3 ban's scan
(a3_parse.py) and the NumPy-only import scan (scan.py, inside/importscan.py). A crafted file
that asks `ast` for gigabytes costs the trusted process nothing and is refused (every task),
a reply that is not what was asked for is refused too, and an honest submission scans as it
did in process."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.engine import sandbox as sb

ROOT = Path(__file__).resolve().parents[2]
GRADERS = ROOT / "autograder" / "graders" / "a3_torch_vit"
A3 = ROOT / "solutions" / "a3_torch_vit"
# 4 MB of list items: ast.parse in the grader's own process took 1.9 GB and 7.7 s
HUGE = "x = [" + "0," * (2_000_000 - 5) + "]\n"
# the probe's own peak: VmHWM is the peak of this process image (ru_maxrss keeps the
# peak of the pytest process it was forked from across exec)
HWM = """
def _hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""
PROBE = HWM + """
import json, resource, sys
sys.path[:0] = [{graders!r}, {root!r}]
import a3_parse
found, defs = a3_parse.scan({sub!r}, {ref!r}, {{"modules": {{"Attention.forward": "3.2"}}}}, {isolated!r})
print(json.dumps({{"rss_mb": _hwm(),
                   "found": [[f.file, f.call, f.everywhere] for f in found], "defs": defs}}))
"""

NUMPY_PROBE = HWM + """
import json, resource, sys
sys.path[:0] = [{root!r}]
from autograder.engine import scan
from autograder.engine.parse_sandbox import ParseFailed
try:
    found, why = scan.autograd_imports({sub!r}), None
except ParseFailed as e:
    found, why = None, str(e)
print(json.dumps({{"rss_mb": _hwm(), "found": found, "why": why}}))
"""
needs_a3 = pytest.mark.skipif(not (A3.is_dir() and GRADERS.is_dir()), reason="no a3 in this course")


def trusted_scan(sub: Path, isolated: bool = True, probe: str = PROBE) -> dict:
    """a scan in a process of its own, as the grading process runs it; its peak RSS."""
    code = probe.format(graders=str(GRADERS), root=str(ROOT), sub=str(sub), ref=str(A3), isolated=isolated)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'datasets'}"})
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@needs_a3
def test_a_file_that_asks_the_parser_for_gigabytes_is_refused_inside(tmp_path):
    if sb.bwrap_path() is None:
        pytest.skip("needs bubblewrap")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "modules.py").write_text(HUGE, encoding="utf-8")
    got = trusted_scan(sub)
    assert got["rss_mb"] < 400, got["rss_mb"]           # the trusted process never parsed it
    assert any(everywhere and "refused" in call and "memory" in call for _, call, everywhere in got["found"]), \
        got["found"]                                      # fails closed: costs every task


@needs_a3
def test_an_honest_submission_scans_as_in_process(tmp_path):
    sys.path[:0] = [str(GRADERS)]
    try:
        import a3_ban
    finally:
        sys.path.remove(str(GRADERS))
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "modules.py").write_text("import torch.nn.functional as F\n\nclass Attention:\n    def forward(self, q, k, v):\n"
                                    "        return F.scaled_dot_product_attention(q, k, v)\n", encoding="utf-8")
    want = [[f.file, f.call, f.everywhere] for f in a3_ban.scan_submission(sub, A3)]
    for isolated in ([True] if sb.bwrap_path() else []) + [False]:
        got = trusted_scan(sub, isolated)
        assert got["found"] == want and want, (isolated, got["found"])
        assert set(got["defs"]["modules"]) == {"Attention", "Attention.forward"}


@needs_a3
@pytest.mark.parametrize("reply", [
    {"findings": "x", "more": 0, "defs": {}},
    {"findings": [["m.py", "1", "call", None, False]], "more": 0, "defs": {}},
    {"findings": [], "more": -1, "defs": {}},
    {"findings": [], "more": 0, "defs": {"other_module": {}}},
    {"findings": [], "more": 0, "defs": {"modules": {"A.f": "short"}}},
])
def test_a_reply_that_is_not_what_was_asked_for_is_refused(reply, monkeypatch):
    sys.path[:0] = [str(GRADERS)]
    try:
        import a3_parse
    finally:
        sys.path.remove(str(GRADERS))
    monkeypatch.setattr(a3_parse, "parse", lambda *a, **k: reply)
    found, defs = a3_parse.scan(str(A3), str(A3), {"modules": {}}, True)
    assert len(found) == 1 and found[0].everywhere and "malformed" in found[0].call and defs == {}


def test_the_numpy_only_scan_parses_inside(tmp_path):
    """The import scan of a NumPy-only assignment: the same 4 MB file is refused (the scan did
    not finish: never graded as importing nothing) and the trusted process stays small; an
    honest file that imports torch is still found."""
    if sb.bwrap_path() is None:
        pytest.skip("needs bubblewrap")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "layers.py").write_text(HUGE, encoding="utf-8")
    got = trusted_scan(sub, probe=NUMPY_PROBE)
    assert got["rss_mb"] < 400 and got["found"] is None and "memory" in got["why"], got
    (sub / "layers.py").write_text("import numpy as np\nimport torch.nn\n", encoding="utf-8")
    assert trusted_scan(sub, probe=NUMPY_PROBE)["found"] == {"layers.py": "torch"}
