"""Exports built from a stored analysis (no recomputation): CSV, JSON, a ZIP of thumbnails."""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from pathlib import Path

from core.store import AnalysisRecord


def scores_csv(rec: AnalysisRecord) -> str:
    """Columns: frame (native index), t (s), score (0..1), smoothed (0..1), then for a model that fuses cues one
    ``cue: <label>`` column each (0..1: what that cue alone gives; the score is their maximum)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["frame", "t", "score", "smoothed", *(f"cue: {c}" for c in rec.cues)])
    cues = list(rec.cues.values())
    tr = rec.track
    for i, (f, t, s, m) in enumerate(zip(tr.frame, tr.t, tr.score, tr.smoothed, strict=True)):
        w.writerow([int(f), f"{t:.3f}", f"{s:.5f}", f"{m:.5f}", *(f"{c[i]:.5f}" for c in cues)])
    return buf.getvalue()


def segments_rows(rec: AnalysisRecord) -> list[dict]:
    return [
        {
            "start": round(s.start, 3),
            "end": round(s.end, 3),
            "duration": round(s.duration, 3),
            "peak": round(s.peak, 5),
            "peak_t": round(s.peak_t, 3),
            "cause": s.cause,
        }
        for s in rec.segments
    ]


def segments_csv(rec: AnalysisRecord) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["start", "end", "duration", "peak", "peak_t", "cause"], lineterminator="\n")
    w.writeheader()
    w.writerows(segments_rows(rec))
    return buf.getvalue()


def summary(rec: AnalysisRecord) -> dict:
    peak, peak_t = rec.peak
    return {
        "id": rec.id,
        "source": rec.source_name,
        "video_sha256": rec.video_hash,
        "model": rec.model,
        "model_version": rec.model_version,
        "duration": round(rec.track.duration, 3),
        "frames_scored": len(rec.track),
        "fraction_anomalous": round(rec.frac_anomalous, 4),
        "peak": round(peak, 5),
        "peak_t": round(peak_t, 3),
        "scoring": rec.scoring.model_dump(),
        "events": rec.events.model_dump(),
        "warnings": rec.warnings,
    }


def segments_json(rec: AnalysisRecord) -> str:
    return json.dumps({"summary": summary(rec), "segments": segments_rows(rec)}, indent=2)


def thumbnail_name(rec: AnalysisRecord, frame: int) -> str:
    t = float(rec.track.t[rec.track.frame == frame][0]) if (rec.track.frame == frame).any() else 0.0
    return f"t{int(t // 60):02d}m{t % 60:06.3f}s_frame{frame:07d}.jpg"


def thumbnails_zip(rec: AnalysisRecord) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for frame, path in sorted(rec.thumbnails.items()):
            if Path(path).is_file():
                z.write(path, thumbnail_name(rec, frame))
    return buf.getvalue()


def write_all(rec: AnalysisRecord, out: Path) -> list[Path]:
    """CLI export: scores.csv, segments.csv, segments.json and thumbnails/ in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (
        ("scores.csv", scores_csv(rec)),
        ("segments.csv", segments_csv(rec)),
        ("segments.json", segments_json(rec)),
    ):
        (out / name).write_text(text)
        written.append(out / name)
    thumbs = out / "thumbnails"
    thumbs.mkdir(exist_ok=True)
    for frame, path in sorted(rec.thumbnails.items()):
        if Path(path).is_file():
            dest = thumbs / thumbnail_name(rec, frame)
            shutil.copyfile(path, dest)
            written.append(dest)
    return written
