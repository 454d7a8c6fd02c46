"""Fight head family (kind ``fight-head``): calibrated window-level fight scores from MoViNet-A0.

The shipped model ``fight-movinet`` (v3: black bars cut before MoViNet, ``core.families.movinet.borders``) is
this family; v2 (the same without cutting bars) stays loadable as ``fight-movinet-v2`` and v1 (whole-video
logistic head) as ``fight-movinet-v1``. Modules: ``views`` (flip/crops), ``features`` (multi-view windows, cached),
``head`` (``HeadConfig``, ``FightHead``: scoring, calibration, save/load), ``fit`` (nested selection,
splits), ``stream`` (``FightScorer`` / ``FightStream``), ``protocol`` (leave-one-source-out evaluation).

API for other cues (e.g. the default detector's action cue)::

    from core.families.fight import fit_fight_scorer, fight_videos, load_fight_scorer
    items = fight_videos("../shared/data/fights")             # LabelledVideo list with source groups
    train = [it for it in items if it.group not in used_in_compilation]
    scorer = fit_fight_scorer(train)                           # FightScorer fitted on those videos only
    stream = scorer.stream(live=False)                         # frames at scorer.info.preferred_fps (5 Hz)
    ...stream.update(t, frame)...; scores = stream.finish()    # (N,) calibrated 0..1, 0.5 = fight as likely as not
    stream.evidence(i)                                         # Evidence(cause="fight") where scores[i] >= 0.5

``fit_fight_scorer(items, select=True)`` makes every modelling choice by grouped inner CV on ``items``
only (minutes on 2 cores; features are cached); ``select=False`` refits the shipped model's configuration
(seconds) -- its weights then never saw held-out sources, but the configuration was chosen on all of
them. ``load_fight_scorer()`` loads the shipped ``fight-movinet`` without the registry.
"""

from __future__ import annotations

from core.families.base import Family

KIND = "fight-head"
MOVINET_FILE = "movinet_a0_stream_int8.tflite"
# Names importable from this package; they load numpy/MoViNet code on first use, so that listing the
# families stays cheap.
_API = {
    "fit_fight_scorer": "api",
    "fit_head": "api",
    "fight_videos": "api",
    "load_fight_scorer": "api",
    "shipped_config": "api",
    "FightScorer": "stream",
    "FightStream": "stream",
    "EVIDENCE_LINE": "stream",
    "FIGHT_CAUSE": "stream",
    "FightHead": "head",
    "HeadConfig": "head",
}
__all__ = ["FAMILIES", "KIND", *_API]


def __getattr__(name: str):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(f"core.families.fight.{_API[name]}"), name)
    raise AttributeError(name)


def _build(spec, resolve):
    from core.families.fight.api import build

    return build(spec, resolve)


def _fit_labels(videos, sources, progress=None, seed: int = 0, folds: int = 5):
    from core.families.fight.api import fit_labels

    return fit_labels(videos, sources, progress, seed, folds)


FAMILIES = [
    Family(
        kind=KIND,
        title="Fight head (MoViNet, calibrated windows)",
        description="Finds fights and violence: a calibrated score per 1.6 s window of MoViNet-A0 features, "
        "trained with flips and crops; 0.5 means a fight is as likely as not.",
        build=_build,
        weights=(MOVINET_FILE,),
        preferred_fps=5.0,
        fit_labels=_fit_labels,
        evaluate_by_default=("videos",),
        label_hint="Label fight clips 1 and ordinary clips 0; give each clip its source group so that clips "
        "of one camera never sit on both sides of a cross-validation fold.",
    )
]
