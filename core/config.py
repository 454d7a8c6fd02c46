"""One validated config tree for analysis. Every field has a default, a description and bounds.

Scoring settings (``ScoringConfig``) change the scores and therefore the cache key of an analysis;
event settings (``EventConfig``) only re-cut segments from stored scores, which is instant.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from core.settings import PROJECT_ROOT, ThresholdBand, settings, validated

__all__ = ["ScoringConfig", "EventConfig", "SourceLimits", "AnalysisConfig", "validated", "data_dir"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScoringConfig(_Strict):
    fps: float = Field(10.0, ge=0.5, le=60.0, description="Analysis frames per second (resampled).")
    max_side: int = Field(
        640, ge=64, le=3840, description="Frames are resized so their longer side is at most this (px)."
    )

    def key(self) -> str:
        """Short stable hash of the settings that change scores."""
        blob = json.dumps(self.model_dump(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


class EventConfig(ThresholdBand, _Strict):
    threshold: float = Field(
        0.5, ge=0.0, le=1.0, description="A segment starts when the smoothed score rises above this (0..1)."
    )
    hysteresis: float = Field(
        0.1, ge=0.0, le=1.0, description="It ends when the score falls below threshold - hysteresis."
    )
    min_duration: float = Field(1.0, ge=0.0, le=600.0, description="Shorter segments are dropped (s).")
    merge_gap: float = Field(1.0, ge=0.0, le=600.0, description="Segments closer than this are merged (s).")
    smooth_seconds: float = Field(
        1.0, ge=0.0, le=30.0, description="Width of the centred moving average for the smoothed score (s)."
    )
    top_k: int = Field(6, ge=0, le=50, description="How many worst moments get a thumbnail.")
    min_separation: float = Field(
        2.0, ge=0.0, le=600.0, description="Top moments are at least this far apart in time (s)."
    )


class SourceLimits(_Strict):
    max_duration: float = Field(3600.0, ge=1.0, description="Longest downloadable video (s).")
    max_bytes: int = Field(2 * 1024**3, ge=1024, description="Largest downloadable file (bytes).")
    timeout: float = Field(20.0, ge=1.0, le=600.0, description="Network timeout per request (s).")


class AnalysisConfig(_Strict):
    scoring: ScoringConfig = ScoringConfig()
    events: EventConfig = EventConfig()


def data_dir() -> Path:
    """Where analyses, uploads and the SQLite file live (``$VIGIL_DATA_DIR``, default ./vigil-data)."""
    return settings().data_dir


def project_models_dir() -> Path:
    return PROJECT_ROOT / "models"
