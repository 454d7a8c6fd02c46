"""``vigil``: the default model. One detector that explains itself, available with no weights.

Cues (each says *why* a moment is unusual, ``Evidence.cause``):
- scene cuts (``core.families.cuts``): a cut restarts every other cue's baseline and is never an anomaly;
- motion (only without the objects cue, or with ``params.motion``): self-referenced motion per shot; "fast
  object" (the fastest region boxed) or "unusual motion";
- objects (always, when the ``core.families.objects`` package is present): moving objects compared with the
  other objects of the shot, and people who fall ("fast object", "unusual object", "person down", ...);
- fight (when the MoViNet weights and the ``fight-movinet`` head are present): "fight".
More cues plug in through ``Cue`` (``core.families.vigil.cues``) without changing the fusion code.

Scores: **0.5 means as unusual as the top ``1 - quantile`` of the moments of held-apart normal footage**
(``quantile`` in ``fusion.json``; see ``core.families.vigil.fusion``). The scales and refs are fitted by
``benchmarks/realistic_uploads.py --fit`` (normal moments of the realistic uploads; its held-apart figure is
cross-fitted). The fusion's digest is part of the model version, so a refit is a new version.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING

from core.families.base import Family

if TYPE_CHECKING:
    from core.families.vigil.cues import Cue
    from core.families.vigil.fusion import Fusion
    from core.families.vigil.scorer import VigilScorer
    from core.scorers.base import Scorer

FUSION_FILE = Path(__file__).with_name("fusion.json")
FIGHT_FPS = 5.0


def load_fusion() -> Fusion:
    from core.families.vigil.fusion import Fusion

    return Fusion.load(FUSION_FILE) if FUSION_FILE.exists() else Fusion.identity()


def fight_limits(spec) -> str:
    """What the default model leaves out here: "" when its fight head can run, else why fights are not looked for.
    Cheap (no weights loaded): Home, the pickers and every analysis made without the fight cue say it."""
    from core.errors import VigilError
    from core.registry import find_file, search_dirs, status

    fight_model = spec.params.get("fight_model")
    if not fight_model:
        return ""  # built without a fight cue on purpose
    try:
        st = status(fight_model)
    except VigilError as err:
        return f"Fights are not looked for: its fight cue '{fight_model}' cannot be used ({err})."
    if st.available:
        return ""
    missing = [w.file for w in st.spec.weights if find_file(w.file, st.spec) is None]
    if not missing:
        return f"Fights are not looked for: its fight cue '{fight_model}' is {st.reason}."
    return (
        f"Fights are not looked for: the fight cue needs {' and '.join(missing)}. Put it in "
        f"{search_dirs()[0]}, set VIGIL_MODELS_DIR to a folder that holds it, or run `python -m core fetch "
        f"{missing[0]}` when online."
    )


def vigil_summary(spec, limits: str) -> str:
    """The summary as it holds on this server: fights are named only when the fight cue runs (``limits`` == "")."""
    finds = "people who fall and fights" if spec.params.get("fight_model") and not limits else "and people who fall"
    sep = ", " if finds.startswith("people") else " "
    return (
        f"The default. Finds objects that move unlike the others{sep}{finds}; a cut between scenes is never an "
        "alarm. Each moment says why."
    )


def optional_cues(params: dict, fight: Scorer | None = None) -> list[Cue]:
    """The cues whose code and weights are present here (none of them is required).

    ``fight`` replaces the registered fight head (the benchmark passes one that never saw its sources)."""
    from core.errors import VigilError
    from core.families.vigil.cues import Cue
    from core.registry import load_scorer
    from core.scorers.base import ModelInfo

    cues = []
    if params.get("objects", True):
        try:
            from core.families.objects.stream import ObjectsScorer
        except ImportError:
            ObjectsScorer = None  # noqa: N806 - the objects family is not part of this build
        if ObjectsScorer is not None:
            info = ModelInfo("objects", "1", "moving objects compared with the video's others", "objects")
            cues.append(Cue("objects", ObjectsScorer(info), "unusual object"))
    fight_model = params.get("fight_model", "fight-movinet")
    if fight is None and fight_model:
        try:
            fight = load_scorer(fight_model, allow_download=False)
        except VigilError:
            fight = None  # no MoViNet weights or no head: the model runs on its other cues
    if fight is not None:
        if getattr(fight, "num_threads", 1) != 1:
            # On its own thread it already runs beside the objects cue: a second TFLite thread only competes
            # for the same cores (-2.3 ms CPU per MoViNet frame, same numbers: the int8 kernels split outputs).
            fight = copy.copy(fight)
            fight.num_threads = 1
        # MoViNet's invoke releases the GIL: on its own thread it overlaps the objects cue's flow
        cues.append(Cue("fight", fight, "fight", FIGHT_FPS, own_thread=True))
    return cues


def build_vigil(
    spec,
    resolve,
    extra_cues: list[Cue] | None = None,
    fusion: Fusion | None = None,
    fight: Scorer | None = None,
) -> VigilScorer:
    """The default model from its spec. ``extra_cues`` replaces the optional cues (tests); ``fight`` replaces
    the registered fight head (benchmarks)."""
    from core.families.vigil.cues import Cue, MotionCue
    from core.families.vigil.scorer import VigilScorer
    from core.scorers.base import ModelInfo

    p = spec.params
    cues = optional_cues(p, fight) if extra_cues is None else list(extra_cues)
    # asked for a fight cue and did not get one (weights missing): every analysis and page says so
    limits = fight_limits(spec) if extra_cues is None and not any(c.name == "fight" for c in cues) else ""
    # The frame-level motion cue is the fallback for builds without the objects cue: on the tune split it drove
    # 1 anomalous and 3 normal moments above 0.5 next to the objects cue, and it costs a second optical flow.
    if p.get("motion", False) or not any(c.name == "objects" for c in cues):
        motion = MotionCue(int(p.get("rows", 6)), int(p.get("cols", 8)), int(p.get("work_side", 160)))
        cues.insert(0, Cue("motion", motion, "unusual motion"))
    # the fight cue names its head's version: a new head gives new cue scores, so stored scores of the old
    # one are never taken for current ones
    names = "+".join(
        f"{c.name}.{c.scorer.info.name}.{c.scorer.info.version}" if c.name == "fight" else c.name for c in cues
    )
    fusion = fusion or load_fusion()
    # version = spec version : cues @ fusion digest (cue scores depend on the part before the "@" only)
    info = ModelInfo(spec.name, f"{spec.version}:{names}@{fusion.digest()}", spec.description, "vigil")
    scorer = VigilScorer(info, cues, fusion)
    scorer.limits = limits
    return scorer


BUILTIN = {
    "name": "vigil",
    "kind": "vigil",
    "version": "3",
    "featurizer": "vigil",
    "description": (
        "Default detector, no weights needed: scene cuts, moving objects compared with the others, people who "
        "fall, motion; a fight head when the MoViNet weights are present. Each moment says why it is unusual "
        "(fast object, unusual object, person down, fight...)."
    ),
    "summary": (
        "The default. Finds objects that move unlike the others, people who fall and, where its fight cue can run, "
        "fights; a cut between scenes is never an alarm. Each moment says why."
    ),
    "weights": [],
    "params": {"motion": False, "rows": 6, "cols": 8, "work_side": 160, "fight_model": "fight-movinet"},
}

FAMILIES = [
    Family(
        kind="vigil",
        title="Vigil (default: cuts, objects, motion, fight)",
        description=BUILTIN["description"],
        build=build_vigil,
        builtin=(BUILTIN,),
        limits=fight_limits,
        summary=vigil_summary,
    )
]

__all__ = ["BUILTIN", "FAMILIES", "build_vigil", "load_fusion"]
