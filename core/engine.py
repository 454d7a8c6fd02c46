"""The analysis line every page and command runs: source -> scorer -> score track -> events -> store."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from core.config import EventConfig, ScoringConfig
from core.errors import AnalysisCancelled, TooFewFramesError
from core.events import ScoreTrack, segments_from_track, top_moments
from core.families.objects import naming
from core.families.objects.naming import OBJECT_CAUSES, Detection, named
from core.images import encode_jpeg, upscaled
from core.overlay import MIN_SIDE, Overlay, annotate, draw_named
from core.registry import load_scorer
from core.scorers.base import Scorer, ScoringStream
from core.sources import VideoSource, open_source, prefetched
from core.store import AnalysisRecord, Store, new_id

THUMB_SIDE = 480


@dataclass(frozen=True)
class Progress:
    """Where a running analysis is: fraction 0..1, frames done, processed frames/s, seconds left.

    ``stage``: after the last frame, the step under way in words ("" while frames are being scored): the
    whole-video steps (cue baselines, naming objects, thumbnails) take seconds that a frame count cannot show.
    """

    fraction: float
    frames: int
    fps: float
    eta: float | None
    message: str
    stage: str = ""


ProgressFn = Callable[[Progress], None]
CancelFn = Callable[[], bool]


def default_model() -> str:
    """The model used when none is named (``VIGIL_DEFAULT_MODEL``, default ``vigil``)."""
    from core.settings import settings

    return settings().default_model


def effective_fps(scorer: Scorer, scoring: ScoringConfig) -> float:
    pref = scorer.info.preferred_fps
    return min(scoring.fps, pref) if pref else scoring.fps


def score_source(
    source: VideoSource,
    scorer: Scorer,
    scoring: ScoringConfig,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stream the source through the scorer. Returns (frame (N,), t (N,) s, score (N,) 0..1)."""
    frame, t, score, _ = _score(source, scorer, scoring, progress, cancel)
    return frame, t, score


def _score(
    source, scorer, scoring, progress, cancel, prefetch: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, ScoringStream]:
    """score_source, also handing back the finished stream (for its per-frame evidence).

    ``prefetch`` decodes in a second thread; a batch worker turns it off (its parallelism is its peers).
    """
    fps = effective_fps(scorer, scoring)
    expected = max(1, source.expected_samples(fps))
    stream = scorer.stream(live=False)
    frames: list[int] = []
    times: list[float] = []
    t0 = last = time.perf_counter()
    decoded = source.frames(fps=fps, max_side=scoring.max_side)
    for fr in prefetched(decoded) if prefetch else decoded:
        stream.update(fr.t, fr.image)
        frames.append(fr.index)
        times.append(fr.t)
        now = time.perf_counter()
        if cancel is not None and cancel():
            raise AnalysisCancelled("Analysis cancelled; nothing was saved.")
        if progress is not None and (now - last >= 0.25 or len(frames) == 1):
            last = now
            rate = len(frames) / max(now - t0, 1e-6)
            left = max(0, expected - len(frames))
            progress(
                Progress(
                    min(0.99, len(frames) / expected),
                    len(frames),
                    rate,
                    left / rate if rate else None,
                    f"{len(frames)}/{expected} frames · {rate:.0f} frames/s",
                )
            )
    if len(frames) < 2:
        raise TooFewFramesError(f"'{source.meta.name}' decodes to {len(frames)} frame(s); a video needs at least two.")
    _stage(progress, len(frames), "finishing the scores (each moment against the whole video)")
    scores = stream.finish()
    if len(scores) != len(frames):
        raise RuntimeError(f"scorer returned {len(scores)} scores for {len(frames)} frames")
    return np.array(frames), np.array(times), scores, stream


def _stage(progress: ProgressFn | None, frames: int, stage: str) -> None:
    if progress is not None:
        progress(Progress(0.99, frames, 0.0, None, stage, stage))


def frame_causes(stream: ScoringStream, n: int) -> list[str]:
    """Each scored frame's cause (``Evidence.cause``), or [] when the model names none (offline, after finish)."""
    causes = [stream.evidence(i).cause for i in range(n)]
    return causes if any(causes) else []


@dataclass
class ComputedAnalysis:
    """An analysis computed but not yet stored: the record (no files yet) and its thumbnails.

    ``images`` maps a native frame number to JPEG bytes. Picklable, so a batch worker can hand it to
    the driver, which alone writes the store (``save_analysis``).
    """

    record: AnalysisRecord
    images: dict[int, bytes]


def compute_analysis(
    source: VideoSource,
    scorer: Scorer,
    scoring: ScoringConfig,
    events: EventConfig,
    source_uri: str | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    prefetch: bool = True,
    owner: str = "",
) -> ComputedAnalysis:
    """Score one opened video and build its record and thumbnails without touching the store.

    Raises a ``VigilError`` subclass for anything a user did wrong (too few frames, cancelled...).
    ``prefetch=False`` keeps decoding on the calling thread (one core per batch worker); same scores.
    """
    frame, t, score, stream = _score(source, scorer, scoring, progress, cancel, prefetch)
    track = ScoreTrack.from_scores(frame, t, score, events.smooth_seconds, frame_causes(stream, len(score)))
    segments = segments_from_track(track, events)
    moments = top_moments(track, events.top_k, events.min_separation)
    warnings = [scorer.limits] if getattr(scorer, "limits", "") else []
    if source.meta.duration > 0 and t[-1] < 0.9 * source.meta.duration - 1.0:
        warnings.append(
            f"The video stopped decoding at {t[-1]:.1f} s although its header says {source.meta.duration:.1f} s "
            "(truncated or damaged file); the rest was not analysed."
        )
    wanted = sorted({m.frame for m in moments} | {track.frame_at(s.peak_t) for s in segments})
    _stage(progress, len(frame), "naming what is in the worst moments and drawing the thumbnails")
    images = {f: upscaled(img, MIN_SIDE) for f, img in source.read_at(wanted, max_side=THUMB_SIDE).items()}
    track, segments, names = _name_objects(images, track, segments, stream, source, scoring, events)
    _draw_evidence(images, frame, stream, source, scoring, names, track.score, events.threshold)
    rec = AnalysisRecord(
        id=new_id(),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        source_name=source.meta.name,
        source_uri=source_uri or str(source.path),
        video_path=str(source.path),
        video_hash=source.sha256,
        meta=source.meta,
        model=scorer.info.name,
        model_version=scorer.info.version,
        scoring=scoring,
        events=events,
        track=track,
        segments=segments,
        moments=moments,
        warnings=warnings,
        owner=owner,
        cues=stream.parts(),
    )
    return ComputedAnalysis(rec, {f: encode_jpeg(img) for f, img in images.items()})


def save_analysis(store: Store, computed: ComputedAnalysis) -> AnalysisRecord:
    """Write a computed analysis atomically (the whole record or nothing); returns it with its files."""
    return store.save(computed.record, computed.images)


def analyze(
    source: VideoSource | str | Path | bytes,
    model: str | None = None,
    scoring: ScoringConfig | None = None,
    events: EventConfig | None = None,
    store: Store | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    reuse: bool = True,
    scorer: Scorer | None = None,
    source_uri: str | None = None,
    owner: str = "",
) -> AnalysisRecord:
    """Analyse one video and keep the result. Reuses a stored result for the same video/model/settings.

    ``owner``: the signed-in address recorded on a new analysis (a reused one keeps its first owner).

    Raises a ``VigilError`` subclass for anything a user did wrong; the store is unchanged then.
    """
    scoring = scoring or ScoringConfig()
    events = events or EventConfig()
    store = store or Store()
    uri = source_uri or (str(source) if isinstance(source, str | Path) else None)
    if not isinstance(source, VideoSource):
        source = open_source(source)
    scorer = scorer or load_scorer(model or default_model())
    if reuse:
        found = store.find(source.sha256, scorer.info.name, scorer.info.version, scoring)
        if found:
            rec = store.load(found)
            return rec if rec.events == events else rec.resegment(events)

    computed = compute_analysis(source, scorer, scoring, events, uri, progress, cancel, owner=owner)
    if cancel is not None and cancel():
        raise AnalysisCancelled("Analysis cancelled; nothing was saved.")
    rec = save_analysis(store, computed)
    if progress is not None:
        progress(Progress(1.0, len(rec.track), 0.0, 0.0, "Done"))
    return rec


def _scored_size(source: VideoSource, scoring: ScoringConfig) -> tuple[int, int]:
    """(w, h) of the frames the scorer saw (resized to ``scoring.max_side``): its evidence boxes are in these."""
    m = source.meta
    scale = min(1.0, scoring.max_side / max(m.width, m.height))
    return max(1, round(m.width * scale)), max(1, round(m.height * scale))


def _name_objects(
    images: dict[int, np.ndarray],
    track: ScoreTrack,
    segments: list,
    stream: ScoringStream,
    source: VideoSource,
    scoring: ScoringConfig,
    events: EventConfig,
) -> tuple[ScoreTrack, list, dict[int, str]]:
    """Say what the object responsible for each object-caused segment is ("fast object (bicycle)"), when the
    detector's weights are here (``core.families.objects.naming``): one detection per segment, on its peak
    frame's thumbnail, matched with the box the cue gave. The segment's frames of that cause carry the name, so
    a re-cut with other event settings keeps it. Returns (track, segments, {peak frame: the named detection, box
    in thumbnail pixels}); unchanged when there is nothing to name or no detector."""
    todo = [s for s in segments if s.cause in OBJECT_CAUSES]
    namer = naming.object_namer() if todo else None  # looked up per call: tests may replace it
    if namer is None:
        return track, segments, {}
    scored_w, scored_h = _scored_size(source, scoring)
    index = {int(f): i for i, f in enumerate(track.frame)}
    causes = list(track.causes)
    labels: dict[int, Detection] = {}
    for seg in todo:
        frame_no = track.frame_at(seg.peak_t)
        img = images.get(frame_no)
        if img is None or frame_no not in index:
            continue
        ev = stream.evidence(index[frame_no])
        if ev.culprit < 0 or ev.cause != seg.cause:
            continue
        sx, sy = img.shape[1] / scored_w, img.shape[0] / scored_h
        found = namer.name(img, ev.boxes[ev.culprit].astype(np.float64) * [sx, sy, sx, sy])
        if found is None:
            continue
        labels[frame_no] = found
        inside = np.flatnonzero((track.t >= seg.start - 1e-9) & (track.t <= seg.end + 1e-9))
        for j in inside:
            if causes[j] == seg.cause:
                causes[j] = named(seg.cause, found.label)
    if not labels:
        return track, segments, {}
    track = ScoreTrack.from_scores(track.frame, track.t, track.score, events.smooth_seconds, causes)
    return track, segments_from_track(track, events), labels


def _draw_evidence(
    images: dict[int, np.ndarray],
    frames: np.ndarray,
    stream: ScoringStream,
    source: VideoSource,
    scoring: ScoringConfig,
    names: dict[int, Detection] | None = None,
    scores: np.ndarray | None = None,
    threshold: float = 0.0,
) -> None:
    """Draw on each thumbnail who drove its score and why: the culprit's box (or skeleton) and the cause (with
    the object's name, and its box in yellow, when ``names`` has one for that frame). ``scores`` (N,) 0..1 per
    scored frame: a thumbnail whose score is below ``threshold`` stays plain (a calm video's worst moment named
    "fight" reads as a fight seen)."""
    scored_w, scored_h = _scored_size(source, scoring)
    index = {int(f): i for i, f in enumerate(frames)}
    for frame_no, img in images.items():
        if scores is not None and frame_no in index and scores[index[frame_no]] < threshold:
            continue
        ev = stream.evidence(index[frame_no]) if frame_no in index else None
        if ev is not None and (len(ev.boxes) or ev.cause):  # the object responsible boxed, the cause written
            found = (names or {}).get(frame_no)
            caption = named(ev.cause, found.label) if found and ev.cause else ev.cause
            annotate(img, Overlay(evidence=ev, evidence_size=(scored_h, scored_w), caption=caption))
            if found is not None:
                draw_named(img, found.box, found.label)
