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

case "${1:-}" in
  demo)
    ensure_venv test
    shift
    exec "$VENV/bin/straatstem" demo "$@"
    ;;
  test)
    ensure_venv test
    shift
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  lint)
    ensure_venv test
    "$VENV/bin/ruff" check .
    "$VENV/bin/mypy"
    ;;
  *)
    echo "usage: bash ops/dev.sh demo|test|lint" >&2
    exit 2
    ;;
esac
