#!/usr/bin/env bash
# Resolves requirements.txt in a scratch venv and writes every pin to requirements.lock.
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q -r requirements.txt
"$tmp/venv/bin/pip" freeze > requirements.lock.tmp
mv requirements.lock.tmp requirements.lock
echo "lock: wrote requirements.lock ($(wc -l < requirements.lock) pins)"
