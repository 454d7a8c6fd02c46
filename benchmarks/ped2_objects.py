"""UCSD Ped2 frame ROC AUC, speed and calm-footage false alarms of the objects cues (issue 10).

    .venv/bin/python benchmarks/ped2_objects.py [--ucsd ../shared/data/ucsd_ped2] [--vtest ../shared/...]

Writes benchmarks/results/ped2_objects.json. Figures:
- ``objects`` with no training at all: each test clip against itself; raw and with the app's 1 s
  centred smoothing; beside it the position-only baseline (frame position in its clip, 0.749);
- ``objects-fitted``: the scene fitted on Ped2 ``training/`` only, raw and smoothed;
- both on all 12 test clips, and on the two halves apart. Honesty: design choices (work size 224 px,
  flow threshold, 90th-percentile speed, size weight, the square-root row correction, grids, smoothing)
  were made on the *development* half, clips 01,03,05,07,09,11 (and on Ped2 *training* clips for what
  normal footage looks like); the held-out half, clips 02,04,06,08,10,12, was never used to choose. It
  was scored alongside at each of five development versions (objects: 0.855, 0.856, 0.856, 0.865,
  0.865 raw; fitted: 0.879, 0.894, 0.888, 0.903, 0.903), so it was seen, not chosen on: the one change
  that lowered it (fitted += 0.5 x self, chosen on the development half) was kept. The all-clips
  figure includes the development half.
- the self-referenced calibration reference (REF_SELF) is the 99th percentile of frame values on the
  Ped2 *training* clips, each against itself (printed here as a check);
- speed: analysed frames/s of the stream on vtest.avi resized to 640x480 (offline and live), on this
  machine's load at the time (CPU time per frame printed too);
- vtest.avi (calm pedestrians): fraction of frames whose score is >= 0.5 (raw and smoothed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import ScoringConfig  # noqa: E402
from core.evaluate import load_ucsd  # noqa: E402
from core.events import smooth  # noqa: E402
from core.families.objects.fit import fit_normal  # noqa: E402
from core.families.objects.stream import REF_SELF, ObjectsScorer, ObjectsStream  # noqa: E402
from core.metrics import roc_auc  # noqa: E402
from core.scorers.base import ModelInfo  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DEV = ["01", "03", "05", "07", "09", "11"]
HELD = ["02", "04", "06", "08", "10", "12"]
SMOOTH_APP_S = 1.0


def score_video(scorer: ObjectsScorer, src, scoring: ScoringConfig) -> dict[str, np.ndarray]:
    """Native-frame scores of one source: combined, objects, person_down (each (n_native,))."""
    stream: ObjectsStream = scorer.stream(live=False)
    idx = []
    for fr in src.frames(fps=scoring.fps, max_side=scoring.max_side):
        stream.update(fr.t, fr.image)
        idx.append(fr.index)
    combined = stream.finish()
    cues = stream.cue_scores()
    take = np.clip(np.searchsorted(np.array(idx), np.arange(src.meta.frame_count), side="right") - 1, 0, None)
    return {"combined": combined[take], **{k: v[take] for k, v in cues.items()}}


def aucs(parts: dict[str, np.ndarray], labels: dict[str, np.ndarray], clips: list[str], fps: float) -> dict:
    y = np.concatenate([labels[c] for c in clips])
    raw = np.concatenate([parts[c] for c in clips])
    sm = np.concatenate([smooth(parts[c], np.arange(len(parts[c])) / fps, SMOOTH_APP_S) for c in clips])
    pos = np.concatenate([np.linspace(0.0, 1.0, len(labels[c])) for c in clips])
    return {"auc": roc_auc(y, raw), "auc_smoothed": roc_auc(y, sm), "position_baseline": roc_auc(y, pos)}


def evaluate(scorer: ObjectsScorer, ds, scoring: ScoringConfig) -> dict:
    scores = {s.meta.name: score_video(scorer, s, scoring) for s in ds.test}
    out = {}
    for cue in ("combined", "objects", "person_down"):
        parts = {c: scores[c][cue] for c in scores}
        out[cue] = {
            split: aucs(parts, ds.labels, clips, ds.test[0].meta.fps)
            for split, clips in (("all", sorted(scores)), ("development", DEV), ("held_out", HELD))
        }
    return out


def vtest_check(path: Path, scorer: ObjectsScorer) -> dict:
    """Offline and live frames/s at 640x480 and the share of frames >= 0.5 on calm footage."""
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(f, (640, 480), interpolation=cv2.INTER_LINEAR))
    cap.release()
    out = {"frames": len(frames), "source_fps": fps}
    for live in (False, True):
        stream = scorer.stream(live=live)
        t0, c0 = time.perf_counter(), time.process_time()
        for i, f in enumerate(frames):
            stream.update(i / fps, f)
        scores = stream.finish()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        cues = stream.cue_scores()
        sm = smooth(scores, np.arange(len(scores)) / fps, SMOOTH_APP_S)
        out["live" if live else "offline"] = {
            "frames_per_second": len(frames) / wall,
            "cpu_ms_per_frame": 1000 * cpu / len(frames),
            "fraction_ge_0_5": float(np.mean(scores >= 0.5)),
            "fraction_smoothed_ge_0_5": float(np.mean(sm >= 0.5)),
            "max": float(scores.max()),
            "person_down_fraction_ge_0_5": float(np.mean(cues["person_down"] >= 0.5)),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ucsd", type=Path, default=SHARED / "data" / "ucsd_ped2")
    ap.add_argument("--vtest", type=Path, default=SHARED / "data" / "clips" / "vtest.avi")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ped2_objects.json")
    args = ap.parse_args()

    ds = load_ucsd(args.ucsd)
    scoring = ScoringConfig(fps=ds.test[0].meta.fps)
    info = ModelInfo("objects", "1", "", "objects")
    result: dict = {"dataset": ds.name, "development_clips": DEV, "held_out_clips": HELD}

    selfref = ObjectsScorer(info)
    # The calibration reference, measured where it was set: normal training clips, each against itself.
    train_scores = [score_video(selfref, s, scoring) for s in ds.train]
    result["self_reference_check"] = {
        "REF_SELF": REF_SELF,
        "training_fraction_ge_0_5": float(np.mean(np.concatenate([s["objects"] for s in train_scores]) >= 0.5)),
        "training_person_down_fraction_ge_0_5": float(
            np.mean(np.concatenate([s["person_down"] for s in train_scores]) >= 0.5)
        ),
    }
    result["objects_no_training"] = evaluate(selfref, ds, scoring)
    t0 = time.perf_counter()
    fitted = fit_normal(ds.train, scoring).scorer
    result["fit_seconds"] = time.perf_counter() - t0
    result["objects_fitted_on_training"] = evaluate(fitted, ds, scoring)  # type: ignore[arg-type]
    result["vtest"] = vtest_check(args.vtest, selfref)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"UCSD Ped2 frame ROC AUC ({sum(len(v) for v in ds.labels.values())} test frames)")
    print("Design choices were made on the development clips " + ",".join(DEV) + "; the held-out clips")
    print(",".join(HELD) + " were never used to choose (scored alongside during development: seen, not chosen on;")
    print("see this script's docstring). 'all' includes the development clips.")
    print(f"{'model':<40}{'split':<13}{'raw':>7}{'1s-smoothed':>13}{'position-only':>15}")
    for key, label in (
        ("objects_no_training", "objects (no training)"),
        ("objects_fitted_on_training", "objects-fitted (training/)"),
    ):
        for cue in ("combined", "objects", "person_down"):
            for split in ("all", "held_out", "development"):
                r = result[key][cue][split]
                name = f"{label} [{cue}]"
                print(f"{name:<40}{split:<13}{r['auc']:>7.3f}{r['auc_smoothed']:>13.3f}{r['position_baseline']:>15.3f}")
    rc = result["self_reference_check"]
    print(f"Ped2 training clips (normal), frames >= 0.5: objects cue {rc['training_fraction_ge_0_5']:.3f}", end="")
    print(f" (REF_SELF={REF_SELF}), person-down cue {rc['training_person_down_fraction_ge_0_5']:.3f}")
    for mode in ("offline", "live"):
        m = result["vtest"][mode]
        print(f"vtest.avi 640x480 {mode}: {m['frames_per_second']:.1f} frames/s ", end="")
        print(f"({m['cpu_ms_per_frame']:.1f} ms CPU a frame); frames >= 0.5: {m['fraction_ge_0_5']:.3f} raw, ", end="")
        print(
            f"{m['fraction_smoothed_ge_0_5']:.3f} smoothed (person-down {m['person_down_fraction_ge_0_5']:.3f}); ",
            end="",
        )
        print(f"max {m['max']:.2f}")
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
