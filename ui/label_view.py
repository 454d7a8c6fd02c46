"""Drawing helpers for the Label page: player, score curve, thumbnails, label history, training status."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core.errors import VigilError
from core.events import Segment
from core.labels import Label, LabelProgress, Suggestion
from core.sources import open_source
from core.store import AnalysisRecord
from ui.charts import score_chart
from ui.results import playable_path


def word(label: int) -> str:
    return "abnormal" if label == 1 else "normal"


def progress(p: LabelProgress) -> None:
    c1, c2, c3 = st.columns(3)
    c1.metric("Labelled", f"{p.labelled} / {p.total}")
    c2.metric("Abnormal", p.abnormal)
    c3.metric("Normal", p.normal)
    st.progress(p.fraction, text=f"{p.fraction:.0%} labelled · balance {p.abnormal} abnormal : {p.normal} normal")


def unreadable(path: Path) -> str | None:
    """Why ``path`` cannot be labelled (not a video this app can read, or gone), in words; None when it opens."""
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return f"'{path.name}' is gone from {path.parent}."
    return _open_problem(str(path), stamp)


@st.cache_data(max_entries=512, show_spinner=False)
def _open_problem(path: str, stamp: int) -> str | None:
    """``unreadable`` for one version of the file (``stamp``: its mtime, ns): a replaced file is looked at again."""
    try:
        open_source(path)
    except (VigilError, OSError) as err:
        return str(err)
    return None


def skipped(name: str, reason: str) -> None:
    """A queued file that cannot be read: said as skipped, with the reason, and nothing offered to label it."""
    st.warning(f"Skipped: **{name}** cannot be labelled. {reason}", icon=":material/block:")
    st.caption("It stays unlabelled and out of training. Fix or replace the file, or go on with **Next →**.")


def player(path: Path, curve: bool = True) -> None:
    """The browser-playable copy Analyze and History play (``core.media.playable_video``: the file itself when the
    browser plays it, else an H.264 transcode made once and cached); frame folders get a note instead of a player.
    ``curve``: a score curve is drawn below (the page analyses the video), so a missing player can point to it."""
    if path.is_dir():
        st.caption("A folder of numbered images: no player; see the thumbnails.")
        return
    playable = playable_path(str(path))  # spinner while the copy is made; cached for every page
    if playable is None:
        below = "; the score curve and thumbnails below still show what the model saw" if curve else ""
        st.warning(f"Could not prepare '{path.name}' for the browser{below}.")
        return
    st.video(playable)


def analysis(rec: AnalysisRecord, top: int = 4) -> None:
    """Score curve (raw and smoothed on a fixed 0..1 axis, as on Analyze: a self-scaling axis made a calm video's
    0.05 look like a spike), its segments and threshold, and the worst moments as thumbnails."""
    st.altair_chart(
        score_chart({rec.model: rec.track}, rec.segments, rec.events.threshold, height=180), width="stretch"
    )
    shots = [(m, rec.thumbnails.get(m.frame)) for m in rec.moments[:top]]
    shots = [(m, p) for m, p in shots if p is not None and p.exists()]
    if shots:
        cols = st.columns(top)  # a fixed grid: one thumbnail should not fill the page
        for col, (m, p) in zip(cols, shots, strict=False):
            col.image(str(p), caption=f"{m.t:.1f} s · {m.score:.2f}", width="stretch")


def _clock(t: float) -> str:
    return f"{int(t // 60)}:{int(t % 60):02d}"


def suggestion_text(s: Suggestion, segments: list[Segment] | None = None) -> str:
    """What the model suggests, in words that are true of a score: its peak against the line, never a 'confidence'
    (a score of 0.63 is not 63 % sure). ``segments``: the analysis's segments, the highest is named when given."""
    line = f"{Suggestion.LINE:g}"
    if not s.above_line:
        return f"Suggested: **normal** — nothing above the {line} line (peak {s.score:.2f})."
    top = max(segments or [], key=lambda g: g.peak, default=None)
    where = ""
    if top is not None:
        cause = f", {top.cause}" if top.cause else ""
        where = f" (segment {_clock(top.start)}–{_clock(top.end)}{cause})"
    return f"Suggested: **abnormal** — peak score {s.score:.2f}, above the {line} line{where}."


def suggestion_note(s: Suggestion | None, model: str, segments: list[Segment] | None = None) -> None:
    if s is None:
        st.caption(f"No suggestion yet from '{model}' (analyse the video, or score the queue).")
        return
    st.info(f"{suggestion_text(s, segments)} Not a label until you confirm it.", icon=":material/smart_toy:")
    name = f"{s.model} {s.version_short}".strip()
    st.caption(f"From model **{name}**.", help=f"Model version: `{s.model_version}`" if s.model_version else None)


def current_label(lab: Label | None) -> None:
    if lab is None:
        st.caption("Not labelled yet.")
        return
    cat = f" ({lab.category})" if lab.category else ""
    st.success(f"Labelled **{lab.word}**{cat} by {lab.who} at {lab.at}", icon=":material/label:")


def history(rows: list[Label]) -> None:
    if not rows:
        st.caption("No labels yet.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "when": h.at,
                    "who": h.who,
                    "label": h.word,
                    "category": h.category or "",
                    "note": h.note,
                    "from": h.origin,
                    "model suggested": _suggested(h),
                }
                for h in rows
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def _suggested(h: Label) -> str:
    if h.suggested_label is None:
        return ""
    score = h.suggested_score
    peak = "" if score is None else f", peak {score:.2f}"
    short = (h.suggested_version or "").split(":", 1)[0]
    return f"{word(h.suggested_label)} ({h.suggested_by}{f' v{short}' if short else ''}{peak})"


def metrics(m: dict) -> None:
    """A trained model's headline figures: cross-validated AUC and what it was trained on."""
    auc = m.get("cv_auc")
    c1, c2, c3 = st.columns(3)
    c1.metric("Cross-validated AUC", "—" if auc is None else f"{auc:.3f}")
    c2.metric("Videos", m.get("n_videos", "—"))
    c3.metric("Abnormal : normal", f"{m.get('n_abnormal', '—')} : {m.get('n_normal', '—')}")
    if auc is None:
        st.caption("Too few videos (or groups) for cross-validation; label more to get an AUC.")
    elif auc <= 0.5:
        st.warning(
            f"Cross-validated AUC {auc:.2f}: on videos it had not seen, this model ranked abnormal videos no better "
            "than chance (0.5){' — worse, in fact' if auc < 0.45 else ''}. Do not rely on it: label more videos, "
            "or check the labels, and train again."
        )
