"""Naming the object responsible for a segment (core.families.objects.naming): the matching rule on made-up
detections, and the real detector (YOLOv8n int8 from ../shared) naming the bicycle of a UCSD Ped2 clip."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import REPO, shared_path

from core.config import EventConfig, ScoringConfig
from core.db import Database
from core.families.objects.naming import DETECT_TFLITE, Detection, base_cause, match, named
from core.store import Store


def _d(label: str, x1, y1, x2, y2, conf: float = 0.8) -> Detection:
    return Detection(np.array([x1, y1, x2, y2], float), label, conf)


def test_a_bicycle_in_a_region_of_walkers_is_the_object_named():
    walkers = [_d("person", 10 + 20 * k, 50, 25 + 20 * k, 90) for k in range(6)]
    rider, bike = _d("person", 130, 40, 145, 80), _d("bicycle", 125, 60, 155, 85, 0.5)
    region = np.array([0, 30, 160, 100], float)  # the flow region merged the group and the cyclist
    assert match(region, [*walkers, rider, bike]).label == "bicycle"
    # a tight region on the rider and the bike: the rarer of the two in the frame (the rider is one of many people)
    assert match(np.array([124, 38, 156, 86], float), [*walkers, rider, bike]).label == "bicycle"


def test_a_lone_runner_is_a_person_and_carried_things_never_name_a_region():
    runner, bag = _d("person", 100, 100, 130, 180), _d("handbag", 110, 140, 125, 160, 0.9)
    others = [_d("person", 300, 100, 330, 180), _d("person", 400, 100, 430, 180)]
    assert match(np.array([98, 98, 132, 182], float), [runner, bag, *others]).label == "person"
    assert match(np.array([108, 138, 127, 162], float), [bag]) is None
    assert match(np.array([0, 0, 10, 10], float), [runner, *others]) is None  # nothing there


def test_a_region_covering_part_of_an_object_takes_the_object_holding_it():
    car = _d("car", 100, 100, 200, 160)
    assert match(np.array([150, 120, 180, 150], float), [car]).label == "car"  # centre inside, IoU 0.15
    assert match(np.array([150, 120, 152, 122], float), [car]) is None  # far too small a part: not trusted


def test_named_causes_read_and_split():
    assert named("fast object", "bicycle") == "fast object (bicycle)"
    assert base_cause("fast object (bicycle)") == "fast object" and base_cause("fight") == "fight"


@pytest.mark.slow
def test_the_detector_names_the_bicycle_of_a_ped2_clip_and_the_name_is_kept(tmp_path, monkeypatch, ucsd):
    """Ped2 testing clip 02: a cyclist rides through walkers. With the detector's weights the segment says
    'fast object (bicycle)' (table, store, re-cut, export); without them it says 'fast object'."""
    from core import engine
    from core.exports import segments_json

    clip = ucsd / "testing" / "frames" / "02"
    plain = tmp_path / "no-detector"
    plain.mkdir()
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(plain))
    without = engine.analyze(clip, "vigil", store=Store(Database(tmp_path / "a" / "vigil.sqlite")), reuse=False)
    assert [s.cause for s in without.segments] == ["fast object"]

    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(shared_path("models", DETECT_TFLITE), models / DETECT_TFLITE)
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(models))
    store = Store(Database(tmp_path / "b" / "vigil.sqlite"))
    rec = engine.analyze(clip, "vigil", ScoringConfig(), EventConfig(), store=store, reuse=False)
    assert [s.cause for s in rec.segments] == ["fast object (bicycle)"]
    # same scores and segment times as without the detector: naming never changes a score
    assert np.array_equal(rec.track.score, without.track.score)
    assert [(s.start, s.end) for s in rec.segments] == [(s.start, s.end) for s in without.segments]
    again = store.load(rec.id)
    assert [s.cause for s in again.segments] == ["fast object (bicycle)"]
    assert [s.cause for s in again.resegment(EventConfig(threshold=0.45)).segments] == ["fast object (bicycle)"]
    assert json.loads(segments_json(again))["segments"][0]["cause"] == "fast object (bicycle)"
    # the peak's thumbnail boxes the bicycle in yellow; the one without the detector has no yellow at all
    peak = again.track.frame_at(again.segments[0].peak_t)
    assert _yellow(again.thumbnails[peak]) > 100 and _yellow(without.thumbnails[peak]) == 0


def _yellow(path) -> int:
    import cv2

    from core.overlay import NAMED

    img = cv2.imread(str(path)).astype(int)
    return int((np.abs(img - np.array(NAMED)).max(axis=2) < 40).sum())


def test_the_detector_weights_are_catalogued_with_their_checksum():
    catalogue = {w["file"]: w for w in json.loads((REPO / "models" / "manifest.json").read_text())["weights"]}
    entry = catalogue[DETECT_TFLITE]
    assert entry["sha256"] == "c8c5ea2b540cee6763aaef944109e710e9be2ee0de6549cff1fd0bae932d6ee6"
    assert entry["url"].startswith("https://")
