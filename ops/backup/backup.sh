#!/usr/bin/env bash
# A backup of the straatstem database: pg_dump's custom format, a SHA-256 checksum file and a
# manifest (row counts per table, checksums of the frozen release and ledger rows), the dump
# and the manifest taken from the same snapshot, so the manifest describes exactly what the
# dump holds even while reports keep arriving.
#
#   DATABASE_URL=postgresql://... bash ops/backup/backup.sh [OUTPUT.dump]
#
# Writes OUTPUT.dump (default: ./straatstem-<UTC time>.dump), OUTPUT.dump.sha256 (for
# `sha256sum -c`) and OUTPUT.dump.manifest.json, readable by the owner only: a dump holds
# report rows and moderators' free text. Check a dump with ops/backup/restore_check.py.
#
# pg_dump must have the server's major version. It is looked for in $PG_BIN, the pgserver
# package of ./.venv, /usr/lib/postgresql/*/bin and PATH.
set -euo pipefail
umask 077

die() {
  echo "backup: error: $*" >&2
  exit 2
}

[ -n "${DATABASE_URL:-}" ] || die "DATABASE_URL is not set (the postgresql:// URL of the database to back up)"
case "$DATABASE_URL" in
  postgres://* | postgresql://*) ;;
  *) die "DATABASE_URL must start with postgresql://" ;;
esac
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$(dirname "$here")")"
out="${1:-straatstem-$(date -u +%Y%m%dT%H%M%SZ).dump}"
[ -d "$(dirname "$out")" ] || die "the directory of $out does not exist"
[ ! -e "$out" ] || die "$out exists already; a backup never overwrites one"

# --- the manifest queries; restore_check.py runs the same text (the tests compare them) ---
# BEGIN MANIFEST SQL
COUNTS_QUERY_SQL="select 'select coalesce(json_object_agg(t, n order by t), ''{}'') from (' || coalesce(string_agg(format('select %L as t, count(*) as n from %I.%I', n.nspname || '.' || c.relname, n.nspname, c.relname), ' union all ' order by n.nspname, c.relname), 'select null::text as t, 0::bigint as n where false') || ') counted' from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p') and n.nspname <> 'information_schema' and n.nspname !~ '^pg_'"
FROZEN_SQL="select json_build_object('release', (select encode(sha256(convert_to(coalesce(string_agg(format('%s %s %s %s %s', municipality, audience, period, k, encode(sha256(body), 'hex')), E'\n' order by municipality, audience, period), ''), 'UTF8')), 'hex') from release), 'epsilon_ledger', (select encode(sha256(convert_to(coalesce(string_agg(format('%s %s %s %s %s %s', municipality, audience, period, layer, epsilon, cap), E'\n' order by municipality, audience, period, layer), ''), 'UTF8')), 'hex') from epsilon_ledger))"
# END MANIFEST SQL

candidates() {
  local dir
  [ -n "${PG_BIN:-}" ] && echo "$PG_BIN"
  for dir in "$root"/.venv/lib/python3*/site-packages/pgserver/pginstall/bin; do
    [ -d "$dir" ] && echo "$dir"
  done
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -rn); do
    echo "$dir"
  done
  if command -v pg_dump >/dev/null 2>&1; then dirname "$(command -v pg_dump)"; fi
}

major_of() {
  "$1/pg_dump" --version 2>/dev/null | awk '{ split($3, v, "."); print v[1] }'
}

bin=""
any_psql=""
while IFS= read -r dir; do
  if [ -z "$any_psql" ] && [ -x "$dir/psql" ]; then any_psql="$dir/psql"; fi
done < <(candidates)
[ -n "$any_psql" ] || die "no psql found; install the PostgreSQL client or set PG_BIN"
version_num="$("$any_psql" "$DATABASE_URL" -X -q -A -t -v ON_ERROR_STOP=1 -c 'show server_version_num' 2>&1)" ||
  die "cannot reach the database: ${version_num##*FATAL:  }"
server_major=$((version_num / 10000))
while IFS= read -r dir; do
  if [ -x "$dir/pg_dump" ] && [ -x "$dir/psql" ] && [ "$(major_of "$dir")" = "$server_major" ]; then
    bin="$dir"
    break
  fi
done < <(candidates)
[ -n "$bin" ] || die "no pg_dump of PostgreSQL $server_major found; install postgresql-client-$server_major or set PG_BIN"

# The exporting transaction stays open (a psql session fed through two FIFOs) until the dump
# and the manifest are done: both read the same snapshot.
work="$(mktemp -d)"
partial="$out.partial"
cleanup() {
  exec 3>&- 4<&- 2>/dev/null || true
  [ -n "${session:-}" ] && wait "$session" 2>/dev/null || true
  rm -rf "$work"
  rm -f "$partial" "$partial.manifest"
}
trap cleanup EXIT
mkfifo "$work/to-psql" "$work/from-psql"
"$bin/psql" "$DATABASE_URL" -X -q -A -t -v ON_ERROR_STOP=1 <"$work/to-psql" >"$work/from-psql" 2>&1 &
session=$!
exec 3>"$work/to-psql" 4<"$work/from-psql"
ask() {
  local line
  printf '%s;\n' "$1" >&3
  IFS= read -r -t 600 line <&4 || die "the snapshot session ended (${2})"
  printf '%s' "$line"
}
snapshot="$(ask "begin isolation level repeatable read, read only; select pg_export_snapshot()" "opening a snapshot")"
[[ "$snapshot" =~ ^[0-9A-F]+-[0-9A-F]+-[0-9]+$ ]] || die "could not open a snapshot: $snapshot"

"$bin/pg_dump" --format=custom --snapshot="$snapshot" --file="$partial" --dbname="$DATABASE_URL" ||
  die "pg_dump failed"
counts_sql="$(ask "$COUNTS_QUERY_SQL" "building the count query")"
tables="$(ask "$counts_sql" "counting rows")"
frozen="$(ask "$FROZEN_SQL" "hashing releases")"
[[ "$tables" == "{"* && "$frozen" == "{"* ]] || die "the manifest query failed: $tables $frozen"
printf 'commit;\n' >&3

printf '{"pg_dump_major": %s, "tables": %s, "frozen": %s}\n' "$server_major" "$tables" "$frozen" > "$partial.manifest"
mv "$partial.manifest" "$out.manifest.json"
mv "$partial" "$out"
(cd "$(dirname "$out")" && sha256sum "$(basename "$out")") > "$out.sha256"
echo "backup: wrote $out ($(wc -c < "$out") bytes, PostgreSQL $server_major), $out.sha256 and $out.manifest.json"
