#!/usr/bin/env bash
# The two set-up commands of the README:
#   bash ops/dev.sh demo   install into .venv and start the demo (embedded PostgreSQL, demo data)
#   bash ops/dev.sh test   install into .venv and run the tests
#   bash ops/dev.sh lint   ruff and mypy (CI runs this after the tests)
# Needs Python 3.11+ (set PYTHON to choose one). Everything else is installed from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${STRAATSTEM_VENV:-.venv}"

ensure_venv() {
  if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
    echo "straatstem: error: Python 3.11 or newer is required ($PYTHON is $("$PYTHON" -V 2>&1))" >&2
    exit 2
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
  fi
  # Reinstall only when the dependency list changed, so repeated runs start fast.
  local stamp="$VENV/.straatstem-$1-$(sha256sum pyproject.toml | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    # The CPU build of torch lies on disk as 2.13.0; any other request would fetch CUDA builds.
    "$VENV/bin/python" -m pip install --quiet torch==2.13.0
    "$VENV/bin/python" -m pip install --quiet -e ".[$1]"
    rm -f "$VENV"/.straatstem-"$1"-*
    touch "$stamp"
  fi
}

# The web front ends (api/web): npm packages from the lockfile, then the esbuild bundle, each
# redone only when its inputs changed. Without npm the API still runs; the pages then say
# they are not built.
ensure_web() {
  if ! command -v npm >/dev/null 2>&1; then
    echo "straatstem: warning: npm not found, so the web pages are not built (install Node.js 18+ and npm)" >&2
    return 0
  fi
  local lock src
  lock="$(sha256sum api/web/package-lock.json | cut -c1-16)"
  if [ ! -f "api/web/node_modules/.straatstem-$lock" ]; then
    (cd api/web && npm ci --no-audit --no-fund --loglevel=error)
    touch "api/web/node_modules/.straatstem-$lock"
  fi
  src="$(find api/web/build.mjs api/web/package-lock.json api/web/src api/web/pages -type f | sort | xargs sha256sum | sha256sum | cut -c1-16)"
  if [ ! -f "api/web/dist/.straatstem-$src" ]; then
    (cd api/web && npm run --silent build)
    touch "api/web/dist/.straatstem-$src"
  fi
}

# Debian's Chromium for the browser tests (Playwright drives it; no browser is downloaded).
ensure_chromium() {
  if [ -x "${STRAATSTEM_CHROMIUM:-/usr/bin/chromium}" ]; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "straatstem: installing Debian's chromium for the browser tests" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "straatstem: warning: /usr/bin/chromium is missing and cannot be installed here; browser tests will skip" >&2
  fi
}

case "${1:-}" in
  demo)
    ensure_venv test
    ensure_web
    shift
    exec "$VENV/bin/straatstem" demo "$@"
    ;;
  test)
    ensure_venv test
    ensure_web
    ensure_chromium
    shift
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  lint)
    ensure_venv test
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .
    "$VENV/bin/mypy"
    ;;
  *)
    echo "usage: bash ops/dev.sh demo|test|lint" >&2
    exit 2
    ;;
esac
