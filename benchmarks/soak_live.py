"""Soak test of the Live page (not in the default test run): minutes of fake-camera streaming.

``--mode browser`` (default): the whole stack — ``streamlit run app.py``, headless Chromium with a fake
camera looping a y4m (a still lead-in then a fight clip, so alerts keep firing with a short cooldown),
WebRTC, the live engine, the outbox and a local aiosmtpd sink. Samples the Streamlit server's RSS and
the page's processed fps / latency every ``--every`` seconds.

``--mode engine``: the LiveProcessor alone, fed 640x480 frames at 30 fps by a simulated camera, with
alerts written to an outbox. Isolates leaks in our code from aiortc/Chromium.

Prints RSS at start (after warm-up) and end, its growth (target < 50 MB), processed fps and latency.

    .venv/bin/python benchmarks/soak_live.py --minutes 10 [--mode browser|engine] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]
SHARED = Path(os.environ.get("VIGIL_SHARED_DIR", REPO.parent / "shared"))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tree_rss_mb(pid: int) -> float:
    """RSS of a process and its children (streamlit may spawn helpers)."""
    total = rss_mb(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for c in children.read_text().split():
            try:
                total += tree_rss_mb(int(c))
            except (FileNotFoundError, ProcessLookupError):
                pass
    return total


def summary(samples: list[dict], warmup_s: float) -> dict:
    steady = [s for s in samples if s["t"] >= warmup_s] or samples
    fps = [s["fps"] for s in steady if s["fps"] > 0]
    lat = [s["latency_ms"] for s in steady if s["latency_ms"] > 0]
    return {
        "rss_start_mb": round(steady[0]["rss_mb"], 1),
        "rss_end_mb": round(steady[-1]["rss_mb"], 1),
        "rss_growth_mb": round(steady[-1]["rss_mb"] - steady[0]["rss_mb"], 1),
        "rss_max_mb": round(max(s["rss_mb"] for s in steady), 1),
        "processed_fps_median": round(float(np.median(fps)), 1) if fps else 0.0,
        "latency_ms_median": round(float(np.median(lat)), 1) if lat else 0.0,
        "samples": len(samples),
    }


def run_engine(minutes: float, every: float) -> tuple[list[dict], dict]:
    from benchmarks.live_bench import DEFAULT_SOURCE, load_frames
    from core.alerts import AlertConfig
    from core.live import LiveProcessor
    from core.outbox import Outbox
    from core.registry import load_scorer

    frames = load_frames(DEFAULT_SOURCE)
    proc = LiveProcessor(
        load_scorer("motion"), "motion", AlertConfig(threshold=0.3, seconds=1, cooldown=20), outbox=Outbox()
    )
    start, n, samples, next_sample = time.perf_counter(), 0, [], 0.0
    while (elapsed := time.perf_counter() - start) < minutes * 60:
        wait = start + n / 30.0 - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        proc.process(frames[n % len(frames)].copy())
        n += 1
        if elapsed >= next_sample:
            s = proc.snapshot().stats
            samples.append(
                {"t": elapsed, "rss_mb": rss_mb(os.getpid()), "fps": s.processed_fps, "latency_ms": s.latency_ms}
            )
            print(f"{elapsed:6.0f}s  rss {samples[-1]['rss_mb']:7.1f} MB  fps {s.processed_fps:5.1f}  "
                  f"latency {s.latency_ms:5.1f} ms  alerts {len(Outbox().list(1000))}", flush=True)  # fmt: skip
            next_sample += every
    proc.stop()
    return samples, {"alerts": len(Outbox().list(10000))}


def run_browser(minutes: float, every: float, camera_fps: int = 15) -> tuple[list[dict], dict]:
    from aiosmtpd.controller import Controller
    from browser import chromium, free_port
    from test_live_browser import Inbox, fake_camera, metric, read_frames, resample, start_live, write_y4m

    tmp = Path(tempfile.mkdtemp(prefix="vigil-soak-"))
    fight, fps = read_frames(SHARED / "data" / "fights" / "fight" / "fi001.mp4", (640, 480))
    y4m = write_y4m(
        tmp / "soak.y4m",
        [fight[0]] * (8 * camera_fps) + resample(fight, fps, camera_fps, 6.0),
        camera_fps,
    )
    inbox = Inbox()
    smtp_port, port = free_port(), free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    ctl.start()
    env = {
        **os.environ,
        "VIGIL_DATA_DIR": str(tmp / "data"),
        "VIGIL_SMTP_HOST": "127.0.0.1",
        "VIGIL_SMTP_PORT": str(smtp_port),
        "VIGIL_SMTP_SECURITY": "none",
        "VIGIL_ALERT_TO": "soak@example.com",
        "VIGIL_ALERT_THRESHOLD": "0.6",
        "VIGIL_ALERT_SECONDS": "2",
        "VIGIL_ALERT_COOLDOWN": "30",
        "VIGIL_ALERT_CAP": "1000",
        "VIGIL_ICE_SERVERS": "[]",
    }
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    cmd += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    log = open(tmp / "streamlit.log", "wb")
    server = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    samples: list[dict] = []
    try:
        time.sleep(8)
        with chromium(fake_camera(y4m), viewport=(1400, 1100)) as page:
            start_live(page, f"http://127.0.0.1:{port}")
            start = time.time()
            while (elapsed := time.time() - start) < minutes * 60:
                page.wait_for_timeout(every * 1000)
                lat = metric(page, "Latency")
                samples.append(
                    {
                        "t": elapsed,
                        "rss_mb": tree_rss_mb(server.pid),
                        "fps": metric(page, "Processed fps"),
                        "latency_ms": lat,
                    }
                )
                s = samples[-1]
                print(f"{elapsed:6.0f}s  server rss {s['rss_mb']:7.1f} MB  fps {s['fps']:5.1f}  "
                      f"latency {s['latency_ms']:5.1f} ms  emails {len(inbox.messages)}", flush=True)  # fmt: skip
    finally:
        server.terminate()
        server.wait(10)
        ctl.stop()
        log.close()
    return samples, {"emails": len(inbox.messages), "data_dir": str(tmp)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--mode", choices=["browser", "engine"], default="browser")
    ap.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    ap.add_argument("--warmup", type=float, default=30.0, help="seconds before the RSS baseline is taken")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--camera-fps", type=int, default=15, help="frame rate of the fake camera (browser mode)")
    args = ap.parse_args()
    if args.mode == "browser":
        samples, extra = run_browser(args.minutes, args.every, args.camera_fps)
    else:
        samples, extra = run_engine(args.minutes, args.every)
    res = {"mode": args.mode, "minutes": args.minutes, **summary(samples, args.warmup), **extra}
    for k, v in res.items():
        print(f"{k:>22}: {v}")
    print(f"{'target':>22}: {'met' if res['rss_growth_mb'] < 50 else 'NOT met'} (RSS growth < 50 MB)")
    if args.json:
        args.json.write_text(json.dumps({**res, "trace": samples}, indent=2))


if __name__ == "__main__":
    main()
