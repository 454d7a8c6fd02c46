"""Throughput benchmark: decode-only vs full analysis on the same file, measured in one run.

Rounds alternate decode and analysis so that machine noise hits both; the best round of each counts.
"""

from __future__ import annotations

import time

from core.config import ScoringConfig
from core.engine import default_model, effective_fps, score_source
from core.registry import load_scorer
from core.sources import VideoSource


def _decode(src: VideoSource, fps: float, max_side: int) -> int:
    n = 0
    for _ in src.frames(fps=fps, max_side=max_side):
        n += 1
    return n


def bench(src: VideoSource, model: str | None = None, scoring: ScoringConfig | None = None, rounds: int = 2) -> dict:
    model = model or default_model()
    scoring = scoring or ScoringConfig()
    scorer = load_scorer(model)
    fps = effective_fps(scorer, scoring)
    decode_s, analysis_s, n = [], [], 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        n = _decode(src, fps, scoring.max_side)
        decode_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        score_source(src, scorer, scoring)
        analysis_s.append(time.perf_counter() - t0)
    dec, ana = min(decode_s), min(analysis_s)
    duration = src.meta.duration
    return {
        "source": src.meta.name,
        "video": {
            "width": src.meta.width,
            "height": src.meta.height,
            "fps": src.meta.fps,
            "frames": src.meta.frame_count,
            "duration_s": duration,
        },
        "model": model,
        "analysis_fps": fps,
        "frames_analysed": n,
        "decode_frames_per_s": n / dec,
        "analysis_frames_per_s": n / ana,
        "ratio_analysis_to_decode": dec / ana,
        "decode_realtime_factor": duration / dec,
        "analysis_realtime_factor": duration / ana,
        "rounds": rounds,
    }


def format_bench(r: dict) -> str:
    v = r["video"]
    return "\n".join(
        [
            f"{r['source']}: {v['width']}x{v['height']} @ {v['fps']:.1f} fps, {v['duration_s']:.1f} s; "
            f"model {r['model']}, analysed at {r['analysis_fps']:.1f} fps ({r['frames_analysed']} frames)",
            f"decode only     : {r['decode_frames_per_s']:8.1f} frames/s  "
            f"{r['decode_realtime_factor']:6.1f}x real time",
            f"full analysis   : {r['analysis_frames_per_s']:8.1f} frames/s  "
            f"{r['analysis_realtime_factor']:6.1f}x real time",
            f"ratio analysis/decode: {r['ratio_analysis_to_decode']:.2f}  (target >= 0.5; real time target >= 10x)",
        ]
    )
