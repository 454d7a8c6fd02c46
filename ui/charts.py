"""Altair charts of score tracks: mm:ss time axis, threshold rule, shaded segments, tooltips, zoom/pan."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from core.events import ScoreTrack, Segment

MAX_POINTS = 2000  # above this the chart is downsampled, keeping each bucket's peak
PICK = "pick"  # name of the click selection; st.altair_chart returns it under event.selection.pick

# Vega expression that prints seconds as m:ss
MMSS = "floor(datum.value / 60) + ':' + (datum.value % 60 < 10 ? '0' : '') + floor(datum.value % 60)"


def mmss(t: float) -> str:
    """Seconds -> 'm:ss.s'."""
    t = max(0.0, float(t))
    return f"{int(t // 60)}:{t % 60:04.1f}"


def downsample(track: ScoreTrack, max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Columns t, score, smoothed, frame. Above ``max_points`` keeps the highest-score row of each bucket."""
    df = pd.DataFrame({"t": track.t, "score": track.score, "smoothed": track.smoothed, "frame": track.frame})
    if len(df) <= max_points:
        return df
    bucket = np.floor(np.arange(len(df)) * max_points / len(df)).astype(int)
    idx = df.assign(b=bucket).groupby("b")["score"].idxmax().to_numpy()
    return df.loc[idx].reset_index(drop=True)


def score_chart(
    tracks: dict[str, ScoreTrack],
    segments: list[Segment],
    threshold: float,
    selected_t: float | None = None,
    height: int = 260,
) -> alt.LayerChart:
    """One line per model (raw score faint, smoothed bold), threshold rule, segments shaded in red.

    Clicking the chart selects the nearest sample (selection ``pick``, field ``t``); dragging pans and
    the mouse wheel zooms the time axis.
    """
    frames = []
    for model, tr in tracks.items():
        d = downsample(tr)
        d["model"] = model
        d["time"] = d["t"].map(mmss)
        frames.append(d)
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["t", "score", "smoothed"])
    x = alt.X("t:Q", title="time (m:ss)", axis=alt.Axis(labelExpr=MMSS, grid=False))
    y = alt.Y("score:Q", title="anomaly score", scale=alt.Scale(domain=[0, 1]))
    colour = alt.Color("model:N", legend=alt.Legend(orient="top", title=None) if len(tracks) > 1 else None)
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    pick = alt.selection_point(name=PICK, on="click", nearest=True, fields=["t"], empty=False)

    base = alt.Chart(df)
    raw = base.mark_line(strokeWidth=1, opacity=0.35).encode(x=x, y=y, color=colour)
    smooth = base.mark_line(strokeWidth=2.2).encode(
        x=x, y=alt.Y("smoothed:Q", scale=alt.Scale(domain=[0, 1])), color=colour
    )
    points = (
        base.mark_point(size=60, opacity=0, filled=True)
        .encode(
            x=x,
            y=y,
            tooltip=[
                alt.Tooltip("time:N", title="time"),
                alt.Tooltip("score:Q", format=".2f"),
                alt.Tooltip("smoothed:Q", format=".2f"),
                alt.Tooltip("model:N"),
            ],
        )
        .add_params(pick, zoom)
    )
    layers = []
    if segments:
        seg_df = pd.DataFrame(
            {
                "start": [s.start for s in segments],
                "end": [s.end for s in segments],
                "segment": [f"{mmss(s.start)} – {mmss(s.end)}" for s in segments],
                "peak": [s.peak for s in segments],
            }
        )
        layers.append(
            alt.Chart(seg_df)
            .mark_rect(color="#ff4b4b", opacity=0.18)
            .encode(x="start:Q", x2="end:Q", tooltip=["segment:N", alt.Tooltip("peak:Q", format=".2f")])
        )
    layers += [raw, smooth, points]
    layers.append(
        alt.Chart(pd.DataFrame({"y": [threshold]})).mark_rule(color="#ffbd45", strokeDash=[6, 4]).encode(y="y:Q")
    )
    if selected_t is not None:
        layers.append(alt.Chart(pd.DataFrame({"t": [selected_t]})).mark_rule(color="#4ea8ff").encode(x="t:Q"))
    return alt.layer(*layers).properties(height=height)
