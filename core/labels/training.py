"""The background training job the Label page starts and polls."""

from __future__ import annotations

import threading

from core.errors import VigilError


class TrainingJob:
    """Runs ``core.train.train_from_labels`` in a worker thread; the page polls ``snapshot()``.

    The worker never touches Streamlit; it only writes its own fields under a lock.
    """

    def __init__(self, kind: str, items: list, name: str, description: str = "", **train_kwargs):
        self.kind, self.items, self.name, self.description = kind, items, name, description
        self.train_kwargs = train_kwargs
        self._lock = threading.Lock()
        self.fraction, self.message = 0.0, "Starting…"
        self.report = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"train-{name}", daemon=True)

    def start(self) -> TrainingJob:
        self._thread.start()
        return self

    def _progress(self, fraction: float, message: str = "") -> None:
        with self._lock:
            self.fraction, self.message = max(0.0, min(1.0, float(fraction))), message

    def _run(self) -> None:
        from core.train import train_from_labels  # looked up per run: tests replace it

        try:
            report = train_from_labels(
                self.kind, self.items, self.name, self.description, progress=self._progress, **self.train_kwargs
            )
            with self._lock:
                self.report, self.fraction, self.message = report, 1.0, "Done"
        except VigilError as err:
            with self._lock:
                self.error = str(err)
        except Exception as err:  # a bug must reach the page as a message, not kill it silently
            with self._lock:
                self.error = f"Training failed unexpectedly: {type(err).__name__}: {err}"

    @property
    def done(self) -> bool:
        return not self._thread.is_alive() and (self.report is not None or self.error is not None)

    def wait(self, timeout: float | None = None) -> TrainingJob:
        self._thread.join(timeout)
        return self

    def snapshot(self) -> tuple[float, str, object, str | None]:
        """(fraction 0..1, message, TrainReport or None, error or None), read consistently."""
        with self._lock:
            return self.fraction, self.message, self.report, self.error
