"""MoViNet window features of one video under several views, cached per (video, window settings, view).

``embed_views(source, views, settings)`` decodes the video once at ``settings.fps`` (frames resized to
``max_side`` like the app's analysis), cuts black bars when the settings say so (``deborder``), and runs one
``MovinetClipper`` per view, exactly as the scorer stream does, so cached windows equal the windows the app
scores. Cache:
``$VIGIL_DATA_DIR/features/fight-views/<settings key>/<view>/<video sha256>.npz``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from core.families.fight.views import VIEWS, check_views
from core.families.movinet.borders import BorderCrop
from core.families.movinet.features import ClipEmbeddings, ClipSettings, MovinetClipper, MovinetModel, features_dir

ANALYSIS_MAX_SIDE = 640  # the app's ScoringConfig.max_side default: frames reach the scorer at this size


def cache_path(sha256: str, settings: ClipSettings, view: str, max_side: int = ANALYSIS_MAX_SIDE) -> Path:
    key = settings.key() if max_side == ANALYSIS_MAX_SIDE else f"{settings.key()}-{max_side}"
    return features_dir() / "fight-views" / key / view / f"{sha256}.npz"


def embed_views(
    source,
    weights: Path,
    views: Sequence[str],
    settings: ClipSettings,
    model: MovinetModel | None = None,
    max_side: int = ANALYSIS_MAX_SIDE,
    cache: bool = True,
) -> dict[str, ClipEmbeddings]:
    """{view: ClipEmbeddings} for one ``VideoSource``; only the views missing from the cache are computed."""
    views = check_views(views)
    out: dict[str, ClipEmbeddings] = {}
    todo = []
    for v in views:
        p = cache_path(source.sha256, settings, v, max_side)
        if cache and p.is_file():
            try:
                out[v] = ClipEmbeddings.load(p)
                continue
            except (OSError, ValueError, KeyError):
                pass  # a damaged cache entry is recomputed
        todo.append(v)
    if not todo:
        return out
    model = model or MovinetModel(weights)
    clippers = {v: MovinetClipper(model, settings) for v in todo}
    borders = BorderCrop() if settings.deborder else None  # one clip is one shot
    for fr in source.frames(fps=settings.fps, max_side=max_side):
        image = borders(fr.image) if borders is not None else fr.image
        for v, c in clippers.items():
            c.update(fr.t, VIEWS[v](image))
    for v, c in clippers.items():
        emb = c.finish()
        out[v] = emb
        if cache and len(emb):
            emb.save(cache_path(source.sha256, settings, v, max_side))
    return out
