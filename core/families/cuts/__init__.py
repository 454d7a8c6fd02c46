"""Scene cuts: shot boundaries on the frames an analysis already decodes (PySceneDetect, streaming).

A cut is never an anomaly: this family scores every frame 0 and says where the cuts are
(``core.families.cuts.detector.CutDetector``); the default model (``core.families.vigil``) uses it to restart
every other cue's baseline at a cut. This ``__init__`` stays cheap: the detector is imported by ``build``.
"""

from __future__ import annotations

from core.families.base import Family


def _build(spec, resolve):
    from core.families.cuts.stream import CutsScorer

    return CutsScorer(spec)


FAMILIES = [
    Family(
        kind="scene-cuts",
        title="Scene cuts (shot boundaries)",
        description="Finds the cuts between shots of an edited video. A cut is never an anomaly: it scores 0.",
        build=_build,
        builtin=(),
    )
]
