#!/usr/bin/env bash
# Sets up the virtualenv on first use, then starts the app on http://localhost:8501.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q -r requirements.txt
exec .venv/bin/streamlit run app.py "$@"
