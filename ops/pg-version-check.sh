#!/usr/bin/env bash
# Runs the database tests against a throwaway PostgreSQL of another major version (default 15;
# the embedded server is 16), so both versions DESIGN.md promises stay tested.
#   bash ops/pg-version-check.sh [15]
# Uses Debian's postgresql-N packages; installs them when missing (needs root and apt).
# Exits 0 with a one-line notice when that version cannot be had on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-15}"
bin="/usr/lib/postgresql/$version/bin"

if [ ! -x "$bin/postgres" ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$version"; } \
      >/dev/null 2>&1 || true
  fi
fi
if [ ! -x "$bin/postgres" ]; then
  echo "pg-version-check: PostgreSQL $version is not installable here; skipped"
  exit 0
fi

run_as=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  run_as=(runuser -u postgres --)
fi
work="$(mktemp -d /tmp/straatstem-pg$version.XXXXXX)"
chmod 755 "$work"
[ "${#run_as[@]}" -gt 0 ] && chown postgres "$work"
cleanup() {
  "${run_as[@]}" "$bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"${run_as[@]}" "$bin/initdb" -D "$work/data" --auth=trust -U postgres --encoding=UTF8 >/dev/null
"${run_as[@]}" "$bin/pg_ctl" -D "$work/data" -l "$work/log" -w \
  -o "-k $work -h '' -c fsync=on" start >/dev/null
echo "pg-version-check: $("$bin/postgres" --version)"
DATABASE_URL="postgresql://postgres@/postgres?host=$work" bash ops/dev.sh test -q -p no:cacheprovider \
  tests/api tests/aggregation tests/ops/test_backup_restore.py tests/ops/test_resilience_tools.py
