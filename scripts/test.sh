#!/usr/bin/env bash
# Set up and run every test: once on SQLite, once more on PostgreSQL when a server answers on 127.0.0.1:5432.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The browser tests drive Debian's Chromium (a test tool cannot download its own browser here).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi
.venv/bin/ruff check engine webapp bench tests scripts
.venv/bin/python -m pytest "$@"

PG_HOST=${PG_HOST:-127.0.0.1}
if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -q -h "$PG_HOST" 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  sleep 2
fi
if command -v psql >/dev/null 2>&1 && pg_isready -q -h "$PG_HOST" 2>/dev/null; then
  db="capexit_test_$$"
  psql -q -h "$PG_HOST" -U postgres -d postgres -c "CREATE DATABASE $db" >/dev/null
  trap 'psql -q -h "$PG_HOST" -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT
  echo "--- again on PostgreSQL (database $db)"
  CAPEXIT_TEST_DATABASE_URL="postgresql+psycopg://postgres@$PG_HOST:5432/$db" .venv/bin/python -m pytest "$@"
else
  echo "--- PostgreSQL not reachable on $PG_HOST:5432: PostgreSQL run skipped"
fi
