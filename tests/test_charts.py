"""The score chart's spec: time labels that never repeat on short clips, and a plot that keeps its height when the
cue curves (and their legend) are shown."""

from __future__ import annotations

import numpy as np
import pytest

from core.events import ScoreTrack
from ui.charts import LEGEND_PX, score_chart


def track(seconds: float, fps: float = 10.0) -> ScoreTrack:
    t = np.arange(0, seconds, 1 / fps)
    return ScoreTrack.from_scores(np.arange(len(t)), t, np.linspace(0, 1, len(t)), 1.0, ())


def x_axis(spec: dict) -> dict:
    for layer in spec["layer"]:
        enc = layer.get("encoding", {}).get("x", {})
        if enc.get("field") == "t" and "axis" in enc:
            return {**enc["axis"], "title": enc.get("title")}
    raise AssertionError("no time axis")


def test_a_short_clip_is_labelled_in_tenths_a_long_one_in_seconds():
    short = x_axis(score_chart({"m": track(2.0)}, [], 0.5).to_dict())
    long = x_axis(score_chart({"m": track(90.0)}, [], 0.5).to_dict())
    # a 2 s fight clip: ticks at 0.2 s steps must read 0:00.2, 0:00.4... (whole seconds gave 0:00 0:00 0:00)
    assert "format(datum.value % 60, '.1f')" in short["labelExpr"] and short["title"] == "time (m:ss.s)"
    assert "format(" not in long["labelExpr"] and long["title"] == "time (m:ss)"
    # "0:00.0 0:00.2 0:00.4..." ran together on a 3 s clip: labels that would touch are thinned
    assert short["labelOverlap"] is True and short["labelSeparation"] >= 4


def test_showing_the_cues_keeps_the_plot_height():
    tr = track(30.0)
    plain = score_chart({"m": tr}, [], 0.5).to_dict()
    cues = score_chart({"m": tr}, [], 0.5, cues={"fight": np.zeros(len(tr))}).to_dict()
    assert cues["height"] == plain["height"] + 40  # the legend gets its own room above the same plot


def _hex(c: str) -> np.ndarray:
    return np.array([int(c[i : i + 2], 16) for i in (1, 3, 5)], float)


def colour_scale(spec: dict, field: str) -> dict:
    for layer in spec["layer"]:
        enc = layer.get("encoding", {}).get("color", {})
        if enc.get("field") == field:
            return enc["scale"]
    raise AssertionError(f"no colour for {field}")


def test_models_and_cues_get_colours_apart_from_each_other_and_from_the_threshold_rule():
    tr = track(30.0)
    spec = score_chart(
        {"motion v1": tr, "vigil v1": tr},
        [],
        0.5,
        cues={"moving objects": np.zeros(len(tr)), "fight": np.zeros(len(tr))},
    ).to_dict()
    models, cues = colour_scale(spec, "model"), colour_scale(spec, "cue")
    assert models["domain"] == ["motion v1", "vigil v1"] and cues["domain"] == ["moving objects", "fight"]
    rule = next(layer["mark"]["color"] for layer in spec["layer"] if layer["mark"].get("type") == "rule")
    colours = [*models["range"], *cues["range"]]
    # every pair of lines and each line against the dashed threshold rule: far apart in RGB (two blues were ~60)
    for i, a in enumerate([*colours, rule]):
        for b in [*colours, rule][i + 1 :]:
            assert np.linalg.norm(_hex(a) - _hex(b)) > 100, (a, b)


def test_the_time_axis_ends_where_the_video_ends():
    spec = score_chart({"m": track(318.0)}, [], 0.5).to_dict()
    scales = [
        layer["encoding"]["x"].get("scale")
        for layer in spec["layer"]
        if layer.get("encoding", {}).get("x", {}).get("field") == "t" and "axis" in layer["encoding"]["x"]
    ]
    assert scales and all(s["nice"] is False and s["domain"] == [0.0, pytest.approx(317.9)] for s in scales), scales


def legends(spec: dict) -> list[tuple[str, str | None]]:
    """(colour field, legend title) of every layer that draws a legend."""
    return [
        (enc["field"], enc["legend"].get("title"))
        for layer in spec["layer"]
        if (enc := layer.get("encoding", {}).get("color", {})).get("legend")
    ]


def test_beside_the_cues_the_legend_names_the_score_line():
    tr = track(30.0)
    spec = score_chart({"vigil v1": tr}, [], 0.5, cues={"fight": np.zeros(len(tr))}).to_dict()
    # one model and its cues: the cues had a legend, the score line none, so nothing said which line was the score;
    # once each (the faint raw line and the bold one share their entry)
    assert legends(spec) == [("model", "score (solid)"), ("cue", "cue (dashed)")]
    assert colour_scale(spec, "model")["domain"] == ["vigil v1"]
    assert legends(score_chart({"vigil v1": tr}, [], 0.5).to_dict()) == []  # alone, the line needs no legend


def test_two_compared_models_are_named_in_a_legend_that_does_not_shrink_the_plot():
    """Vega-Lite merges the legends of layers that share a colour scale; one layer with ``legend: null`` (the
    faint raw line) removed it, so nothing said which line was which model (seen in a browser)."""
    tr = track(30.0)
    spec = score_chart({"vigil v3": tr, "motion v1": tr}, [], 0.5, height=200).to_dict()
    legends = [
        layer["encoding"]["color"].get("legend", "default")
        for layer in spec["layer"]
        if layer.get("encoding", {}).get("color", {}).get("field") == "model"
    ]
    assert len(legends) == 2 and None not in legends, legends
    assert spec["height"] == 200 + LEGEND_PX
    assert score_chart({"vigil v3": tr}, [], 0.5, height=200).to_dict()["height"] == 200  # one model: no legend
