#!/usr/bin/env bash
# Creates .venv with every pinned package, then writes the stamp named in $1 so a second
# run does nothing until requirements.lock changes.
set -euo pipefail
stamp="$1"
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
echo "setup: installing requirements.lock (torch is a large download the first time)"
.venv/bin/python -m pip install -q -r requirements.lock
# The grader sandboxes student code with bubblewrap; install it where we may.
if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing bubblewrap (sandbox for grading)"
    apt-get install -y -q bubblewrap >/dev/null 2>&1 || \
      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q bubblewrap >/dev/null 2>&1; } || \
      echo "setup: WARNING: could not install bubblewrap; grading will run without a sandbox"
  else
    echo "setup: WARNING: bubblewrap (bwrap) not found; install it (apt-get install bubblewrap) so grading is sandboxed"
  fi
fi
# `make report`'s test renders the page in headless Chromium; install it where we may.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing chromium (headless check of the HTML report)"
  apt-get install -y -q chromium >/dev/null 2>&1 || \
    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } || \
    echo "setup: WARNING: could not install chromium; the report's browser test will be skipped"
fi
# by the venv's real path: a course baked with a linked .venv must not point the shared
# kernel at its own (later deleted) folder
venv="$(cd .venv && pwd -P)"
"$venv/bin/python" -m ipykernel install --sys-prefix --name python3 >/dev/null
rm -f .venv/.stamp-*
touch "$stamp"
echo "setup: done ($stamp)"
