"""Video-level labels for weak supervision, by responsibility:

- ``core.labels.store``: persistence (``LabelStore``: queue, history, suggestions, CSV in/out), no engine;
- ``core.labels.roots``: the allowed data roots a user may point the Label page at;
- ``core.labels.service``: suggestions from a model, the queue's scoring pass, version names, trainable kinds;
- ``core.labels.training``: the background ``TrainingJob``.

The names below are re-exported so a page can ``from core import labels as lab``.
"""

from core.dataset import CATEGORIES
from core.labels.roots import ForbiddenFolderError, allowed_roots, check_folder
from core.labels.service import (
    KindStatus,
    base_name,
    next_version_name,
    score_queue,
    suggest,
    training_items,
    training_kind_statuses,
    training_kinds,
    video_score,
)
from core.labels.store import (
    ImportResult,
    Label,
    LabelProgress,
    LabelStore,
    QueueItem,
    Suggestion,
    uncertainty_key,
)
from core.labels.training import TrainingJob

__all__ = [
    "CATEGORIES",
    "ForbiddenFolderError",
    "ImportResult",
    "KindStatus",
    "Label",
    "LabelProgress",
    "LabelStore",
    "QueueItem",
    "Suggestion",
    "TrainingJob",
    "allowed_roots",
    "base_name",
    "check_folder",
    "next_version_name",
    "score_queue",
    "suggest",
    "training_items",
    "training_kind_statuses",
    "training_kinds",
    "uncertainty_key",
    "video_score",
]
