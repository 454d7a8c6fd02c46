"""The Ray engine against a real Ray cluster that this test starts on this machine.

The head runs as ``ray start --head --block`` in its own process group with its own ``--temp-dir`` and
a free port, and is stopped by signalling that group; ``RAY_ADDRESS`` points at it and nowhere else.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from test_batch import archive, fight_clips, free_port  # noqa: F401  (archive is a fixture)

from core.batch import JobStore, collect_videos, run_batch
from core.batch.ray_engine import RayEngine
from core.db import Database
from core.errors import ClusterUnreachableError
from core.store import Store

pytestmark = pytest.mark.slow


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def ray_head():
    """A one-node Ray cluster (2 CPUs) on 127.0.0.1 with its own auth token; yields the driver's env."""
    ray_bin = Path(sys.executable).parent / "ray"
    temp = tempfile.mkdtemp(prefix="vr", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    port = free_port()
    token = Path(temp) / "auth_token"
    token.write_text(secrets.token_hex(32))
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | auth
    log = open(Path(temp) / "head.log", "wb")  # noqa: SIM115  (closed below)
    head = subprocess.Popen(
        [
            str(ray_bin),
            "start",
            "--head",
            "--block",
            "--temp-dir",
            temp,
            "--port",
            str(port),
            "--node-ip-address",
            "127.0.0.1",
            "--num-cpus",
            "2",
            "--num-gpus",
            "0",
            "--include-dashboard=false",
            "--object-store-memory",
            str(200 * 1024 * 1024),
            "--disable-usage-stats",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped below by signalling that group only
    )
    try:
        deadline = time.monotonic() + 90
        while not _listening(port):
            if head.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Ray head did not start: {(Path(temp) / 'head.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield {"RAY_ADDRESS": f"127.0.0.1:{port}", **auth}
    finally:
        # SIGTERM to the whole group stops the GCS too, after which `ray start --block` would wait a
        # minute to drain the node: give the group a few seconds, then SIGKILL what is left of it.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(head.pid, sig)
            except ProcessLookupError:
                break
            try:
                head.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


def test_ray_cluster_stores_ten_reports_one_reruns_nothing_and_matches_local(ray_head, archive, monkeypatch, tmp_path):  # noqa: F811
    for k, v in ray_head.items():
        monkeypatch.setenv(k, v)
    store = Store()
    sources = collect_videos([archive])

    first = run_batch(sources, engine="ray", workers=2, store=store)
    assert first.engine == "ray" and first.workers == 2
    assert (first.done, first.skipped, first.failed) == (10, 0, 1)
    assert first.failures[0]["source"].endswith("broken.mp4") and "not a video" in first.failures[0]["reason"]
    ids = {r["id"] for r in store.list()}
    assert len(ids) == 10

    again = run_batch(sources, engine="ray", workers=2, store=store)
    assert (again.done, again.skipped, again.failed) == (0, 10, 1)
    assert {r["id"] for r in store.list()} == ids
    assert sorted(JobStore(store.db).analysis_ids(again.job_id)) == sorted(ids)

    local_store = Store(Database(tmp_path / "local" / "vigil.sqlite"))
    local = run_batch(sources, engine="local", workers=2, store=local_store)
    assert (local.done, local.failed) == (10, 1)
    by_name = {r["source_name"]: r["id"] for r in local_store.list()}
    for r in store.list():
        on_ray, on_local = store.load(r["id"]), local_store.load(by_name[r["source_name"]])
        assert np.array_equal(on_ray.track.score, on_local.track.score), r["source_name"]
        assert on_ray.segments == on_local.segments and sorted(on_ray.thumbnails) == sorted(on_local.thumbnails)


def test_a_ray_worker_that_dies_mid_video_is_retried(ray_head, monkeypatch, vtest, tmp_path):
    for k, v in ray_head.items():
        monkeypatch.setenv(k, v)
    store = Store()
    engine = RayEngine(2)
    killed: list[int] = []

    def progress(p):
        pid = engine.pid_of(0)
        if pid and not killed:
            killed.append(pid)
            os.kill(pid, signal.SIGKILL)  # a worker process of our own head on this machine

    summary = run_batch([str(vtest)], engine=engine, store=store, progress=progress)
    assert len(killed) == 1
    assert summary.done == 1 and summary.failed == 0
    item = JobStore(store.db).items(summary.job_id)[0]
    assert item.status == "done" and item.attempts == 2


def test_gpus_the_cluster_lacks_are_one_clear_error_and_nothing_stored(ray_head, monkeypatch, vtest):
    for k, v in ray_head.items():
        monkeypatch.setenv(k, v)
    store = Store()
    with pytest.raises(ClusterUnreachableError, match="has 0 GPUs"):
        run_batch([str(vtest)], engine="ray", workers=1, gpus_per_worker=0.5, store=store)
    assert store.list() == [] and JobStore(store.db).list() == []


def test_a_trained_model_reaches_workers_that_cannot_read_the_drivers_model_folder(ray_head, monkeypatch, tmp_path):
    """A node without shared storage: the workers are told a model folder that does not exist there, and still
    score with the driver's trained model (sent with their spec), the same numbers as the local pool."""
    from core.batch import ray_engine
    from core.config import ScoringConfig
    from core.sources import open_source
    from core.train import fit_normal, register

    for k, v in ray_head.items():
        monkeypatch.setenv(k, v)
    clips = fight_clips()[:2]
    register(fit_normal("motion-fitted", [open_source(clips[0])], ScoringConfig(fps=5.0)), "my-scene", "t", [])
    real_env = ray_engine.job_env
    monkeypatch.setattr(ray_engine, "job_env", lambda: real_env() | {"VIGIL_TRAINED_DIR": str(tmp_path / "absent")})

    store = Store()
    summary = run_batch([str(c) for c in clips], engine="ray", model="my-scene", workers=1, store=store)
    assert (summary.done, summary.failed) == (2, 0), summary.failures
    local_store = Store(Database(tmp_path / "local" / "vigil.sqlite"))
    local = run_batch([str(c) for c in clips], engine="local", model="my-scene", workers=1, store=local_store)
    assert local.done == 2
    on_local = {r["source_name"]: local_store.load(r["id"]) for r in local_store.list()}
    for r in store.list():
        rec = store.load(r["id"])
        assert rec.model == "my-scene" and rec.model_version == on_local[r["source_name"]].model_version
        assert np.array_equal(rec.track.score, on_local[r["source_name"]].track.score)
