"""Calibrated fusion of cue scores: one score per moment where 0.5 keeps one documented meaning.

Every cue reports a score in 0..1 with its own 0.5 line. The fusion turns each back into its raw form
``r = -log2(1 - s)`` (the inverse of ``core.scorers.base.calibrate`` with ref 1: s=0.5 -> r=1), divides it
by that cue's *scale* and takes the largest over cues; the cue that gave the largest is the moment's cause.
The fused raw value is calibrated with ``ref``: **score 0.5 means as unusual as the top ``1 - quantile``
of the moments of held-apart normal footage** (per cue the scale is that cue's ``quantile`` on the same
footage, so that no cue dominates by its own units).

``ref`` depends on which cues are present (a model without the fight weights has fewer cues, hence a
smaller maximum), so one ``ref`` is fitted per subset of cues: the meaning of 0.5 holds for every subset.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.scorers.base import calibrate

EPS = 1e-9


def to_raw(score: np.ndarray) -> np.ndarray:
    """Cue score 0..1 -> raw >= 0 in units of the cue's own 0.5 line (0.5 -> 1.0)."""
    s = np.clip(np.asarray(score, dtype=np.float64), 0.0, 1.0 - 1e-12)
    return -np.log2(1.0 - s)


def subset_key(names: Sequence[str]) -> str:
    return "+".join(sorted(names))


@dataclass(frozen=True)
class Fusion:
    """Per-cue scales and per-subset refs (see the module docstring). ``quantile`` in 0..1."""

    scales: dict[str, float]
    refs: dict[str, float]
    quantile: float
    fitted_on: str = ""  # which held-apart footage, in words
    extra: dict = field(default_factory=dict)

    def ref_for(self, names: Sequence[str]) -> float:
        key = subset_key([n for n in names if n in self.scales])
        return self.refs.get(key, 1.0)

    def combine(self, cue_scores: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """{cue: (N,) 0..1} -> (fused (N,) 0..1, driver (N,) int index into the dict's order)."""
        names = list(cue_scores)
        if not names:
            return np.zeros(0), np.zeros(0, np.int64)
        raw = np.stack([to_raw(cue_scores[n]) / self.scales.get(n, 1.0) for n in names])
        driver = raw.argmax(axis=0)
        fused = raw.max(axis=0)
        return calibrate(fused, self.ref_for(names)), driver

    @classmethod
    def fit(cls, normal: Mapping[str, np.ndarray], quantile: float = 0.99, fitted_on: str = "") -> Fusion:
        """``normal``: {cue: (M,) scores 0..1} on the same M moments of normal footage."""
        names = list(normal)
        if not names:
            raise ValueError("no cues to fit")
        q = 100.0 * quantile
        scales = {n: max(float(np.percentile(to_raw(normal[n]), q)), EPS) for n in names}
        refs = {}
        for k in range(1, len(names) + 1):
            for sub in itertools.combinations(names, k):
                fused = np.max(np.stack([to_raw(normal[n]) / scales[n] for n in sub]), axis=0)
                refs[subset_key(sub)] = max(float(np.percentile(fused, q)), EPS)
        return cls(scales, refs, quantile, fitted_on)

    def to_dict(self) -> dict:
        return {
            "scales": self.scales,
            "refs": self.refs,
            "quantile": self.quantile,
            "fitted_on": self.fitted_on,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Fusion:
        return cls(
            {k: float(v) for k, v in d["scales"].items()},
            {k: float(v) for k, v in d["refs"].items()},
            float(d["quantile"]),
            d.get("fitted_on", ""),
            d.get("extra", {}),
        )

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path) -> Fusion:
        return cls.from_dict(json.loads(path.read_text()))

    @classmethod
    def identity(cls) -> Fusion:
        """Uncalibrated: each cue's own 0.5 line is the fused 0.5 line (used before fitting)."""
        return cls({}, {}, 0.0, "not fitted")
