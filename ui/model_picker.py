"""The one model picker of the app (Analyze, Compare, Live, Label): a select box over the registry."""

from __future__ import annotations

import streamlit as st

from core.registry import ModelSpec
from core.settings import settings
from ui.cache import model_statuses


def model_picker(
    key: str,
    label: str = "Model",
    *,
    exclude: str | None = None,
    only_available: bool = False,
    preferred: str | None = None,
    select: str | None = None,
    empty: str = "No other model is registered.",
) -> ModelSpec | None:
    """The chosen model's spec when it can run here, else None (the reason is shown on the page).

    Unavailable models are listed as "— not available" (or left out with ``only_available``);
    ``preferred`` is the first choice (default: the default model, ``VIGIL_DEFAULT_MODEL``), ``select`` is
    chosen now when listed (a model just trained);
    ``empty`` is said when there is nothing to list.
    """
    preferred = preferred or settings().default_model
    statuses = [s for s in model_statuses() if s.spec.name != exclude and (s.available or not only_available)]
    if not statuses:
        st.info(empty)
        return None
    by_name = {s.spec.name: s for s in statuses}
    names = list(by_name)
    index = names.index(preferred) if preferred in by_name else 0
    if select in by_name:
        # a keyed widget ignores `index` once it has a value: drop that value so it starts at `select` (setting
        # the key instead made Streamlit warn of a default value also set via the Session State API)
        st.session_state.pop(key, None)
        index = names.index(select)
    name = st.selectbox(
        label,
        names,
        index=index,
        format_func=lambda n: n if by_name[n].available else f"{n} — not available",
        key=key,
        help="Every registered model; unavailable ones say what is missing.",
    )
    chosen = by_name[name]
    if chosen.plain:  # the plain line, as it holds here; how it works a hover away
        st.caption(chosen.plain, help=chosen.spec.description or None)
    if chosen.available and chosen.limits:  # it runs, but without a part: said before it runs, not after
        st.info(chosen.limits, icon=":material/info:")
    if not chosen.available:
        ready = ", ".join(n for n, s in by_name.items() if s.available) or "none"
        st.warning(f"**{name}** cannot run here: {chosen.reason}. Available now: {ready}.")
        return None
    return chosen.spec
