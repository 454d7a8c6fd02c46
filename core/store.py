"""Analysis records kept in SQLite, with their images in a folder beside the database.

A save is atomic: images are written into a temporary folder, rows are inserted in one transaction,
and the folder is renamed into place just before the commit. An exception or a kill at any point
leaves either the whole record or nothing (``sweep`` removes folders whose rows never committed).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from core.access import Identity
from core.config import EventConfig, ScoringConfig
from core.db import Database, register_column, register_schema, storage_error
from core.errors import NotFoundError, StorageError
from core.events import Moment, ScoreTrack, Segment, fraction_anomalous, plateau_middle, segments_from_track
from core.netguard import strip_credentials
from core.settings import settings
from core.sources import VideoMeta

log = logging.getLogger("vigil.store")

register_schema(
    "analyses",
    """
CREATE TABLE IF NOT EXISTS analyses (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    source_name TEXT NOT NULL,
    source_uri TEXT NOT NULL,
    video_path TEXT NOT NULL,
    video_hash TEXT NOT NULL,
    model TEXT NOT NULL,
    model_version TEXT NOT NULL,
    scoring_key TEXT NOT NULL,
    scoring_json TEXT NOT NULL,
    events_json TEXT NOT NULL,
    meta_json TEXT NOT NULL,
    duration REAL NOT NULL,
    peak REAL NOT NULL,
    peak_t REAL NOT NULL,
    n_segments INTEGER NOT NULL,
    frac_anomalous REAL NOT NULL,
    warnings_json TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS analyses_reuse ON analyses (video_hash, model, model_version, scoring_key);
CREATE TABLE IF NOT EXISTS frame_scores (
    analysis_id TEXT NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
    frame INTEGER NOT NULL,
    t REAL NOT NULL,
    score REAL NOT NULL,
    smoothed REAL NOT NULL,
    cause TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (analysis_id, frame)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS segments (
    analysis_id TEXT NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    start REAL NOT NULL,
    "end" REAL NOT NULL,
    peak REAL NOT NULL,
    peak_t REAL NOT NULL,
    cause TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (analysis_id, idx)
);
CREATE TABLE IF NOT EXISTS thumbnails (
    analysis_id TEXT NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
    frame INTEGER NOT NULL,
    t REAL NOT NULL,
    score REAL NOT NULL,
    rank INTEGER,
    path TEXT NOT NULL,
    PRIMARY KEY (analysis_id, frame)
);
""",
)
# Who ran it (the signed-in address; "" without login or from the CLI). Added after release: a column.
register_column("analyses", "owner", "TEXT NOT NULL DEFAULT ''")
# Causes (issue 10): databases made before them get the columns, their rows an empty cause.
register_column("frame_scores", "cause", "TEXT NOT NULL DEFAULT ''")
register_column("segments", "cause", "TEXT NOT NULL DEFAULT ''")
# Where a peak sits in a flat maximum: 1, its first sample or the time midway between its ends (analyses stored
# before the rule was fixed); 3, its middle sample (``plateau_middle``; the segment's and the video's peak are one
# time, a frame's). Rows of an older rule are re-placed from their stored scores when first read.
PEAK_RULE = 3
register_column("analyses", "peak_rule", "INTEGER NOT NULL DEFAULT 1")


@dataclass
class AnalysisRecord:
    """Everything one analysis produced. Times in seconds; scores 0..1; ``files_dir`` holds images."""

    id: str
    created_at: str
    source_name: str
    source_uri: str
    video_path: str
    video_hash: str
    meta: VideoMeta
    model: str
    model_version: str
    scoring: ScoringConfig
    events: EventConfig
    track: ScoreTrack
    segments: list[Segment]
    moments: list[Moment]
    thumbnails: dict[int, Path] = field(default_factory=dict)  # native frame -> image file
    files_dir: Path | None = None
    warnings: list[str] = field(default_factory=list)
    owner: str = ""  # the signed-in address of who ran it ("" without login)
    # per cue of a fusing model, {label: (N,) 0..1} aligned with ``track``: what that cue alone gives on the
    # score's scale (the score is their maximum); {} for single-cue models and analyses made before cues
    cues: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def peak(self) -> tuple[float, float]:
        """(peak score, its time in s) on the raw score; a flat maximum peaks at its middle (``plateau_middle``)."""
        if len(self.track) == 0:
            return 0.0, 0.0
        i = plateau_middle(self.track.score, int(np.argmax(self.track.score)))
        return float(self.track.score[i]), float(self.track.t[i])

    @property
    def frac_anomalous(self) -> float:
        return fraction_anomalous(self.track, self.segments)

    def resegment(self, events: EventConfig) -> AnalysisRecord:
        """The same scores cut with other event settings (no recomputation)."""
        from core.events import top_moments

        track = ScoreTrack.from_scores(
            self.track.frame, self.track.t, self.track.score, events.smooth_seconds, self.track.causes
        )
        return replace(
            self,
            events=events,
            track=track,
            segments=segments_from_track(track, events),
            moments=top_moments(track, events.top_k, events.min_separation),
        )


@dataclass(frozen=True)
class RankedSegment:
    """One anomalous segment of a stored analysis, for rankings across many videos (times in s)."""

    analysis_id: str
    source_name: str
    video_path: str
    segment: Segment
    thumbnail: Path | None = None
    cause: str = ""  # why, as the model said (core.scorers.base.CAUSES); "" when it did not


_PROBE = b"\0" * 4096


def check_storage(db: Database | None = None, need_bytes: int = 0) -> Path:
    """Fail before any work when results could not be kept: the data folder is missing and cannot be
    created, is read-only, has less than ``need_bytes`` + setting ``min_free_mb`` free, or the database
    refuses a write transaction. Raises StorageError (one line); returns the data folder."""
    db = db or Database()
    root = db.root
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=root, prefix=".probe-")
        try:
            os.write(fd, _PROBE)
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as err:
        raise (storage_error(err, root) or StorageError(f"Cannot write to {root}: {err}")) from None
    min_free = settings().min_free_mb * 1e6
    free = shutil.disk_usage(root).free
    if free < need_bytes + min_free:
        raise StorageError(
            f"The disk holding {root} has {free / 1e6:.1f} MB free; at least {(need_bytes + min_free) / 1e6:.0f} MB "
            "are needed. Free some space (or lower VIGIL_MIN_FREE_MB) and try again."
        )
    with db.connect():
        pass  # BEGIN IMMEDIATE: a read-only or locked database says so here, not after the analysis
    return root


CUES_FILE = "cues.npz"  # per-cue curves of an analysis (AnalysisRecord.cues), beside its thumbnails


def _save_cues(path: Path, cues: dict[str, np.ndarray]) -> None:
    # labels are free text: stored as a list beside numbered arrays, so any label survives
    arrays = {f"c{i}": np.asarray(v, np.float32) for i, v in enumerate(cues.values())}
    np.savez_compressed(path, labels=np.array(list(cues)), **arrays)


def _load_cues(path: Path, n: int) -> dict[str, np.ndarray]:
    """The cue curves stored with an analysis, or {} (none stored, or a damaged file: the analysis still opens)."""
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as z:
            cues = {str(label): z[f"c{i}"].astype(np.float64) for i, label in enumerate(z["labels"])}
    except Exception:  # noqa: BLE001 - zip, zlib, EOF, pickle... any damage: open without the curves
        log.warning("could not read %s; the analysis opens without its cue curves", path)
        return {}
    return cues if all(len(v) == n for v in cues.values()) else {}


def new_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]


class Store:
    def __init__(self, db: Database | None = None):
        self.db = db or Database()

    @property
    def analyses_dir(self) -> Path:
        return self.db.root / "analyses"

    # --- write ---------------------------------------------------------------------------------------
    def save(self, rec: AnalysisRecord, images: dict[int, bytes]) -> AnalysisRecord:
        """Write the record and its JPEG images (native frame -> bytes) atomically.

        Credentials in the source's link (``user:pass@``) are removed from ``rec`` before anything is written.
        """
        rec.source_uri = strip_credentials(rec.source_uri)
        rec.source_name = strip_credentials(rec.source_name)
        rec.meta = replace(rec.meta, name=strip_credentials(rec.meta.name))
        final = self.analyses_dir / rec.id
        tmp = self.analyses_dir / f".tmp-{rec.id}"
        try:
            self.analyses_dir.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            names = {}
            for frame, data in images.items():
                name = f"frame_{frame:07d}.jpg"
                (tmp / name).write_bytes(data)
                names[frame] = name
            if rec.cues:
                _save_cues(tmp / CUES_FILE, rec.cues)
            peak, peak_t = rec.peak
            with self.db.connect() as con:
                con.execute(
                    "INSERT INTO analyses (id, created_at, source_name, source_uri, video_path, video_hash, model, "
                    "model_version, scoring_key, scoring_json, events_json, meta_json, duration, peak, peak_t, "
                    "n_segments, frac_anomalous, warnings_json, owner, peak_rule) "
                    f"VALUES ({','.join('?' * 20)})",
                    (
                        rec.id,
                        rec.created_at,
                        rec.source_name,
                        rec.source_uri,
                        rec.video_path,
                        rec.video_hash,
                        rec.model,
                        rec.model_version,
                        rec.scoring.key(),
                        rec.scoring.model_dump_json(),
                        rec.events.model_dump_json(),
                        json.dumps(rec.meta.__dict__),
                        rec.track.duration,
                        peak,
                        peak_t,
                        len(rec.segments),
                        rec.frac_anomalous,
                        json.dumps(rec.warnings),
                        rec.owner,
                        PEAK_RULE,
                    ),
                )
                causes = rec.track.causes or [""] * len(rec.track)
                con.executemany(
                    "INSERT INTO frame_scores (analysis_id, frame, t, score, smoothed, cause) VALUES (?,?,?,?,?,?)",
                    (
                        (rec.id, int(f), float(t), float(s), float(m), c)
                        for f, t, s, m, c in zip(
                            rec.track.frame, rec.track.t, rec.track.score, rec.track.smoothed, causes, strict=True
                        )
                    ),
                )
                con.executemany(
                    'INSERT INTO segments (analysis_id, idx, start, "end", peak, peak_t, cause) VALUES (?,?,?,?,?,?,?)',
                    [(rec.id, i, s.start, s.end, s.peak, s.peak_t, s.cause) for i, s in enumerate(rec.segments)],
                )
                rank = {m.frame: r for r, m in enumerate(rec.moments)}
                frame_t = dict(zip(rec.track.frame.tolist(), rec.track.t.tolist(), strict=True))
                frame_s = dict(zip(rec.track.frame.tolist(), rec.track.score.tolist(), strict=True))
                con.executemany(
                    "INSERT INTO thumbnails VALUES (?,?,?,?,?,?)",
                    [
                        (rec.id, f, frame_t.get(f, 0.0), frame_s.get(f, 0.0), rank.get(f), name)
                        for f, name in names.items()
                    ],
                )
                os.replace(tmp, final)  # last step inside the transaction: a failure rolls back the rows
        except BaseException as err:
            shutil.rmtree(tmp, ignore_errors=True)
            if final.exists() and not self.exists(rec.id):
                shutil.rmtree(final, ignore_errors=True)
            translated = storage_error(err, self.db.root) if isinstance(err, OSError) else None
            if translated is not None:
                raise translated from err
            raise
        rec.files_dir = final
        rec.thumbnails = {f: final / n for f, n in names.items()}
        return rec

    def exists(self, analysis_id: str) -> bool:
        """Whether an analysis with this id is stored (it may have been deleted, e.g. in another tab)."""
        with self.db.connect() as con:
            return con.execute("SELECT 1 FROM analyses WHERE id=?", (analysis_id,)).fetchone() is not None

    def uses_video(self, video_path: str | Path) -> bool:
        """True when a stored analysis refers to this video file (it must not be deleted as a rejected upload)."""
        with self.db.connect() as con:
            row = con.execute("SELECT 1 FROM analyses WHERE video_path=? LIMIT 1", (str(video_path),)).fetchone()
        return row is not None

    def delete(self, analysis_id: str) -> None:
        """Remove an analysis's rows and its files. Raises NotFoundError when it does not exist."""
        with self.db.connect() as con:
            cur = con.execute("DELETE FROM analyses WHERE id=?", (analysis_id,))
            if cur.rowcount == 0:
                raise NotFoundError(f"No analysis '{analysis_id}'.")
        shutil.rmtree(self.analyses_dir / analysis_id, ignore_errors=True)

    def delete_by(self, analysis_id: str, actor: Identity) -> None:
        """``delete`` on behalf of ``actor``: only the analysis's owner or an admin may.

        Raises NotFoundError, or PermissionDeniedError (nothing removed). Owner check and delete are one
        transaction, so the row cannot change hands in between.
        """
        with self.db.connect() as con:
            row = con.execute("SELECT owner FROM analyses WHERE id=?", (analysis_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"No analysis '{analysis_id}'.")
            actor.require_manage(row["owner"], "delete this analysis")
            con.execute("DELETE FROM analyses WHERE id=?", (analysis_id,))
        shutil.rmtree(self.analyses_dir / analysis_id, ignore_errors=True)

    def sweep(self) -> int:
        """Remove folders left by interrupted saves. Returns how many were removed."""
        if not self.analyses_dir.is_dir():
            return 0
        with self.db.connect() as con:
            ids = {r[0] for r in con.execute("SELECT id FROM analyses")}
        removed = 0
        for d in self.analyses_dir.iterdir():
            if d.is_dir() and d.name not in ids:
                shutil.rmtree(d, ignore_errors=True)
                removed += 1
        return removed

    # --- read ----------------------------------------------------------------------------------------
    def find(self, video_hash: str, model: str, model_version: str, scoring: ScoringConfig) -> str | None:
        """Id of the newest stored analysis with the same video, model version and scoring settings."""
        with self.db.connect() as con:
            row = con.execute(
                "SELECT id FROM analyses WHERE video_hash=? AND model=? AND model_version=? AND scoring_key=? "
                "ORDER BY created_at DESC LIMIT 1",
                (video_hash, model, model_version, scoring.key()),
            ).fetchone()
        return row[0] if row else None

    def videos(self) -> list[tuple[str, str, str]]:
        """(video path, video sha256, source name) once per analysed video path, from its newest analysis."""
        with self.db.connect() as con:
            rows = con.execute(
                "SELECT video_path, video_hash, source_name, MAX(created_at) FROM analyses GROUP BY video_path"
            ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def stored_versions(self, model: str, scoring: ScoringConfig) -> set[tuple[str, str]]:
        """(video hash, model version) of the videos already analysed with this model and scoring settings."""
        with self.db.connect() as con:
            rows = con.execute(
                "SELECT DISTINCT video_hash, model_version FROM analyses WHERE model=? AND scoring_key=?",
                (model, scoring.key()),
            )
            return {(r[0], r[1]) for r in rows}

    def top_segments(self, analysis_ids: Iterable[str], limit: int = 50) -> list[RankedSegment]:
        """The most anomalous segments across several analyses, highest peak first, each with the
        stored thumbnail nearest its peak (None when there is none)."""
        ids = list(dict.fromkeys(analysis_ids))
        if not ids:
            return []
        self.upgrade_peaks()
        marks = ",".join("?" * len(ids))
        with self.db.connect() as con:
            segs = con.execute(
                f'SELECT s.analysis_id, s.idx, s.start, s."end", s.peak, s.peak_t, s.cause, '
                f"a.source_name, a.video_path "
                f"FROM segments s JOIN analyses a ON a.id = s.analysis_id WHERE s.analysis_id IN ({marks}) "
                f"ORDER BY s.peak DESC, s.analysis_id, s.idx LIMIT ?",
                (*ids, limit),
            ).fetchall()
            wanted = sorted({r["analysis_id"] for r in segs})
            thumbs: dict[str, list[tuple[float, str]]] = {}
            if wanted:
                rows = con.execute(
                    f"SELECT analysis_id, t, path FROM thumbnails WHERE analysis_id IN ({','.join('?' * len(wanted))})",
                    wanted,
                )
                for r in rows:
                    thumbs.setdefault(r["analysis_id"], []).append((r["t"], r["path"]))
        out = []
        for r in segs:
            near = min(thumbs.get(r["analysis_id"], []), key=lambda tp: abs(tp[0] - r["peak_t"]), default=None)
            out.append(
                RankedSegment(
                    analysis_id=r["analysis_id"],
                    source_name=r["source_name"],
                    video_path=r["video_path"],
                    segment=Segment(r["start"], r["end"], r["peak"], r["peak_t"], r["cause"]),
                    thumbnail=self.analyses_dir / r["analysis_id"] / near[1] if near else None,
                    cause=r["cause"],
                )
            )
        return out

    def list(self, search: str = "", limit: int = 1000) -> list[dict]:
        """Summary rows, newest first: id, created_at, source_name, duration, model, peak, n_segments, owner,
        scoring_fps (the rate it was scored at: the same video at 5 and 10 fps can disagree)..."""
        q = (
            "SELECT id, created_at, source_name, source_uri, duration, model, model_version, peak, peak_t, "
            "n_segments, frac_anomalous, owner, json_extract(scoring_json, '$.fps') AS scoring_fps FROM analyses"
        )
        self.upgrade_peaks()
        args: tuple = ()
        if search:
            q += " WHERE source_name LIKE ? OR model LIKE ? OR source_uri LIKE ?"
            args = (f"%{search}%",) * 3
        q += " ORDER BY created_at DESC LIMIT ?"
        with self.db.connect() as con:
            return [dict(r) for r in con.execute(q, (*args, limit))]

    def upgrade_peaks(self) -> int:
        """Re-place the peaks of analyses stored under an older ``PEAK_RULE``. Returns how many were updated."""
        with self.db.connect() as con:
            old = [r[0] for r in con.execute("SELECT id FROM analyses WHERE peak_rule < ?", (PEAK_RULE,))]
        for analysis_id in old:
            try:
                self.load(analysis_id)  # re-places and writes back
            except NotFoundError:  # deleted meanwhile
                continue
            except StorageError:
                raise
            except Exception:  # noqa: BLE001 - a row that cannot be read keeps its peaks; the list must still show it
                log.warning("analysis %s: its peaks could not be re-placed", analysis_id, exc_info=True)
                with self.db.connect() as con:  # not tried again at every listing
                    con.execute("UPDATE analyses SET peak_rule=? WHERE id=?", (PEAK_RULE, analysis_id))
        return len(old)

    def _replace_peaks(self, rec: AnalysisRecord) -> AnalysisRecord:
        """``rec`` with its segments' peaks placed by today's rule (from its stored scores), written back. A segment
        keeps its start, end and cause; only where it peaks (and the video's peak time) can move."""
        fresh = {(round(g.start, 6), round(g.end, 6)): g for g in rec.resegment(rec.events).segments}
        segments = []
        for g in rec.segments:
            now = fresh.get((round(g.start, 6), round(g.end, 6)))
            segments.append(replace(g, peak=now.peak, peak_t=now.peak_t) if now is not None else g)
        peak, peak_t = rec.peak
        with self.db.connect() as con:
            con.execute(
                "UPDATE analyses SET peak=?, peak_t=?, peak_rule=? WHERE id=?", (peak, peak_t, PEAK_RULE, rec.id)
            )
            con.executemany(
                "UPDATE segments SET peak=?, peak_t=? WHERE analysis_id=? AND idx=?",
                [(g.peak, g.peak_t, rec.id, i) for i, g in enumerate(segments)],
            )
        return replace(rec, segments=segments)

    def load(self, analysis_id: str) -> AnalysisRecord:
        with self.db.connect() as con:
            row = con.execute("SELECT * FROM analyses WHERE id=?", (analysis_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"No analysis '{analysis_id}' (it may have been deleted).")
            rows = con.execute(
                "SELECT frame, t, score, smoothed, cause FROM frame_scores WHERE analysis_id=? ORDER BY frame",
                (analysis_id,),
            ).fetchall()
            frames = np.array([tuple(r)[:4] for r in rows], dtype=np.float64).reshape(-1, 4)
            causes = [r["cause"] for r in rows]
            segs = con.execute(
                'SELECT start, "end", peak, peak_t, cause FROM segments WHERE analysis_id=? ORDER BY idx',
                (analysis_id,),
            ).fetchall()
            thumbs = con.execute(
                "SELECT frame, t, score, rank, path FROM thumbnails WHERE analysis_id=? ORDER BY frame",
                (analysis_id,),
            ).fetchall()
        files_dir = self.analyses_dir / analysis_id
        # an analysis whose model gave no causes keeps an empty list (not N empty strings)
        track = ScoreTrack(frames[:, 0], frames[:, 1], frames[:, 2], frames[:, 3], causes if any(causes) else [])
        moments = sorted((r for r in thumbs if r["rank"] is not None), key=lambda r: r["rank"])
        rec = AnalysisRecord(
            id=row["id"],
            created_at=row["created_at"],
            source_name=row["source_name"],
            source_uri=row["source_uri"],
            video_path=row["video_path"],
            video_hash=row["video_hash"],
            meta=VideoMeta(**json.loads(row["meta_json"])),
            model=row["model"],
            model_version=row["model_version"],
            scoring=ScoringConfig.model_validate_json(row["scoring_json"]),
            events=EventConfig.model_validate_json(row["events_json"]),
            track=track,
            segments=[Segment(*tuple(s)) for s in segs],
            moments=[Moment(r["t"], r["frame"], r["score"]) for r in moments],
            thumbnails={r["frame"]: files_dir / r["path"] for r in thumbs},
            files_dir=files_dir,
            warnings=json.loads(row["warnings_json"]),
            owner=row["owner"],
            cues=_load_cues(files_dir / CUES_FILE, len(track)),
        )
        return self._replace_peaks(rec) if row["peak_rule"] < PEAK_RULE else rec
