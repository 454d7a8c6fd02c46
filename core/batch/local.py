"""The local engine: a pool of long-lived worker processes on this machine. No Ray anywhere here.

Each worker is a spawned process with its own pipe (no lock shared between workers, so a worker
killed mid-video cannot wedge the others); the driver waits on the pipes and the process sentinels
together, so a death is seen at once and reported as ``Crashed`` for the video it had.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import types
from contextlib import contextmanager
from multiprocessing.connection import Connection, wait

from core.batch.worker import BatchWorker, Crashed, Event, Finished, VideoTask, WorkerSpec, one_line
from core.errors import ModelError

START_TIMEOUT = 300.0  # s: a worker loads Python, OpenCV and its model before it is ready


def _worker_main(spec: WorkerSpec, conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle; it stops us
    try:
        worker = BatchWorker(spec)
    except Exception as err:
        conn.send(("init_error", one_line(err)))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        conn.send(("outcome", worker.run(task)))


_MAIN_LOCK = threading.Lock()


@contextmanager
def _bare_main():
    """A spawned child re-runs the parent's ``__main__`` file; Streamlit (and its AppTest) installs the
    page script there, which a worker must not run. While children start, ``__main__`` is a bare module."""
    with _MAIN_LOCK:
        saved = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if saved is not None:
                sys.modules["__main__"] = saved


class _Slot:
    def __init__(self, ctx, spec: WorkerSpec):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(spec, child), daemon=True)
        with _bare_main():
            self.process.start()
        child.close()
        self.task: VideoTask | None = None
        self.ready = False


class LocalEngine:
    """``workers`` processes (default: the machine's cores), each scoring one video at a time."""

    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._ctx = mp.get_context("spawn")  # fork from a threaded server (Streamlit) is unsafe
        self._slots: list[_Slot] = []
        self._spec: WorkerSpec | None = None

    # --- lifecycle -----------------------------------------------------------------------------------
    def start(self, spec: WorkerSpec) -> None:
        """Start the workers and wait until each has loaded its model. Raises ModelError if one cannot."""
        self._spec = spec
        self._slots = [_Slot(self._ctx, spec) for _ in range(self.workers)]
        deadline = time.monotonic() + START_TIMEOUT
        for slot in self._slots:
            self._await_ready(slot, deadline)

    def _await_ready(self, slot: _Slot, deadline: float) -> None:
        while not slot.conn.poll(0.2):
            if not slot.process.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ModelError("A batch worker could not start (it exited while loading the model).")
        try:
            kind, value = slot.conn.recv()
        except EOFError:
            self.stop()
            raise ModelError("A batch worker could not start (it exited while loading the model).") from None
        if kind == "init_error":
            self.stop()
            raise ModelError(f"A batch worker could not load the model: {value}")
        slot.ready = True

    def stop(self) -> None:
        """Stop every worker now; a video in flight is dropped (nothing of it was stored)."""
        for slot in self._slots:
            if slot.process.is_alive():
                slot.process.terminate()
        for slot in self._slots:
            slot.process.join(timeout=5)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join(timeout=5)
            slot.conn.close()
        self._slots = []

    # --- work ----------------------------------------------------------------------------------------
    def idle(self) -> int:
        return sum(1 for s in self._slots if s.ready and s.task is None)

    def submit(self, task: VideoTask) -> None:
        slot = next(s for s in self._slots if s.ready and s.task is None)
        slot.task = task
        slot.conn.send(task)

    def pid_of(self, index: int) -> int | None:
        """The process id of the worker scoring video ``index`` now (None when none is)."""
        for s in self._slots:
            if s.task is not None and s.task.index == index:
                return s.process.pid
        return None

    def poll(self, timeout: float) -> list[Event]:
        """Outcomes and crashes that arrived within ``timeout`` seconds (possibly none)."""
        watched = [s for s in self._slots if s.task is not None or not s.ready]
        if not watched:
            time.sleep(timeout)
            return []
        waitables = {s.conn: s for s in watched} | {s.process.sentinel: s for s in watched}
        events: list[Event] = []
        seen: set[int] = set()
        for ready in wait(list(waitables), timeout):
            slot = waitables[ready]
            if id(slot) in seen:  # both its pipe and its sentinel were ready
                continue
            seen.add(id(slot))
            message = None
            try:
                if slot.conn.poll():
                    message = slot.conn.recv()
            except (EOFError, OSError):
                message = None
            if message is not None and message[0] == "outcome":
                slot.task = None
                events.append(Finished(message[1]))
            elif message is not None and message[0] == "ready":
                slot.ready = True
            elif not slot.process.is_alive() or message is not None:  # died, or could not load the model
                if slot.task is not None:
                    code = slot.process.exitcode
                    events.append(Crashed(slot.task, f"the worker process died (exit code {code}) while scoring it"))
                self._replace(slot, again=slot.ready)
        return events

    def _replace(self, dead: _Slot, again: bool) -> None:
        """A fresh worker in place of a dead one (it reports ready through ``poll``), so the batch keeps
        its width; a replacement that itself failed to start is not replaced again."""
        dead.conn.close()
        dead.process.join(timeout=1)
        i = self._slots.index(dead)
        if not again:
            del self._slots[i]
            if not self._slots:
                raise ModelError("Every batch worker died while starting; see the log for why.")
            return
        assert self._spec is not None
        self._slots[i] = _Slot(self._ctx, self._spec)
