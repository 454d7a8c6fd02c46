"""Motion families on optical-flow cell features: ``motion`` (self-referenced, built in) and
``motion-fitted`` (fitted on normal footage of one scene). Modules: ``features`` (the flow featurizer),
``scorer`` (streams and scorers), ``fit`` (the scene fitter)."""

from __future__ import annotations

from core.families.base import Family


def _build_motion(spec, resolve):
    from core.families.motion.scorer import build_motion

    return build_motion(spec, resolve)


def _build_fitted(spec, resolve):
    from core.families.motion.scorer import build_fitted

    return build_fitted(spec, resolve)


def _fit_normal(sources, scoring, progress):
    from core.families.motion.fit import fit_normal

    return fit_normal(sources, scoring, progress)


FAMILIES = [
    Family(
        kind="motion",
        title="Motion (self-referenced)",
        description="Weight-free optical-flow scorer. Compares each moment with the same video's usual motion; "
        "always available.",
        build=_build_motion,
        builtin=(
            {
                "name": "motion",
                "version": "1",
                "featurizer": "motion",
                "description": "Weight-free optical-flow scorer. Compares each moment with the same video's usual "
                "motion; always available.",
                "summary": "Moments when the picture moves much more than usual for that video. Always works.",
                "params": {"rows": 6, "cols": 8, "work_side": 160},
            },
        ),
        evaluate_by_default=("frames",),
    ),
    Family(
        kind="motion-fitted",
        title="Motion (fitted to a scene)",
        description="Optical-flow speeds per cell compared with normal footage of the same camera.",
        build=_build_fitted,
        fit_normal=_fit_normal,
        evaluate_by_default=("frames",),
    ),
]
