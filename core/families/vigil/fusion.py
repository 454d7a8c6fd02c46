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
SCALE_FLOOR = 1.0  # a cue's own 0.5 line, in raw units


def _ref_for_quantile(raws: list[np.ndarray], times: list[np.ndarray], masks: list[np.ndarray], q: float, sm) -> float:
    """The ref at which the q-th percentile of the (smoothed) calibrated normal scores is 0.5 (bisection in
    log space; the smoothed calibrated score falls monotonically as ref grows)."""

    def level(ref: float) -> float:
        return float(
            np.percentile(
                np.concatenate([sm(calibrate(r, ref), t)[m] for r, t, m in zip(raws, times, masks, strict=True)]), q
            )
        )

    lo, hi = 1e-3, 1e3
    for _ in range(60):
        mid = float(np.sqrt(lo * hi))
        lo, hi = (mid, hi) if level(mid) > 0.5 else (lo, mid)
    return float(np.sqrt(lo * hi))


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

    def contributions(self, cue_scores: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """{cue: (N,) 0..1} -> {cue: (N,) 0..1}: the fused score each cue alone gives, on the fused scale (0.5 is
        the model's line). ``combine``'s score is their maximum, since calibration is monotone."""
        ref = self.ref_for(list(cue_scores))
        return {n: calibrate(to_raw(s) / self.scales.get(n, 1.0), ref) for n, s in cue_scores.items()}

    @classmethod
    def fit(
        cls,
        normal: Mapping[str, np.ndarray] | Sequence[Mapping[str, np.ndarray]],
        quantile: float = 0.99,
        fitted_on: str = "",
        times: Sequence[np.ndarray] | None = None,
        smooth_seconds: float = 0.0,
        masks: Sequence[np.ndarray] | None = None,
    ) -> Fusion:
        """Fit on normal footage: ``normal`` is {cue: (M,) scores 0..1} of the same M moments, or one such dict
        per video with ``times`` (per video (M_v,) s) when ``smooth_seconds`` > 0; ``masks`` (per video (M_v,)
        bool) keeps the normal moments of videos that also hold anomalies (smoothing runs on the whole video).

        With smoothing, quantiles are taken on the centred ``smooth_seconds`` moving average (what segments and
        alerts threshold), so the line means: the smoothed score of a normal moment exceeds 0.5 with
        probability ``1 - quantile``. A cue's scale is at least ``SCALE_FLOOR`` (its own 0.5 line): the fit
        damps noisy cues and never amplifies a quiet one (a cue silent on normal footage keeps its own line).
        """
        from core.events import smooth

        videos = [normal] if isinstance(normal, Mapping) else list(normal)
        if not videos or not videos[0]:
            raise ValueError("no cues to fit")
        names = list(videos[0])
        if times is None or smooth_seconds <= 0:
            times = [np.zeros(len(next(iter(v.values())))) for v in videos]
            smooth_seconds = 0.0
        if masks is None:
            masks = [np.ones(len(t), bool) for t in times]

        def sm(x: np.ndarray, t: np.ndarray) -> np.ndarray:
            return smooth(x, t, smooth_seconds) if smooth_seconds > 0 else x

        q = 100.0 * quantile
        scales = {
            n: max(
                float(
                    np.percentile(
                        np.concatenate([sm(to_raw(v[n]), t)[m] for v, t, m in zip(videos, times, masks, strict=True)]),
                        q,
                    )
                ),
                SCALE_FLOOR,
            )
            for n in names
        }
        refs = {}
        for k in range(1, len(names) + 1):
            for sub in itertools.combinations(names, k):
                raws = [np.max(np.stack([to_raw(v[n]) / scales[n] for n in sub]), axis=0) for v in videos]
                refs[subset_key(sub)] = _ref_for_quantile(raws, list(times), masks, q, sm)
        return cls(scales, refs, quantile, fitted_on, {"smooth_seconds": smooth_seconds})

    def digest(self) -> str:
        """8 hex digits of the fitted numbers: part of the model's version, so a refit is a new version (the
        store and the batch never take scores of an older fusion for current ones)."""
        import hashlib

        blob = json.dumps({"scales": self.scales, "refs": self.refs, "quantile": self.quantile}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:8]

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
