"""Objects that move unlike the others, and people who fall: the object-level cues of the default detector.

Kinds (``FAMILIES``):
- ``objects`` (no training, no weights): moving objects from dense optical flow, each compared with the
  other moving objects of the same video (offline the whole shot, live the last 60 s); plus the
  person-down cue. Causes: "fast object", "unusual object", "object moving against the flow",
  "crowd dispersal", "person down".
- ``objects-fitted``: the same objects compared with a scene's normal objects (``fit_normal``).
- ``person-down``: the person-down cue alone.

The stream API the fusion uses (update / finish / cue_scores / evidence / cut) is documented in
``core.families.objects.stream``. Modules: ``regions`` (moving objects from flow), ``tracks`` (linking
them), ``norms`` (the usual object), ``falls`` (person down), ``stream`` (scorers), ``fit`` (scene fitter).
This ``__init__`` stays cheap: the modules load when a model is built or fitted.
"""

from __future__ import annotations

from core.families.base import Family


def _info(spec):
    from core.scorers.base import ModelInfo

    return ModelInfo(spec.name, spec.version, spec.description, "objects")


def _build_objects(spec, resolve):
    from core.families.objects.stream import ObjectsScorer

    return ObjectsScorer(_info(spec))


def _build_fitted(spec, resolve):
    from core.errors import ModelNotFittedError
    from core.families.objects.stream import FittedScene, ObjectsScorer

    artifact = spec.params.get("artifact")
    if not artifact:
        raise ModelNotFittedError(f"Model '{spec.name}' has no fitted artifact.")
    return ObjectsScorer(_info(spec), FittedScene.load(resolve(artifact)))


def _build_person_down(spec, resolve):
    from core.families.objects.stream import ObjectsScorer

    return ObjectsScorer(_info(spec), objects=False, person_down=True)


def _fit_normal(sources, scoring, progress):
    from core.families.objects.fit import fit_normal

    return fit_normal(sources, scoring, progress)


FAMILIES: list[Family] = [
    Family(
        kind="objects",
        title="Moving objects (self-referenced)",
        description=(
            "Finds objects that move unlike the others in the same video (a bike among walkers, a cart, "
            "someone running against the flow) and people who fall and stay down. No training, no weights."
        ),
        build=_build_objects,
        builtin=(
            {
                "name": "objects",
                "kind": "objects",
                "version": "3",
                "featurizer": "objects",
                "description": "Weight-free: moving objects compared with the other moving objects of the same "
                "video, and people who fall. Says why: fast object, unusual object, person down.",
                "summary": "Objects that move unlike the others (too fast, odd size or direction) and people who fall.",
                "weights": [],
                "params": {},
            },
        ),
        evaluate_by_default=("frames",),
    ),
    Family(
        kind="objects-fitted",
        title="Moving objects (fitted on a scene)",
        description=(
            "Moving objects compared with the objects of a scene's normal footage, part by part of the image; "
            "train it on videos of one camera with nothing unusual in them."
        ),
        build=_build_fitted,
        fit_normal=_fit_normal,
        evaluate_by_default=("frames",),
    ),
    Family(
        kind="person-down",
        title="Person down",
        description="A person whose outline turns from standing to lying and stays down. No training, no weights.",
        build=_build_person_down,
        builtin=(
            {
                "name": "person-down",
                "kind": "person-down",
                "version": "3",
                "featurizer": "objects",
                "description": "Weight-free: a person whose outline turns from standing to lying and stays.",
                "summary": "A person who falls, or lies on the ground and stays there.",
                "weights": [],
                "params": {},
            },
        ),
    ),
]
