#!/usr/bin/env bash
# Create .venv (if missing), install capexit with its test tools, and build the browser assets.
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
.venv/bin/pybabel compile --statistics -d webapp/translations >/dev/null
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is needed to build the diagram and chart assets (install Node.js 20+)" >&2
  exit 1
fi
(cd webapp/frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build >/dev/null)
