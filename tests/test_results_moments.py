"""The results view's worst moments: a moment above the line says why (its cause), one below it says so instead of
naming the cue that happened to be highest (a calm video's worst moment captioned "fight" reads as a fight seen)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.config import EventConfig
from core.engine import analyze
from core.store import Store


def _captions(at: AppTest) -> list[str]:
    assert not at.exception, at.exception
    return [c.value for c in at.caption if c.value.startswith("score ")]


def test_worst_moments_name_a_cause_only_above_the_line(make_video):
    clip = make_video("yard.avi", n=100, fast_from=50, fast_to=58)
    rec = analyze(clip, model="vigil", store=Store(), events=EventConfig(threshold=0.3, min_duration=0.0))
    causes = [rec.track.cause_at(rec.track.index_at(m.t)) for m in rec.moments]
    assert causes[0] == "fast object" and len(rec.moments) >= 2
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)
    at.switch_page("app_pages/history.py")
    at.query_params["id"] = rec.id
    at.run()

    def expected(line: float) -> list[str]:
        return [
            f"score {m.score:.2f} · " + ((c or "above the line") if m.score >= line else "below the line")
            for m, c in zip(rec.moments, causes, strict=True)
        ]

    assert _captions(at) == expected(0.3)
    header = next(c for c in at.caption if c.value.startswith("Model "))
    assert header.value.startswith("Model **vigil v3** · analysed") and rec.model_version not in header.value
    assert rec.model_version in header.help and rec.id in header.help  # kept a hover away
    assert _captions(at)[0].endswith("· fast object")  # the cue that found it
    at.slider(key=f"history.{rec.id}.thr").set_value(0.95).run()  # the analyst raises the line above them all
    assert _captions(at) == expected(0.95)
    named_below = [c for m, c in zip(rec.moments, causes, strict=True) if c and m.score < 0.95]
    assert named_below, (causes, [m.score for m in rec.moments])  # a cue named a moment the line now leaves out
