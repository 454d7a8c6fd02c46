"""Live throughput and latency of a model at 640x480 through the real LiveProcessor.

A simulated camera calls ``processor.process(frame)`` (what the WebRTC callback does) at a fixed fps
for a while; the processor scores in its worker thread. Prints camera fps, processed fps, score
latency (capture -> score ready, median and p95), the callback's own cost and dropped frames.
Targets for the motion model on the 2-core machine: >= 25 processed fps, < 150 ms added latency.

    .venv/bin/python benchmarks/live_bench.py [--model motion] [--fps 30] [--seconds 20] [--source VIDEO]
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

from core.alerts import AlertConfig  # noqa: E402
from core.live import LiveProcessor  # noqa: E402
from core.registry import load_scorer  # noqa: E402

DEFAULT_SOURCE = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "clips" / "vtest.avi"


def load_frames(path: Path, size: tuple[int, int] = (640, 480), limit: int = 300) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < limit:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(f, size, interpolation=cv2.INTER_LINEAR))
    cap.release()
    if not frames:
        raise SystemExit(f"cannot read frames from {path}")
    return frames


def raw_throughput(model: str, frames: list[np.ndarray]) -> float:
    """Frames per second of scorer.stream(live=True).update alone, unpaced (the model's ceiling)."""
    stream = load_scorer(model).stream(live=True)
    t0 = time.perf_counter()
    for i, f in enumerate(frames):
        stream.update(i / 30.0, f)
    return len(frames) / (time.perf_counter() - t0)


def run(model: str, fps: float, seconds: float, frames: list[np.ndarray]) -> dict:
    proc = LiveProcessor(load_scorer(model), model, AlertConfig())
    period = 1.0 / fps
    start = time.perf_counter()
    n = 0
    callback_ms = []
    while time.perf_counter() - start < seconds:
        due = start + n * period
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        frame = frames[n % len(frames)].copy()  # a camera hands over a new buffer every frame
        t0 = time.perf_counter()
        proc.process(frame)
        callback_ms.append((time.perf_counter() - t0) * 1000)
        n += 1
    s = proc.snapshot().stats
    proc.stop()
    return {
        "model": model,
        "size": "640x480",
        "camera_fps": round(s.camera_fps, 1),
        "processed_fps": round(s.processed_fps, 1),
        "latency_ms_median": round(s.latency_ms, 1),
        "latency_ms_p95": round(s.latency_p95_ms, 1),
        "callback_ms_median": round(float(np.median(callback_ms)), 2),
        "callback_ms_p99": round(float(np.percentile(callback_ms, 99)), 2),
        "frames_in": s.frames_in,
        "frames_scored": s.frames_scored,
        "dropped": s.dropped,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="motion")
    ap.add_argument("--fps", type=float, default=30.0, help="simulated camera fps")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    frames = load_frames(args.source)
    res = run(args.model, args.fps, args.seconds, frames)
    res["raw_update_fps"] = round(raw_throughput(args.model, frames), 1)
    for k, v in res.items():
        print(f"{k:>20}: {v}")
    ok = res["processed_fps"] >= min(25.0, args.fps * 0.95) and res["latency_ms_median"] < 150
    print(f"{'targets':>20}: {'met' if ok else 'NOT met'} (>= 25 processed fps, < 150 ms latency)")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
