"""Batch throughput, measured in one run: 1 vs 2 workers, Ray vs local at the same worker count, and
footage-hours per hour per core (what sizing a cluster for an archive needs).

    .venv/bin/python benchmarks/batch_bench.py                       # ../shared videos, 5 rounds
    .venv/bin/python benchmarks/batch_bench.py DIR... --rounds 3 --json out/batch_bench.json

Every configuration scores the same videos into a fresh data folder (nothing is skipped). Rates are over
the scoring time, after the workers are up (start-up is printed apart: it is paid once per batch, not
per video). Configurations are interleaved round by round so a load that comes and goes on a shared
machine hits each alike; the median round is reported, with the load average, because on a busy machine
the wall-clock ratios say as much about the neighbours as about the code. ``cpu`` figures are CPU time
(the workers' own; the driver's apart), which the neighbours do not change, and "cores granted" says how
much CPU the machine actually gave the workers; the best round is printed too. The Ray runs start Ray on this machine
unless RAY_ADDRESS names a cluster.

Engine overhead: the CPU time, while scoring, of every process under the driver (Ray's gcs_server, raylet,
log monitor, autoscaler monitor, agents; the actors outside their tasks; the local pool's resource tracker)
beyond what the workers spent on their videos, per second of scoring: what the engine itself takes from the
cores. Stopping the workers is timed apart like the start-up (Ray started here waits ~1 s for its autoscaler
monitor to exit), so the rates compare the scoring alone; an end-to-end ratio that includes both is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.batch import collect_videos, run_batch  # noqa: E402
from core.batch.driver import make_engine  # noqa: E402
from core.config import ScoringConfig  # noqa: E402
from core.db import Database  # noqa: E402
from core.settings import load_settings  # noqa: E402
from core.store import Store  # noqa: E402

CONFIGS = [("local", 1), ("local", 2), ("ray", 2)]


def default_videos() -> list[str]:
    shared = load_settings({}).shared_dir / "data"
    paths = [
        shared / "clips" / "vtest.avi",
        shared / "ucsd_ped2" / "testing" / "frames",
        shared / "ucsd_ped2" / "training" / "frames",
    ]
    missing = [p for p in paths if not p.exists()]
    if missing:
        sys.exit(f"error: {missing[0]} is missing: the benchmark needs the ../shared folder (or name videos).")
    fights = sorted((shared / "fights" / "fight").glob("fi*.mp4"))[:20]
    return collect_videos([*paths, *fights])


def size(source: str) -> int:
    p = Path(source)
    return sum(f.stat().st_size for f in p.iterdir()) if p.is_dir() else p.stat().st_size


def process_cpu() -> dict[int, tuple[str, float]]:
    """pid -> (what it is, CPU seconds so far) for every process under this one (not this one)."""
    out = {}
    for p in psutil.Process().children(recursive=True):
        try:
            with p.oneshot():
                cmd, t = p.cmdline(), p.cpu_times()
                label = p.name()
                scripts = [os.path.basename(c) for c in cmd if c.endswith(".py")]
                if scripts:
                    label = scripts[0]
                elif any("multiprocessing" in c for c in cmd):
                    label = "pool worker" if any("spawn_main" in c for c in cmd) else "resource tracker"
                out[p.pid] = (label, t.user + t.system)
        except psutil.Error:  # exited between listing and reading
            pass
    return out


class Metered:
    """An engine whose process tree's CPU time is read when its workers are up and again before they stop."""

    def __init__(self, engine):
        self._engine = engine
        self.before: dict[int, tuple[str, float]] = {}
        self.after: dict[int, tuple[str, float]] = {}
        self.driver_cpu = self.seconds = 0.0

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def start(self, spec) -> None:
        self._engine.start(spec)
        self.before, self._t, self._c = process_cpu(), time.perf_counter(), time.process_time()

    def stop(self) -> None:
        self.seconds, self.driver_cpu = time.perf_counter() - self._t, time.process_time() - self._c
        self.after = process_cpu()
        self._engine.stop()

    def by_label(self) -> dict[str, float]:
        """CPU seconds spent while scoring, per kind of process."""
        spent: dict[str, float] = {}
        for pid, (label, cpu) in self.after.items():
            spent[label] = spent.get(label, 0.0) + cpu - self.before.get(pid, (label, 0.0))[1]
        return spent


def one_run(sources: list[str], engine: str, workers: int, model: str, scoring: ScoringConfig) -> dict:
    eng = Metered(make_engine(engine, workers, 0.0, len(sources)))
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as d:
        store = Store(Database(Path(d) / "vigil.sqlite"))
        c0 = time.process_time()
        s = run_batch(sources, model=model, engine=eng, workers=workers, scoring=scoring, store=store)
        driver_cpu = time.process_time() - c0
    if s.failed:
        sys.exit(f"error: {s.failed} video(s) failed, e.g. {s.failures[0]}")
    d = s.to_dict()
    spent = eng.by_label()
    return {
        "engine": engine,
        "workers": workers,
        "videos": s.done,
        "footage_hours": s.footage_hours,
        "startup_s": s.startup_seconds,
        "shutdown_s": s.shutdown_seconds,
        "scoring_s": s.scoring_seconds,
        "total_s": s.seconds,
        "fh_per_h": s.footage_hours_per_hour,
        "fh_per_cpu_h": d["footage_hours_per_cpu_hour"],
        "worker_cpu_s": s.cpu_seconds,
        "driver_cpu_s": driver_cpu,
        "cores_granted": s.cpu_seconds / s.scoring_seconds if s.scoring_seconds > 0 else 0.0,
        # beyond the workers' own CPU on their videos, per second of scoring (cores), and by process kind
        "engine_overhead_cores": (sum(spent.values()) - s.cpu_seconds) / eng.seconds if eng.seconds > 0 else 0.0,
        "driver_cores": eng.driver_cpu / eng.seconds if eng.seconds > 0 else 0.0,
        "overhead_by_process_s": spent,
        "metered_s": eng.seconds,
    }


WORKER_LABELS = ("pool worker", "ray::VideoWorkerActor")


def daemon_share(runs: list[dict]) -> dict[str, float]:
    """Median cores per process kind other than the workers (Ray's daemons, the pool's tracker), biggest first."""
    labels = {k for r in runs for k in r["overhead_by_process_s"] if k not in WORKER_LABELS}
    share = {
        k: statistics.median(r["overhead_by_process_s"].get(k, 0.0) / r["metered_s"] for r in runs) for k in labels
    }
    return dict(sorted(share.items(), key=lambda kv: -kv[1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", help="videos (folders, globs, lists); default: ../shared clips")
    ap.add_argument("--model", default="motion")
    ap.add_argument("--fps", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=5)  # odd: the median is a real round
    ap.add_argument("--json")
    args = ap.parse_args()
    sources = collect_videos(args.paths) if args.paths else default_videos()
    sources.sort(key=size, reverse=True)  # longest first: no long video left alone at the end
    scoring = ScoringConfig(fps=args.fps)
    cores = os.cpu_count() or 1
    load0 = os.getloadavg()
    print(
        f"{len(sources)} videos, model {args.model}, {cores} cores, load average {load0[0]:.1f}; "
        f"RAY_ADDRESS={os.environ.get('RAY_ADDRESS') or '(unset: Ray on this machine)'}",
        flush=True,
    )
    runs: dict[tuple[str, int], list[dict]] = {c: [] for c in CONFIGS}
    for r in range(args.rounds):
        for engine, workers in CONFIGS:
            res = one_run(sources, engine, workers, args.model, scoring)
            runs[(engine, workers)].append(res)
            print(
                f"  round {r + 1} {engine:>5} x{workers}: {res['fh_per_h']:7.1f} footage-h/h over "
                f"{res['scoring_s']:5.1f} s (+{res['startup_s']:4.1f} s start-up), "
                f"{res['fh_per_cpu_h']:6.1f} footage-h per CPU-hour, load {os.getloadavg()[0]:.1f}",
                flush=True,
            )

    def med(c, key):
        return statistics.median(x[key] for x in runs[c])

    l1, l2, r2 = (med(c, "fh_per_h") for c in CONFIGS)
    ratio = l2 / l1
    ray_vs_local = r2 / l2 - 1.0
    per_core = l2 / 2
    per_cpu_h = med(("local", 2), "fh_per_cpu_h")
    footage = runs[CONFIGS[0]][0]["footage_hours"]
    load1 = os.getloadavg()
    print(f"\nfootage per run: {footage:.3f} h in {len(sources)} videos (median of {args.rounds} rounds)")
    print(f"local x1: {l1:.1f} footage-h/h   local x2: {l2:.1f}   ray x2: {r2:.1f}")
    b1, b2, b3 = (max(x["fh_per_h"] for x in runs[c]) for c in CONFIGS)
    print(f"best rounds: local x1 {b1:.1f}, local x2 {b2:.1f} ({b2 / b1:.2f}x), ray x2 {b3:.1f} ({b3 / b2 - 1:+.1%})")
    print(f"2 workers / 1 worker throughput: {ratio:.2f}x (target >= 1.7x)")
    print(f"ray vs local at 2 workers: {ray_vs_local:+.1%} (target within 15 %)")
    paired = [r["fh_per_h"] / lo["fh_per_h"] - 1.0 for r, lo in zip(runs[("ray", 2)], runs[("local", 2)], strict=True)]
    print(
        f"ray vs local, round by round (each pair run back to back): median {statistics.median(paired):+.1%}, "
        f"from {min(paired):+.1%} to {max(paired):+.1%}: the spread is the neighbours'"
    )
    print(
        f"footage-hours per hour per core: {per_core:.1f} (wall clock, 2 workers on {cores} cores); "
        f"{per_cpu_h:.1f} per CPU-hour of a worker"
    )
    cpu = {c: med(c, "fh_per_cpu_h") for c in CONFIGS}
    print(
        "worker CPU per footage (footage-h per CPU-hour): "
        + ", ".join(f"{e} x{w} {v:.1f}" for (e, w), v in cpu.items())
        + f"; ray vs local at x2 {cpu[('ray', 2)] / cpu[('local', 2)] - 1:+.1%}"
    )
    print(
        "cores the machine gave the workers while scoring (CPU s / wall s): "
        + ", ".join(f"{e} x{w} {med((e, w), 'cores_granted'):.2f}" for e, w in CONFIGS)
    )
    serial = med(("local", 2), "driver_cpu_s") / med(("local", 2), "worker_cpu_s")
    print(
        f"driver CPU (saving every result, start-up included): {serial:.1%} of the workers' CPU at local x2, "
        f"{med(('ray', 2), 'driver_cpu_s') / med(('ray', 2), 'worker_cpu_s'):.1%} at ray x2"
    )
    print(
        "start-up / stop: "
        + ", ".join(f"{e} x{w} {med((e, w), 'startup_s'):.1f} / {med((e, w), 'shutdown_s'):.1f} s" for e, w in CONFIGS)
    )
    e2e = {c: statistics.median(x["footage_hours"] * 3600 / x["total_s"] for x in runs[c]) for c in CONFIGS}
    e2e_gap = e2e[("ray", 2)] / e2e[("local", 2)] - 1.0
    print(
        f"end to end (start-up and stop included, {footage * 60:.1f} min of footage): local x2 "
        f"{e2e[('local', 2)]:.1f} footage-h/h, ray x2 {e2e[('ray', 2)]:.1f} ({e2e_gap:+.1%}): a fixed cost per batch"
    )
    overhead = {c: med(c, "engine_overhead_cores") for c in CONFIGS}
    driver = {c: med(c, "driver_cores") for c in CONFIGS}
    ray_daemons = daemon_share(runs[("ray", 2)])
    print(
        "engine overhead while scoring (CPU of the engine's processes beyond the workers' videos, in cores): "
        + ", ".join(f"{e} x{w} {v:.3f}" for (e, w), v in overhead.items())
        + "; driver (saving results): "
        + ", ".join(f"{e} x{w} {v:.3f}" for (e, w), v in driver.items())
    )
    extra = overhead[("ray", 2)] - overhead[("local", 2)] + driver[("ray", 2)] - driver[("local", 2)]
    print(
        f"Ray's own cost at x2: {extra:.3f} cores more than local (engine + driver), i.e. {extra / cores:.1%} of "
        f"this machine's {cores} cores and {extra / 16:.1%} of a 16-core node; its daemons alone: "
        + ", ".join(f"{k} {v:.3f}" for k, v in ray_daemons.items() if v >= 0.0005)
    )
    print(f"load average: {load0[0]:.1f} at start, {load1[0]:.1f} at end (1-minute)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(
            json.dumps(
                {
                    "videos": len(sources),
                    "footage_hours": footage,
                    "model": args.model,
                    "cores": cores,
                    "ratio_2_vs_1": ratio,
                    "ray_vs_local_2": ray_vs_local,
                    "footage_hours_per_hour_per_core": per_core,
                    "footage_hours_per_cpu_hour": per_cpu_h,
                    "driver_cpu_share_local_2": serial,
                    "worker_cpu_ray_vs_local_2": cpu[("ray", 2)] / cpu[("local", 2)] - 1,
                    "load_average": [load0[0], load1[0]],
                    "ray_vs_local_2_end_to_end": e2e_gap,
                    "ray_vs_local_2_by_round": paired,
                    "engine_overhead_cores": {f"{e}x{w}": v for (e, w), v in overhead.items()},
                    "driver_cores": {f"{e}x{w}": v for (e, w), v in driver.items()},
                    "ray_extra_cores_2": extra,
                    "ray_daemon_cores": ray_daemons,
                    "runs": {f"{e}x{w}": v for (e, w), v in runs.items()},
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
