"""Altair charts of score tracks: mm:ss time axis, threshold rule, shaded segments, tooltips, zoom/pan."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from core.events import ScoreTrack, Segment

MAX_POINTS = 2000  # above this the chart is downsampled, keeping each bucket's peak
PICK = "pick"  # name of the click selection; st.altair_chart returns it under event.selection.pick

# Vega expressions that print seconds as m:ss, and as m:ss.s for short clips (whole seconds would repeat labels)
MMSS = "floor(datum.value / 60) + ':' + (datum.value % 60 < 10 ? '0' : '') + floor(datum.value % 60)"
MMSS_TENTHS = "floor(datum.value / 60) + ':' + (datum.value % 60 < 10 ? '0' : '') + format(datum.value % 60, '.1f')"
TENTHS_BELOW_S = 20.0  # a time axis shorter than this is labelled in tenths of a second
LEGEND_PX = 40  # the legend's height (models compared, cues shown), added so that it does not shrink the plot
# Models and cues get colours far from each other and from the threshold's yellow (#ffbd45) and the segments' red:
# Streamlit's own palette gave two models two shades of blue, and dark2 gave the first cue an orange like the rule.
MODEL_COLOURS = ["#4ea8ff", "#c77dff", "#2ec4b6", "#f4f1de"]
CUE_COLOURS = ["#ff5fa2", "#7bd389", "#b8b8ff", "#e0e0e0"]


def mmss(t: float) -> str:
    """Seconds -> 'm:ss.s'."""
    t = max(0.0, float(t))
    return f"{int(t // 60)}:{t % 60:04.1f}"


def span_of(tracks: dict[str, ScoreTrack]) -> list[float]:
    """[first, last] sample time (s) over the tracks, from the tracks themselves (a downsampled table may lack
    the ends)."""
    ts = [tr.t for tr in tracks.values() if len(tr.t)]
    return [float(min(t[0] for t in ts)), float(max(t[-1] for t in ts))] if ts else [0.0, 1.0]


def downsample(
    track: ScoreTrack, max_points: int = MAX_POINTS, extra: dict[str, np.ndarray] | None = None
) -> pd.DataFrame:
    """Columns t, score, smoothed, frame (+ one per ``extra`` array, (N,) each). Above ``max_points`` keeps the
    highest-score row of each bucket."""
    df = pd.DataFrame({"t": track.t, "score": track.score, "smoothed": track.smoothed, "frame": track.frame})
    for name, values in (extra or {}).items():
        df[name] = values
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
    cues: dict[str, np.ndarray] | None = None,
) -> alt.LayerChart:
    """One line per model (raw score faint, smoothed bold), threshold rule, segments shaded in red.

    ``cues``: for the first model, {cue label: (N,) smoothed 0..1}, what each cue alone gives on the score's
    scale, smoothed like the bold line; drawn as thin dashed lines (the raw score is their maximum) and listed in
    the tooltip.
    Clicking the chart selects the nearest sample (selection ``pick``, field ``t``); dragging pans and
    the mouse wheel zooms the time axis.
    """
    frames = []
    labels = list(cues or {})
    cue_cols = {f"cue{i}": (cues or {})[label] for i, label in enumerate(labels)}  # plain field names for Vega
    for k, (model, tr) in enumerate(tracks.items()):
        d = downsample(tr, extra=cue_cols if k == 0 else None)
        d["model"] = model
        d["time"] = d["t"].map(mmss)
        frames.append(d)
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["t", "score", "smoothed"])
    span = float(df["t"].max() - df["t"].min()) if len(df) else 0.0
    short = span < TENTHS_BELOW_S
    x = alt.X(
        "t:Q",
        title="time (m:ss.s)" if short else "time (m:ss)",
        # labels that would touch (a 3 s clip ticks every 0.2 s) are thinned rather than run together
        axis=alt.Axis(labelExpr=MMSS_TENTHS if short else MMSS, grid=False, labelOverlap=True, labelSeparation=8),
        # the video's own span: a "nice" axis ran a 5:18 video on to 5:40
        scale=alt.Scale(domain=span_of(tracks), nice=False) if len(df) else alt.Undefined,
    )
    y = alt.Y("score:Q", title="anomaly score", scale=alt.Scale(domain=[0, 1]))
    model_scale = alt.Scale(domain=list(tracks), range=MODEL_COLOURS[: max(1, len(tracks))])
    colour = alt.Color(
        "model:N",
        scale=model_scale,
        # beside the cues' legend the score needs its own entry, or nothing says which line is the score
        legend=alt.Legend(
            orient="top", title="score (solid)" if cues else None, labelLimit=400, symbolStrokeWidth=4, symbolOpacity=1
        )
        if len(tracks) > 1 or cues
        else None,
    )
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    pick = alt.selection_point(name=PICK, on="click", nearest=True, fields=["t"], empty=False)

    base = alt.Chart(df)
    # the faint raw line shares the bold line's colours and legend entry. With one colour scale (no cues) Vega-Lite
    # merges the layers' legends, and a legend=None on one of them removed it; with the cues' independent scales it
    # would be listed twice.
    raw_colour = alt.Color("model:N", scale=model_scale, legend=None) if cues else colour
    raw = base.mark_line(strokeWidth=1, opacity=0.35).encode(x=x, y=y, color=raw_colour)
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
                *(
                    alt.Tooltip(field=c, type="quantitative", format=".2f", title=f"cue: {label}")
                    for c, label in zip(cue_cols, labels, strict=True)
                ),
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
    layers += [raw, smooth]
    if cue_cols and frames:
        long = frames[0].melt(id_vars=["t"], value_vars=list(cue_cols), var_name="cue", value_name="value")
        long["cue"] = long["cue"].map(dict(zip(cue_cols, labels, strict=True)))
        layers.append(
            alt.Chart(long)
            .mark_line(strokeWidth=2, strokeDash=[5, 3], opacity=1.0)  # drawn over the bold score it may equal
            .encode(
                x=x,
                y=alt.Y("value:Q", scale=alt.Scale(domain=[0, 1])),
                color=alt.Color(
                    "cue:N",
                    scale=alt.Scale(domain=labels, range=CUE_COLOURS[: len(labels)]),
                    legend=alt.Legend(orient="top", title="cue (dashed)", symbolStrokeWidth=3),
                ),
            )
        )
    layers.append(points)
    layers.append(
        alt.Chart(pd.DataFrame({"y": [threshold]})).mark_rule(color="#ffbd45", strokeDash=[6, 4]).encode(y="y:Q")
    )
    if selected_t is not None:
        layers.append(alt.Chart(pd.DataFrame({"t": [selected_t]})).mark_rule(color="#4ea8ff").encode(x="t:Q"))
    legend = len(tracks) > 1 or bool(cue_cols)  # a legend above the plot: it must not shrink the plot
    chart = alt.layer(*layers).properties(height=height + (LEGEND_PX if legend else 0))
    return chart.resolve_scale(color="independent") if cue_cols else chart
