"""The CLI end to end, as a user runs it: real processes, real files, exit codes, no tracebacks."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from conftest import moving_square_frames

REPO = Path(__file__).resolve().parent.parent


def run(*args, env_extra=None, timeout=300):
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "core", *map(str, args)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_analyze_vtest_writes_scores_segments_and_thumbnails(vtest, tmp_path):
    out = tmp_path / "out"
    r = run("analyze", vtest, "--out", out)
    assert r.returncode == 0, r.stderr
    with open(out / "scores.csv") as f:
        scores = list(csv.DictReader(f))
    assert {"frame", "t", "score", "smoothed"} <= set(scores[0])
    assert len(scores) == 795
    assert all(0.0 <= float(s["score"]) <= 1.0 for s in scores)
    assert float(scores[10]["t"]) == pytest.approx(1.0)
    with open(out / "segments.csv") as f:
        header = next(csv.reader(f))
    assert header[:4] == ["start", "end", "duration", "peak"] and "peak_t" in header
    thumbs = list((out / "thumbnails").glob("*.jpg"))
    assert len(thumbs) >= 6
    assert cv2.imread(str(thumbs[0])) is not None
    summary = json.loads((out / "segments.json").read_text())["summary"]
    assert summary["model"] == "vigil" and summary["frames_scored"] == 795
    assert "vtest.avi" in r.stdout and "segment" in r.stdout
    assert "download" not in r.stderr  # a local file is not downloaded: no bar left behind in a log or pipe


def test_models_lists_motion_as_available():
    r = run("models")
    assert r.returncode == 0
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("motion "))
    assert "available" in line


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: (d / "notes.mp4").write_text("hello\n" * 100) and d / "notes.mp4", "not a video"),
        (lambda d: (d / "empty.mp4").touch() or d / "empty.mp4", "empty"),
        (lambda d: cv2.imwrite(str(d / "p.png"), moving_square_frames(n=1)[0]) and d / "p.png", "still image"),
        (lambda d: d / "missing.avi", "not found"),
        (lambda d: "ftp://example.org/x.mp4", "http:// or https://"),
        (lambda d: "file:///tmp/x.mp4", "local file"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(tmp_path, make, message):
    source = make(tmp_path)
    r = run("analyze", source, "--out", tmp_path / "out")
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and "%|" not in ln]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "vigil-data" / "analyses").exists() or not any(
        (tmp_path / "vigil-data" / "analyses").iterdir()
    )


def test_unknown_model_and_bad_setting_are_clear(vtest, tmp_path):
    r = run("analyze", vtest, "--model", "nope", "--out", tmp_path)
    assert r.returncode == 2 and "Unknown model 'nope'" in r.stderr and "Traceback" not in r.stderr
    r = run("analyze", vtest, "--fps", "0", "--out", tmp_path)
    assert r.returncode == 2 and "fps" in r.stderr and "Traceback" not in r.stderr


def _frame_dataset(root: Path) -> Path:
    """Two normal training folders; two test folders with fast motion in their last 15 frames (45..59)."""
    for split, n_clips in (("train", 2), ("test", 2)):
        for c in range(n_clips):
            d = root / split / f"{c:02d}"
            d.mkdir(parents=True)
            fast = (45, 60) if split == "test" else (None, None)
            for i, img in enumerate(moving_square_frames(n=60, fast_from=fast[0], fast_to=fast[1], seed=c)):
                cv2.imwrite(str(d / f"{i:03d}.jpg"), img)
    labels = root / "labels.csv"
    with open(labels, "w") as f:
        f.write("video,frame,label\n")
        for c in range(2):
            for i in range(45, 60):
                f.write(f"{c:02d},{i},1\n")
    return labels


def test_evaluate_on_a_frame_dataset_prints_auc_beside_the_baseline(tmp_path):
    labels = _frame_dataset(tmp_path)
    js = tmp_path / "m.json"
    r = run(
        "evaluate",
        "--train-normal",
        tmp_path / "train",
        "--test",
        tmp_path / "test",
        "--frame-labels",
        labels,
        "--model",
        "motion-fitted",
        "--json",
        js,
    )
    assert r.returncode == 0, r.stderr
    assert "position-only baseline" in r.stdout and "motion-fitted" in r.stdout
    m = json.loads(js.read_text())
    assert m["frames"] == 120 and m["anomalous_frames"] == 30
    assert m["models"]["motion-fitted"]["auc"] > 0.9
    assert m["position_baseline"]["auc"] == pytest.approx(1.0)  # anomalies are the last frames of each clip


@pytest.mark.slow
def test_evaluate_ucsd_ped2_fitted_motion_beats_the_position_baseline(ucsd, tmp_path):
    js = tmp_path / "ped2.json"
    r = run("evaluate", "--ucsd", ucsd, "--model", "motion-fitted", "--json", js)
    assert r.returncode == 0, r.stderr
    m = json.loads(js.read_text())
    assert m["frames"] == 2010 and m["anomalous_frames"] == 1648
    assert m["position_baseline"]["auc"] == pytest.approx(0.749, abs=0.005)
    assert m["models"]["motion-fitted"]["auc"] >= 0.85


def test_bench_prints_decode_and_analysis_throughput(vtest, tmp_path):
    js = tmp_path / "b.json"
    r = run("bench", vtest, "--rounds", "1", "--json", js)
    assert r.returncode == 0, r.stderr
    assert "decode only" in r.stdout and "full analysis" in r.stdout and "ratio" in r.stdout
    b = json.loads(js.read_text())
    assert b["frames_analysed"] == 795
    assert b["decode_frames_per_s"] > b["analysis_frames_per_s"] > 0
    assert b["ratio_analysis_to_decode"] == pytest.approx(b["analysis_frames_per_s"] / b["decode_frames_per_s"])


def test_train_motion_fitted_registers_a_loadable_model(tmp_path):
    _frame_dataset(tmp_path)
    r = run("train", "--kind", "motion-fitted", "--normal", tmp_path / "train", "--name", "scene-a")
    assert r.returncode == 0, r.stderr
    r = run("models")
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("scene-a "))
    assert "motion-fitted" in line and "available" in line
    r = run("analyze", tmp_path / "test" / "00", "--model", "scene-a", "--out", tmp_path / "o")
    assert r.returncode == 0, r.stderr
    with open(tmp_path / "o" / "scores.csv") as f:
        scores = {int(row["frame"]): float(row["score"]) for row in csv.DictReader(f)}
    assert max(scores, key=scores.get) in range(45, 60)
