"""Deep-link shim: the real page is pages/views/ (see app.py).

Streamlit runs files found directly in pages/ in its legacy mode until the router has run once in
the process; this hands such a first request to app.py, whose st.navigation then serves the page.
"""

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).resolve().parents[1] / "app.py"))
