"""Speed of the default model's variants on one file, measured in one run (interleaved rounds).

Variants: ``decode`` (decode only), ``seq`` (every cue on the calling thread, TFLite 2 threads: the plain
path), ``lanes`` (the fight cue on its own thread), with TFLite at 1 or 2 threads and OpenCV at its default
or 1 thread. Each round runs every variant once, in turn, so machine load hits all alike; medians count.
Prints wall, process CPU and calling-thread CPU ms per analysed frame, x real time, the ratio to decode-only,
an idle-machine estimate (the busiest thread's CPU or half of all CPU, whichever is larger: what 2 free cores
would allow; the shared machine is rarely idle), and whether each variant's scores and causes equal the plain
path's (np.array_equal).

    VIGIL_MODELS_DIR=../shared/models .venv/bin/python benchmarks/vigil_speed.py out/bench_640x480_25fps.mp4
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import ScoringConfig  # noqa: E402
from core.engine import _score, effective_fps, frame_causes  # noqa: E402
from core.registry import load_scorer  # noqa: E402
from core.sources import open_source  # noqa: E402

# name: (cues on their own threads, TFLite threads, OpenCV threads or None = OpenCV's default)
VARIANTS = {
    "seq": (False, 2, None),
    "lanes": (True, 2, None),
    "lanes-tfl1": (True, 1, None),
    "lanes-tfl1-cv1": (True, 1, 1),
    "seq-tfl1": (False, 1, None),
}
# the plain path before this change, and the default now (vigil's fight cue on its own thread, TFLite 1 thread)
PLAIN, DEFAULT = "seq", "lanes-tfl1"


def _configure(scorer, threads: bool, tfl: int) -> None:
    scorer.threads = threads
    for cue in scorer.cues:
        if hasattr(cue.scorer, "num_threads"):
            cue.scorer.num_threads = tfl


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("video")
    ap.add_argument("--model", default="vigil")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    a = ap.parse_args()
    names = a.variants.split(",")
    src = open_source(a.video)
    scoring = ScoringConfig()
    scorer = load_scorer(a.model)
    fps = effective_fps(scorer, scoring)
    cv_default = cv2.getNumThreads()
    wall: dict[str, list[float]] = {k: [] for k in ["decode", *names]}
    cpu: dict[str, list[float]] = {k: [] for k in ["decode", *names]}
    main_cpu: dict[str, list[float]] = {k: [] for k in ["decode", *names]}  # the calling thread's CPU alone
    results: dict[str, tuple[np.ndarray, list[str]]] = {}
    n = 0
    for r in range(a.rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        n = sum(1 for _ in src.frames(fps=fps, max_side=scoring.max_side))
        wall["decode"].append(time.perf_counter() - t0)
        cpu["decode"].append(time.process_time() - c0)
        main_cpu["decode"].append(cpu["decode"][-1])
        for name in names[r % len(names) :] + names[: r % len(names)]:  # each round starts elsewhere
            threads, tfl, cvn = VARIANTS[name]
            _configure(scorer, threads, tfl)
            cv2.setNumThreads(cv_default if cvn is None else cvn)
            t0, c0, m0 = time.perf_counter(), time.process_time(), time.thread_time()
            _, _, scores, stream = _score(src, scorer, scoring, None, None)
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
            main_cpu[name].append(time.thread_time() - m0)
            cv2.setNumThreads(cv_default)
            if r == 0:
                results[name] = (scores, frame_causes(stream, len(scores)))
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr, flush=True)
    dur = src.meta.duration
    dec = statistics.median(wall["decode"])
    base = results.get(PLAIN) or results[names[0]]
    print(
        f"{src.meta.name}: {src.meta.width}x{src.meta.height}, {dur:.1f} s, {n} frames analysed at {fps:.1f} fps; "
        f"medians of {a.rounds} interleaved rounds (OpenCV default threads {cv_default})"
    )
    # idle estimate: on 2 free cores a run takes at least its busiest thread's CPU and half of all its CPU
    print(
        f"{'variant':16s} {'wall ms/f':>9s} {'cpu ms/f':>9s} {'main cpu':>8s} {'x real':>7s} {'dec/var':>7s} "
        f"{'x real idle est':>15s}  same scores+causes"
    )
    for name in ["decode", *names]:
        w, c, m = statistics.median(wall[name]), statistics.median(cpu[name]), statistics.median(main_cpu[name])
        dec_cpu = statistics.median(cpu["decode"])
        idle = max(m, c / 2, dec_cpu)
        same = ""
        if name in results:
            s, k = results[name]
            same = str(bool(np.array_equal(s, base[0]) and k == base[1]))
        print(
            f"{name:16s} {1000 * w / n:9.2f} {1000 * c / n:9.2f} {1000 * m / n:8.2f} {dur / w:7.1f} {dec / w:7.2f} "
            f"{dur / idle:15.1f}  {same}"
        )


if __name__ == "__main__":
    main()
