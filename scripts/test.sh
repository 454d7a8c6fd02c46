#!/usr/bin/env bash
# Sets up a fresh machine for the tests (system packages, virtualenv, Python packages), then runs
# ruff and pytest. Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not browser"`.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium chromium-driver)
command -v ffmpeg >/dev/null 2>&1 || need_apt+=(ffmpeg)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements-dev.txt

if [ ! -d ../shared/data ] && [ -z "${VIGIL_SHARED_DIR:-}" ]; then
  echo "warning: ../shared is missing; the tests that use its data and models will fail (see README)." >&2
fi

.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
