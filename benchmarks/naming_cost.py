"""What naming the objects of segments costs: the default model's whole analysis (scores, segments, thumbnails)
with and without the detector's weights, measured in one run (interleaved rounds, medians).

    .venv/bin/python benchmarks/naming_cost.py [VIDEO ...]      # default: vtest.avi, the 640x480 clip, Ped2 02

Both arms get every other weight file from ``../shared/models``; only ``yolov8n_int8_640.tflite`` differs. The
detector is loaded once per process (as in the app) before the rounds; its load and first inference are timed
apart.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("VIGIL_SHARED_DIR", REPO.parent / "shared")).resolve()
RESULTS = REPO / "benchmarks" / "results"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "videos",
        nargs="*",
        default=[
            str(SHARED / "data" / "clips" / "vtest.avi"),
            str(REPO / "out" / "bench_640x480_25fps.mp4"),
            str(SHARED / "data" / "ucsd_ped2" / "testing" / "frames" / "02"),
        ],
    )
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", default=str(RESULTS / "naming_cost.json"))
    args = ap.parse_args(argv)

    from core.config import EventConfig, ScoringConfig
    from core.engine import compute_analysis
    from core.families.objects import naming
    from core.registry import load_scorer
    from core.sources import open_source

    tmp = Path(tempfile.mkdtemp(prefix="vigil-naming-"))
    with_dir, without_dir = tmp / "with", tmp / "without"
    for d in (with_dir, without_dir):
        d.mkdir()
        for f in (SHARED / "models").iterdir():
            if f.is_file() and (d is with_dir or f.name != naming.DETECT_TFLITE):
                os.symlink(f, d / f.name)
    os.environ["VIGIL_MODELS_DIR"] = str(with_dir)
    os.environ.setdefault("VIGIL_DATA_DIR", str(tmp / "data"))
    t0 = time.perf_counter()
    namer = naming.object_namer()  # loaded warm: its first inference is part of loading
    load_s = time.perf_counter() - t0
    if namer is None:
        print("error: the detector did not load (ultralytics or ai-edge-litert missing?)", file=sys.stderr)
        return 2
    scorer = load_scorer("vigil", allow_download=False)
    out = {"detector_load_seconds": load_s, "videos": {}}
    print(f"detector load and first inference (once per process): {load_s:.2f} s")
    for video in args.videos:
        src = open_source(video)
        times: dict[str, list[float]] = {"with": [], "without": []}
        causes: dict[str, list[str]] = {}
        for _ in range(args.rounds):
            for arm, d in (("without", without_dir), ("with", with_dir)):
                os.environ["VIGIL_MODELS_DIR"] = str(d)
                t0 = time.perf_counter()
                c = compute_analysis(src, scorer, ScoringConfig(), EventConfig())
                times[arm].append(time.perf_counter() - t0)
                causes[arm] = [s.cause for s in c.record.segments]
        w, wo = statistics.median(times["with"]), statistics.median(times["without"])
        named = sum(a != b for a, b in zip(causes["with"], causes["without"], strict=True))
        row = {
            "duration_s": src.meta.duration,
            "seconds_without": wo,
            "seconds_with": w,
            "extra_seconds": w - wo,
            "segments": len(causes["with"]),
            "named": named,
            "causes_with": causes["with"],
            "realtime_without": src.meta.duration / wo,
            "realtime_with": src.meta.duration / w,
        }
        out["videos"][src.meta.name] = row
        print(
            f"{src.meta.name}: {src.meta.duration:.1f} s of video; whole analysis {wo:.2f} s without the detector, "
            f"{w:.2f} s with it ({row['realtime_without']:.1f}x -> {row['realtime_with']:.1f}x real time); "
            f"{named} of {row['segments']} segments named: {causes['with']}"
        )
    shutil.rmtree(tmp, ignore_errors=True)
    Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
