#!/usr/bin/env bash
# Sets up the virtualenv on first use, then starts the app on http://localhost:8501 (this machine only;
# see README "Opening Vigil to a network" for serving others, which needs login).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q -r requirements.txt
.venv/bin/python -m ui.serving "$@"   # one line and exit 2 when it would serve a network without login
exec .venv/bin/streamlit run app.py "$@"
