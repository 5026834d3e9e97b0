"""The two scripts Gradescope runs: `setup.sh` (once, as root, while it builds the image) and
`run_autograder` (once per submission).

Gradescope's layout (https://gradescope-autograders.readthedocs.io/en/latest/specs/): the
zip is unpacked into /autograder/source, so setup.sh and run_autograder sit at the zip's
root; run_autograder is copied to /autograder/run_autograder and runs from /autograder; the
submission is in /autograder/submission; results go to /autograder/results/results.json.
`AUTOGRADER_ROOT` (default /autograder) and `PYTHON` move these for a local dry run.
"""
from __future__ import annotations

PYTHON_VERSION = "3.11"    # requirements.lock is pinned for it (numpy 2.4, ipython 9 need >= 3.11)
# torch's CPU wheels (PyPI's Linux torch is the CUDA build: 18 CUDA packages, about 4 GB more).
# setup.sh installs torch and torchvision from here first, unless assignment.toml says gpu = true;
# Gradescope's image build must reach this host (it does). VITLAB_TORCH_INDEX overrides it.
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
BASE_IMAGE = "Ubuntu 22.04 (Gradescope's default base image), variant Base"

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image. The zip is
# unpacked in /autograder/source, which is where this script is.
set -euo pipefail
SRC="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
ROOT="${{AUTOGRADER_ROOT:-$(dirname "$SRC")}}"
WANT={python}

# Python {python} exactly: requirements.txt pins wheels built for it.
find_python() {{
  local c v
  for c in "python$WANT" python3; do
    command -v "$c" >/dev/null 2>&1 || continue
    v="$("$c" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" || continue
    if [ "$v" = "$WANT" ]; then command -v "$c"; return 0; fi
  done
  return 1
}}
if ! PY="$(find_python)"; then
  if command -v apt-get >/dev/null 2>&1; then   # Ubuntu 22.04 has python3.11 in universe
    echo "setup.sh: installing python$WANT with apt-get"
    apt-get update -q >/dev/null && apt-get install -y -q "python$WANT" "python$WANT-venv" >/dev/null || true
  fi
  if ! PY="$(find_python)"; then
    echo "setup.sh: ERROR: Python $WANT is needed (requirements.txt is pinned for it) and this image has" \
         "$(python3 --version 2>&1 || echo 'no python3') and no python$WANT package. On Gradescope's" \
         "Configure Autograder page choose the base image {image}, then rebuild." >&2
    exit 1
  fi
fi
echo "setup.sh: $("$PY" --version) at $PY"

# bubblewrap: the same sandbox as make grade, where the container allows user namespaces
if ! command -v bwrap >/dev/null 2>&1; then
  apt-get install -y -q bubblewrap >/dev/null 2>&1 || echo "setup.sh: WARNING: no bubblewrap; student code" \
    "will run as the user nobody with resource limits only, and the results will say so"
fi

"$PY" -m venv "$ROOT/venv" || {{ apt-get install -y -q "python$WANT-venv" >/dev/null && "$PY" -m venv "$ROOT/venv"; }}
"$ROOT/venv/bin/python" -m pip install -q --upgrade pip
{torch}# exactly what grading {assignment} imports, pinned from the kit's requirements.lock (nothing else of it)
"$ROOT/venv/bin/python" -m pip install -q -r "$SRC/requirements.txt"

# exactly the datasets {assignment} grades on, official md5s checked (run_autograder reads them here)
cd "$SRC"
PYTHONPATH="$SRC:$SRC/datasets" "$ROOT/venv/bin/python" -m autograder.engine.gradescope.data \
  -a {assignment} --data-dir "$SRC/datasets/data"

# Where no namespace sandbox can run, student code runs as the user nobody: the graders, the
# reference and the data must be unreadable to it. The venv stays readable (nobody runs it).
chmod -R go-rwx "$SRC"
echo "setup.sh: done"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission (a copy at /autograder/run_autograder). Its
# stdout goes to /autograder/results/stdout, which Gradescope shows to staff only: the
# grader's log (tracebacks, sandbox state, timings) is printed there. Students see results.json.
set -uo pipefail
AUTOGRADER_ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{PYTHON:-$AUTOGRADER_ROOT/venv/bin/python}}"
cd "$AUTOGRADER_ROOT/source" || exit 1
mkdir -p "$AUTOGRADER_ROOT/results"
# --unsafe-no-sandbox takes effect only where bubblewrap cannot run (some containers allow no
# user namespaces): then student code runs as the user nobody, which setup.sh made unable to
# read this folder, and the staff output says it ran unsandboxed.
# The data is what setup.sh fetched and verified, never imported now (VITLAB_MIRROR unset).
env -u PYTHONPATH -u PYTEST_ADDOPTS -u PYTEST_PLUGINS -u VITLAB_MIRROR \
  VITLAB_DATA="$AUTOGRADER_ROOT/source/datasets/data" \
  "$PYTHON" -m autograder gradescope-run -a {assignment} --submission "$AUTOGRADER_ROOT/submission" \
  --results "$AUTOGRADER_ROOT/results/results.json" --unsafe-no-sandbox
"""


TORCH_CPU = r"""# torch, CPU build, from PyTorch's CPU wheel index (needs {index} reachable from the image
# build; it is on Gradescope). VITLAB_TORCH_INDEX= (empty) skips this line: PyPI's CUDA build then.
TORCH_INDEX="${{VITLAB_TORCH_INDEX-{index}}}"
if [ -n "$TORCH_INDEX" ]; then
  "$ROOT/venv/bin/python" -m pip install -q --no-deps --index-url "$TORCH_INDEX" {pins}
fi
"""


def setup_sh(assignment: str, torch_cpu: list[str] = ()) -> str:
    """setup.sh; `torch_cpu`: the pins (torch, torchvision) installed from the CPU wheel index
    first, so that requirements.txt finds them there and pulls no CUDA package."""
    torch = TORCH_CPU.format(index=TORCH_CPU_INDEX, pins=" ".join(f"'{p}'" for p in torch_cpu)) if torch_cpu else ""
    return SETUP_SH.format(python=PYTHON_VERSION, image=BASE_IMAGE, assignment=assignment, torch=torch)


def run_autograder(assignment: str) -> str:
    return RUN_AUTOGRADER.format(assignment=assignment)
