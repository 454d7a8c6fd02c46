"""Live alerts name the object behind an object-caused alert ("fast object (bicycle)") when the detector is
ready, with a yellow box on the snapshot; otherwise (no detector, still loading, failing) the plain cause,
and the alert is never held back. Stub namers for the rules; the real YOLOv8n on a UCSD Ped2 cyclist."""

from __future__ import annotations

import os
import shutil
import threading

import cv2
import numpy as np
import pytest
from conftest import shared_path
from test_live import ScriptedScorer, ScriptedStream, frame, wait_for

from core.alerts import AlertConfig
from core.families.objects import naming
from core.live import LiveProcessor
from core.outbox import Outbox, email_for, list_alerts
from core.overlay import NAMED
from core.scorers.base import Evidence

CULPRIT = np.array([[40, 60, 100, 140]], np.float32)  # xyxy px of the 240x320 frames the scorer is given
BIKE = np.array([50.0, 80.0, 110.0, 150.0])  # where the stub detector "finds" the bicycle, same pixels


class CausedStream(ScriptedStream):
    """A scripted stream whose evidence says why: a culprit box (or none) and a cause."""

    def __init__(self, fn, threads, evidence: Evidence):
        super().__init__(fn, threads)
        self.ev = evidence

    def evidence(self, index):
        return self.ev


class CausedScorer(ScriptedScorer):
    def __init__(self, evidence: Evidence):
        super().__init__(lambda t, f: 0.9 if f[0, 0, 0] >= 50 else 0.05)
        self.ev = evidence

    def stream(self, live=False):
        return CausedStream(self.fn, self.threads, self.ev)


class StubNamer:
    """Stands for ``naming.ObjectNamer``: records what it was asked, answers a bicycle (or raises)."""

    def __init__(self, fail: bool = False):
        self.fail, self.asked = fail, []

    def detect(self, image):
        return []

    def name(self, image, box):
        self.asked.append((image.copy(), np.asarray(box, float)))
        if self.fail:
            raise RuntimeError("detector exploded")
        return naming.Detection(BIKE, "bicycle", 0.7)


def alert_processor(evidence: Evidence) -> tuple[LiveProcessor, list[float]]:
    """A processor with an outbox whose scripted model gives ``evidence``, and its settable clock."""
    clock = [1000.0]
    proc = LiveProcessor(
        CausedScorer(evidence),
        "scripted v1",
        AlertConfig(threshold=0.5, seconds=2.0, cooldown=60, smooth_seconds=0.0),
        source="lobby",
        outbox=Outbox(),
        clock=lambda: clock[0],
    )
    return proc, clock


def feed_episode(proc: LiveProcessor, clock: list[float]) -> None:
    """8 s at 10 fps (calm 0-3 s, anomalous 3-8 s: the alert fires at 5 s), each frame scored before the next."""
    for i in range(80):
        clock[0] = 1000.0 + i / 10
        proc.submit(frame(60 if i >= 30 else 0, (240, 320)), clock[0])
        assert wait_for(lambda n=i: proc.snapshot().stats.frames_scored == n + 1, 5)


def run_alert(evidence: Evidence, wait_namer: bool = True):
    """One episode through a processor with an outbox: the one alert."""
    proc, clock = alert_processor(evidence)
    try:
        if wait_namer:
            assert proc.namer.wait(10)
        feed_episode(proc, clock)
    finally:
        proc.stop()
    (rec,) = list_alerts()
    assert rec.kind == "alert" and rec.fired_at == pytest.approx(1005.0)  # on time, whatever the namer did
    return rec


def yellow(path) -> int:
    img = cv2.imread(str(path)).astype(int)
    return int((np.abs(img - np.array(NAMED)).max(axis=2) < 40).sum())


def test_a_ready_namer_names_the_alert_and_boxes_the_object_in_yellow(monkeypatch):
    stub = StubNamer()
    monkeypatch.setattr(naming, "object_namer", lambda: stub)
    rec = run_alert(Evidence(boxes=CULPRIT, culprit=0, cause="fast object"))
    assert rec.details["cause"] == "fast object (bicycle)"
    mail = email_for(rec)
    assert "Why:        fast object (bicycle)\n" in mail.body and mail.subject.endswith(", fast object (bicycle))")
    # one detection, on the raw peak frame (no overlay drawn on it), with the culprit's box in its pixels
    ((image, box),) = stub.asked
    assert image.shape == (240, 320, 3) and int(image.max()) == 60 and int(image.min()) == 60
    assert box.tolist() == CULPRIT[0].tolist()
    snap = cv2.imread(str(rec.snapshot_path))
    assert snap.shape == (240, 320, 3) and yellow(rec.snapshot_path) > 100
    # the yellow box is where the detector found the bicycle (same pixels as the snapshot)
    assert np.abs(snap[80, 80].astype(int) - NAMED).max() < 40 and np.abs(snap[110, 50].astype(int) - NAMED).max() < 40


@pytest.mark.parametrize(
    "namer, evidence",
    [
        ("none", Evidence(boxes=CULPRIT, culprit=0, cause="fast object")),  # no weights here
        ("raises", Evidence(boxes=CULPRIT, culprit=0, cause="fast object")),  # the detector fails on the frame
        ("load fails", Evidence(boxes=CULPRIT, culprit=0, cause="fast object")),  # it cannot even load
        ("stub", Evidence(boxes=CULPRIT, culprit=-1, cause="fast object")),  # no culprit box to name
        ("stub", Evidence(boxes=CULPRIT, culprit=0, cause="unusual motion")),  # not an object's cause
    ],
)
def test_the_alert_keeps_its_plain_cause_when_it_cannot_be_named(monkeypatch, namer, evidence):
    stub = StubNamer(fail=namer == "raises")

    def loader():
        if namer == "load fails":
            raise RuntimeError("no ultralytics")
        return None if namer == "none" else stub

    monkeypatch.setattr(naming, "object_namer", loader)
    rec = run_alert(evidence)
    assert rec.details["cause"] == evidence.cause and f"Why:        {evidence.cause}\n" in email_for(rec).body
    assert yellow(rec.snapshot_path) == 0
    assert len(stub.asked) == (1 if namer == "raises" else 0)  # asked only for an object cause with a box


def test_an_alert_never_waits_for_a_detector_still_loading(monkeypatch):
    """The detector takes seconds to load: scoring and the alert go on without it, with the plain cause."""
    release, stub = threading.Event(), StubNamer()

    def slow_loader():
        release.wait(30)
        return stub

    monkeypatch.setattr(naming, "object_namer", slow_loader)
    try:
        rec = run_alert(Evidence(boxes=CULPRIT, culprit=0, cause="fast object"), wait_namer=False)
    finally:
        release.set()
    assert rec.details["cause"] == "fast object" and yellow(rec.snapshot_path) == 0 and stub.asked == []


def test_naming_an_alert_never_holds_up_scoring(monkeypatch):
    """Naming runs a detection (~120 ms; seconds on a weak laptop): the scoring thread goes on meanwhile, and
    the alert is written, named, once the detector answers."""
    asked, release = threading.Event(), threading.Event()

    class SlowNamer(StubNamer):
        def name(self, image, box):
            asked.set()
            release.wait(30)
            return super().name(image, box)

    monkeypatch.setattr(naming, "object_namer", lambda: SlowNamer())
    proc, clock = alert_processor(Evidence(boxes=CULPRIT, culprit=0, cause="fast object"))
    try:
        assert proc.namer.wait(10)
        feed_episode(proc, clock)  # the detector is stuck from the alert (frame 50) on
        assert asked.is_set() and list_alerts() == []  # 30 frames scored after the alert while it was named
    finally:
        release.set()
        proc.stop()
    (rec,) = list_alerts()
    assert rec.details["cause"] == "fast object (bicycle)" and rec.fired_at == pytest.approx(1005.0)


def test_without_an_outbox_no_detector_is_loaded(monkeypatch):
    calls = []
    monkeypatch.setattr(naming, "object_namer", lambda: calls.append(1))
    proc = LiveProcessor(ScriptedScorer(), "m")
    assert proc.namer is None and calls == []


@pytest.mark.slow
def test_the_real_detector_names_the_cyclist_of_a_ped2_clip_in_a_live_alert(tmp_path, monkeypatch, ucsd):
    """UCSD Ped2 testing clip 02 (10 fps) through the real Live processor and the default model: the alert
    fired by the cyclist says 'fast object (bicycle)' and its snapshot boxes the bicycle in yellow."""
    from core.registry import load_scorer

    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(shared_path("models", naming.DETECT_TFLITE), models / naming.DETECT_TFLITE)
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(models))
    clip = ucsd / "testing" / "frames" / "02"
    frames = [cv2.imread(str(clip / f)) for f in sorted(os.listdir(clip))]
    clock = [1000.0]
    proc = LiveProcessor(
        load_scorer("vigil"),
        "vigil",
        AlertConfig(seconds=1.0),
        source="ped2",
        outbox=Outbox(),
        clock=lambda: clock[0],
    )
    try:
        assert proc.namer.wait(60) and proc.namer.ready
        for i, img in enumerate(frames):
            clock[0] = 1000.0 + i / 10
            proc.submit(img, clock[0])
            assert wait_for(lambda n=i: proc.snapshot().stats.frames_scored == n + 1, 10)
    finally:
        proc.stop()
    (rec,) = list_alerts()
    assert rec.details["cause"] == "fast object (bicycle)"
    assert "Why:        fast object (bicycle)\n" in email_for(rec).body
    assert yellow(rec.snapshot_path) > 100


def test_an_alert_that_cannot_be_stored_is_shown_on_the_page_and_scoring_goes_on(monkeypatch):
    """The alert thread's exceptions reach no one by themselves: a locked database must still show on the page
    (and be logged), and the camera keeps being scored."""
    import sqlite3

    from core.outbox import Outbox as RealOutbox

    def locked(self, *args, **kwargs):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(naming, "object_namer", lambda: None)
    monkeypatch.setattr(RealOutbox, "record", locked)
    proc, clock = alert_processor(Evidence(boxes=CULPRIT, culprit=0, cause="fast object"))
    try:
        feed_episode(proc, clock)  # every frame scored, the alert's failure notwithstanding
    finally:
        proc.stop()
    snap = proc.snapshot()
    assert snap.error == "Could not store the alert: database is locked" and snap.stats.frames_scored == 80


def test_an_alert_raised_after_stop_gave_up_waiting_is_still_written(monkeypatch):
    """stop() waits 5 s for a scoring step; one that outlives it finds the alert thread shut and writes itself."""
    monkeypatch.setattr(naming, "object_namer", lambda: None)
    proc, clock = alert_processor(Evidence(boxes=CULPRIT, culprit=0, cause="fast object"))
    proc._writer.shutdown(wait=True)  # as stop() leaves it for a step still running
    try:
        feed_episode(proc, clock)
    finally:
        proc.stop()
    (rec,) = list_alerts()
    assert rec.kind == "alert" and rec.fired_at == pytest.approx(1005.0)
