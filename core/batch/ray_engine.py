"""The Ray engine: long-lived actors on a Ray cluster, each loading the model once.

Connects to ``RAY_ADDRESS`` when it is set (a real cluster) and otherwise starts Ray on this machine.
The project folder travels to the workers as the job's ``working_dir`` (code, manifest, shipped heads), and the
chosen trained model (card and artifact) with the workers' spec; the videos and the catalogued weights do not:
every worker must read the videos at the same path (shared storage) or as links, and find the weights in its
own ``VIGIL_MODELS_DIR`` or download them.
Actors return ``VideoOutcome``s (scores, segments, thumbnails as bytes); they never open the store.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

from core.batch.worker import BatchWorker, Crashed, Event, Finished, VideoTask, WorkerSpec, one_line
from core.errors import ClusterUnreachableError, ModelError
from core.registry import model_files, trained_dir

START_TIMEOUT = 300.0  # s: actors start Python, OpenCV and the model; a cluster may first add nodes
CONNECT_TIMEOUT = 5.0  # s: a TCP check before ray.init, which would otherwise wait much longer
REPO = Path(__file__).resolve().parents[2]
UPLOAD_EXCLUDES = [".git", ".venv", "vigil-data", "out", "test-artifacts", "tests", "benchmarks/results", "*.sqlite"]


def job_env() -> dict[str, str]:
    """The ``VIGIL_*`` settings the workers get: the driver's, plus where its trained models are (by default in
    its data folder, which does not travel with the code; the batch's own model travels with the spec)."""
    env = {k: v for k, v in os.environ.items() if k.startswith("VIGIL_")}
    env["VIGIL_TRAINED_DIR"] = str(trained_dir())  # absolute: workers start in a copy of the project folder
    return env


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raise ClusterUnreachableError unless ``host:port`` (or ``ray://host:port``) accepts a connection."""
    if address in ("auto", "local"):
        return
    parsed = urlparse(address if "://" in address else f"ray-gcs://{address}")
    host, port = parsed.hostname, parsed.port
    if not host or not port:
        raise ClusterUnreachableError(f"RAY_ADDRESS '{address}' is not host:port (e.g. 10.0.0.5:6379).")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as err:
        raise ClusterUnreachableError(
            f"Cannot reach the Ray cluster at {address} ({err.strerror or err}); check RAY_ADDRESS and that "
            "the head is running (ray start --head)."
        ) from None


def _actor_class(ray):
    @ray.remote(max_restarts=0, max_task_retries=0)
    class VideoWorkerActor:
        """One ``BatchWorker`` in a Ray worker process."""

        def __init__(self, spec: WorkerSpec):
            self.error = ""
            try:
                self.worker: BatchWorker | None = BatchWorker(spec)
            except Exception as err:  # reported by ready(): an actor that raises here is only "dead"
                self.worker = None
                self.error = one_line(err)

        def ready(self) -> tuple[int, str]:
            return os.getpid(), self.error

        def run(self, task: VideoTask):
            assert self.worker is not None
            return self.worker.run(task)

    return VideoWorkerActor


class RayEngine:
    """``workers`` actors (default: every CPU of the cluster), each with 1 CPU and ``gpus_per_worker``."""

    name = "ray"

    def __init__(
        self,
        workers: int | None = None,
        gpus_per_worker: float = 0.0,
        address: str | None = None,
        max_workers: int | None = None,
    ):
        self.workers = workers or 0
        self.max_workers = max_workers
        self.gpus_per_worker = gpus_per_worker
        self.address = address if address is not None else os.environ.get("RAY_ADDRESS", "")
        self._ray = None
        self._actors: list = []  # index -> actor handle (None while replaced)
        self._busy: dict = {}  # object ref -> (slot, task)
        self._pids: dict[int, int] = {}  # slot -> worker pid
        self._pending_ready: dict = {}  # ready ref -> slot, for replacements
        self._free: list[int] = []

    # --- lifecycle -----------------------------------------------------------------------------------
    def start(self, spec: WorkerSpec) -> None:
        if self.address:
            check_reachable(self.address)
        import ray

        self._ray = ray
        runtime_env = {"working_dir": str(REPO), "excludes": UPLOAD_EXCLUDES, "env_vars": job_env()}
        try:
            if self.address:
                ray.init(address=self.address, runtime_env=runtime_env, logging_level="WARNING", log_to_driver=False)
            else:  # "local": never attach to some other cluster this machine happens to run
                ray.init(
                    address="local",
                    runtime_env=runtime_env,
                    include_dashboard=False,
                    logging_level="WARNING",
                    log_to_driver=False,
                )
        except Exception as err:
            self._shutdown()
            where = self.address or "this machine"
            hint = (
                " (a cluster with token authentication needs RAY_AUTH_MODE=token and its token in RAY_AUTH_TOKEN "
                "or RAY_AUTH_TOKEN_PATH)"
                if self.address
                else ""
            )
            raise ClusterUnreachableError(f"Cannot start or join Ray on {where}: {one_line(err)}{hint}") from None
        try:
            self._check_resources()
            self._cls = _actor_class(ray).options(num_cpus=1, num_gpus=self.gpus_per_worker or 0)
            # the trained model travels with the spec: a node that cannot read the driver's folder still loads it
            shipped = replace(spec, model_files=tuple(model_files(spec.model).items()))
            self._spec_ref = ray.put(shipped)
            self._actors = [self._cls.remote(self._spec_ref) for _ in range(self.workers)]
            refs = {a.ready.remote(): i for i, a in enumerate(self._actors)}
            deadline = time.monotonic() + START_TIMEOUT
            while refs:
                done, _ = ray.wait(list(refs), num_returns=1, timeout=max(0.0, deadline - time.monotonic()))
                if not done:
                    raise ClusterUnreachableError(
                        f"The Ray cluster did not start {self.workers} workers within {START_TIMEOUT:.0f} s."
                    )
                slot = refs.pop(done[0])
                self._take_ready(slot, ray.get(done[0]))
        except BaseException:
            self.stop()
            raise

    def _check_resources(self) -> None:
        ray = self._ray
        res = ray.cluster_resources()
        cpus, gpus = int(res.get("CPU", 0)), float(res.get("GPU", 0))
        self.workers = self.workers or max(1, min(cpus, self.max_workers or cpus))
        if self.workers > cpus:
            raise ClusterUnreachableError(
                f"The Ray cluster has {cpus} CPUs; {self.workers} workers need one each (lower --workers)."
            )
        if self.gpus_per_worker and self.gpus_per_worker * self.workers > gpus + 1e-9:
            raise ClusterUnreachableError(
                f"The Ray cluster has {gpus:g} GPUs; {self.workers} workers at {self.gpus_per_worker:g} each "
                "need more (lower --workers or --gpus-per-worker)."
            )

    def _take_ready(self, slot: int, answer: tuple[int, str]) -> None:
        pid, error = answer
        if error:
            raise ModelError(f"A batch worker could not load the model: {error}")
        self._pids[slot] = pid
        self._free.append(slot)

    def stop(self) -> None:
        """Kill the actors and leave Ray; a video in flight is dropped (nothing of it was stored)."""
        if self._ray is None:
            return
        for a in self._actors:
            if a is not None:
                try:
                    self._ray.kill(a)
                except Exception:
                    pass
        self._actors, self._busy, self._free, self._pending_ready = [], {}, [], {}
        self._shutdown()

    def _shutdown(self) -> None:
        if self._ray is not None and self._ray.is_initialized():
            self._ray.shutdown()
        self._ray = None

    # --- work ----------------------------------------------------------------------------------------
    def idle(self) -> int:
        return len(self._free)

    def submit(self, task: VideoTask) -> None:
        slot = self._free.pop(0)
        self._busy[self._actors[slot].run.remote(task)] = (slot, task)

    def pid_of(self, index: int) -> int | None:
        """The process id of the actor scoring video ``index`` now (None when none is)."""
        for slot, task in self._busy.values():
            if task.index == index:
                return self._pids.get(slot)
        return None

    def poll(self, timeout: float) -> list[Event]:
        ray = self._ray
        refs = list(self._busy) + list(self._pending_ready)
        if not refs:
            time.sleep(timeout)
            return []
        done, rest = ray.wait(refs, num_returns=1, timeout=timeout)
        if done and rest:
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
            done += more
        events: list[Event] = []
        for ref in done:
            if ref in self._pending_ready:
                slot = self._pending_ready.pop(ref)
                try:
                    self._take_ready(slot, ray.get(ref))
                except ray.exceptions.RayError:
                    self._actors[slot] = None  # a replacement that cannot start is not replaced again
                continue
            slot, task = self._busy.pop(ref)
            try:
                events.append(Finished(ray.get(ref)))
                self._free.append(slot)
            except ray.exceptions.RayError as err:  # the actor (its process or node) died mid-video
                events.append(Crashed(task, f"the Ray worker died while scoring it ({type(err).__name__})"))
                self._replace(slot)
        if not self._actors or all(a is None for a in self._actors):
            raise ModelError("Every Ray worker died; see the Ray logs for why.")
        return events

    def _replace(self, slot: int) -> None:
        try:
            self._ray.kill(self._actors[slot])
        except Exception:
            pass
        actor = self._cls.remote(self._spec_ref)
        self._actors[slot] = actor
        self._pending_ready[actor.ready.remote()] = slot
