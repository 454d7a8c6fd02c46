"""The labelling service: model suggestions for queued videos, the queue's scoring pass, model version
names, and what the trainer can fit from the current labels (every family with ``fit_labels``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from core import families
from core.config import ScoringConfig
from core.dataset import LabelledVideo
from core.errors import DataError, NotFoundError, VigilError
from core.labels.store import LabelStore, Suggestion
from core.registry import catalogue_files, find_file, search_dirs
from core.settings import settings
from core.store import Store


def video_score(record) -> float:
    """Video-level score of an ``AnalysisRecord``: the highest smoothed frame score (0..1)."""
    if len(record.track) == 0:
        return 0.0
    return float(record.track.smoothed.max())


def suggest(
    labels: LabelStore,
    path: Path,
    model: str,
    store: Store | None = None,
    scorer=None,
    scoring: ScoringConfig | None = None,
    progress=None,
    model_version: str | None = None,
):
    """Analyse a video with ``model`` (reusing a stored analysis), record the model's suggestion, and
    return ``(AnalysisRecord, Suggestion)``. Raises VigilError subclasses for unreadable videos.

    With ``model_version`` a suggestion already recorded for it is answered from its stored analysis
    directly, without hashing the video again (the page calls this on every rerun).
    """
    from core.engine import analyze

    store = store or Store(labels.db)
    if model_version is not None:
        known = labels.suggestion(path, model, model_version)
        if known is not None and known.analysis_id:
            try:
                return store.load(known.analysis_id), known
            except NotFoundError:
                pass  # deleted from History since: analyse again
    rec = analyze(path, model=model, store=store, scorer=scorer, scoring=scoring, progress=progress)
    sugg = Suggestion(rec.model, rec.model_version, video_score(rec), rec.id)
    labels.record_suggestion(path, sugg)
    labels.set_hash(path, rec.video_hash)
    return rec, sugg


def score_queue(
    labels: LabelStore,
    model: str,
    model_version: str,
    store=None,
    scorer=None,
    limit: int | None = None,
    progress: Callable[[float, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> tuple[int, list[str]]:
    """Give every unlabelled, unscored video a suggestion from ``model``. Returns (scored, problems):
    a video that cannot be read is reported, not fatal, so one bad file does not block the queue."""
    todo = [i for i in labels.items(model, model_version) if i.label is None and i.suggestion is None]
    todo = todo[:limit] if limit else todo
    done, problems = 0, []
    for n, item in enumerate(todo):
        if cancel is not None and cancel():
            break
        if progress:
            progress(n / max(1, len(todo)), f"Scoring {item.name} ({n + 1}/{len(todo)})")
        try:
            suggest(labels, item.path, model, store=store, scorer=scorer, model_version=model_version)
            done += 1
        except VigilError as err:
            problems.append(f"{item.name}: {err}")
    if progress:
        progress(1.0, f"Scored {done} video(s)")
    return done, problems


# --- model versions and training ----------------------------------------------------------------------
_VERSION = re.compile(r"^(?P<base>.+?)-v(?P<n>\d+)$")


def base_name(name: str) -> str:
    """'fights-v3' -> 'fights'; names without a version suffix are their own base."""
    m = _VERSION.match(name.strip())
    return m.group("base") if m else name.strip()


def next_version_name(base: str, existing: Iterable[str]) -> str:
    """'<base>-v<N>' with N one more than the highest existing version of that base (old ones stay)."""
    base = base_name(base)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", base):
        raise DataError(f"Model name '{base}' may contain only letters, digits, '.', '_' and '-'.")
    taken = [int(m.group("n")) for n in existing if (m := _VERSION.match(n)) and m.group("base") == base]
    return f"{base}-v{max(taken, default=0) + 1}"


def training_kinds() -> dict[str, str]:
    """Kinds the trainer can fit from video-level labels -> one-line description, by ``label_rank``."""
    trainable = [f for f in families.all_families().values() if f.fit_labels]
    return {f.kind: f.label_hint or f.description for f in sorted(trainable, key=lambda f: f.label_rank)}


@dataclass(frozen=True)
class KindStatus:
    """Can this kind be trained here? ``reason`` says why not, in words a user can act on ("" when it can)."""

    kind: str
    hint: str
    available: bool
    reason: str = ""


def _feature_weights(kind: str) -> list[tuple[str, ...]]:
    """The weight files a kind's features need, each as alternatives (any one of a tuple will do)."""
    family = families.get(kind)
    return [(w,) for w in family.weights] + list(family.weight_choices)


def weights_folder_words() -> str:
    """Where a user puts weight files, in words: the searched folders, and how to add one."""
    where = " or ".join(str(d) for d in search_dirs())
    return where if settings().models_dirs else f"{where} (or in a folder named by VIGIL_MODELS_DIR)"


def training_kind_statuses() -> list[KindStatus]:
    """Every trainable kind (``training_kinds`` order) and whether its feature weights are here. Never
    downloads: a kind whose weights are missing is unavailable, so training never stalls on the network."""
    out = []
    for kind, hint in training_kinds().items():
        missing = next((alt for alt in _feature_weights(kind) if not any(find_file(f) for f in alt)), None)
        if missing is None:
            out.append(KindStatus(kind, hint, True))
        else:
            files = " or ".join(missing)
            reason = f"it needs the weight file {files}, which is not here: put it in {weights_folder_words()}"
            if missing[0] in catalogue_files():  # the app never downloads at Train time; the CLI fetches it
                reason += f"; or run `python -m core fetch {missing[0]}` when online"
            out.append(KindStatus(kind, hint, False, reason))
    return out


def training_items(labels: LabelStore, paths: Iterable[Path] | None = None) -> list:
    """Current labels as the trainer's ``LabelledVideo`` list (optionally only ``paths``)."""
    wanted = {Path(p).resolve() for p in paths} if paths is not None else None
    return [
        LabelledVideo(path=i.path, label=i.label.label, category=i.label.category, group=i.group)
        for i in labels.labelled()
        if wanted is None or i.path in wanted
    ]
