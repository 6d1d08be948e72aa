#!/usr/bin/env bash
# Set up, load demo data on embedded SQLite, and start the app on http://127.0.0.1:5000
# with a simulated clock that supervisors can move forward.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CAPEXIT_CLOCK=${CAPEXIT_CLOCK:-simulated}
export CAPEXIT_CLOCK_START=${CAPEXIT_CLOCK_START:-$(date -u +%Y-%m-%dT%H:%M:%S+00:00)}
.venv/bin/capexit demo
exec .venv/bin/capexit serve --host "${HOST:-127.0.0.1}" --port "${PORT:-5000}"
