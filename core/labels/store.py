"""Label persistence: the queue, who labelled what and when, model suggestions, CSV in and out.

Tables (registered with ``core.db``):
- ``label_videos``: every video the analyst may label (absolute path, sha256 once known, where it came
  from: ``history`` = the analyses store, ``folder`` = a server-side folder, plus a group for grouped CV);
- ``labels``: append-only history; a video's current label is its newest row, so a change keeps the old one;
- ``label_suggestions``: a model's video-level score per (video, model, version). A suggestion is never a
  label: it only becomes one, recorded with the model and its score, when a person confirms it.

The CSV format is the trainer's (``core.dataset``): ``video,label[,category][,group]``, video relative to a
chosen folder. Import validates every row before it writes anything. This module knows no engine and no
trainer; stored analyses are read through ``core.store.Store``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.dataset import CATEGORIES, parse_labels, videos_in
from core.db import Database, register_schema
from core.errors import DataError, NotFoundError
from core.labels.roots import check_folder, inside, policy
from core.store import Store

register_schema(
    "labels",
    """
CREATE TABLE IF NOT EXISTS label_videos (
    path TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    sha256 TEXT,
    source TEXT NOT NULL CHECK (source IN ('history', 'folder')),
    grp TEXT,
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS labels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    video_path TEXT NOT NULL REFERENCES label_videos (path) ON DELETE CASCADE,
    label INTEGER NOT NULL CHECK (label IN (0, 1)),
    category TEXT,
    note TEXT NOT NULL DEFAULT '',
    who TEXT NOT NULL,
    at TEXT NOT NULL,
    origin TEXT NOT NULL,
    suggested_label INTEGER,
    suggested_by TEXT,
    suggested_version TEXT,
    suggested_confidence REAL
);
CREATE INDEX IF NOT EXISTS labels_by_video ON labels (video_path, id);
CREATE TABLE IF NOT EXISTS label_suggestions (
    video_path TEXT NOT NULL REFERENCES label_videos (path) ON DELETE CASCADE,
    model TEXT NOT NULL,
    model_version TEXT NOT NULL,
    score REAL NOT NULL,
    analysis_id TEXT,
    at TEXT NOT NULL,
    PRIMARY KEY (video_path, model, model_version)
);
""",
)


# --- value objects -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Suggestion:
    """A model's opinion of one video. score: video-level 0..1 (max smoothed frame score)."""

    model: str
    model_version: str
    score: float
    analysis_id: str | None = None

    LINE = 0.5  # the score line: at or above it the model calls a moment unusual (not a 50 % probability)

    @property
    def label(self) -> int:
        return int(self.score >= self.LINE)

    @property
    def above_line(self) -> bool:
        return self.score >= self.LINE

    @property
    def version_short(self) -> str:
        """'v3' for '3:objects+fight.fight-movinet.3@ad7e5720' (the part before the first ':'); '' if none."""
        head = self.model_version.split(":", 1)[0].strip()
        return f"v{head}" if head else ""

    @property
    def uncertainty(self) -> float:
        """|score - 0.5|: 0 is a coin toss (label these first), 0.5 is sure."""
        return abs(self.score - 0.5)


@dataclass(frozen=True)
class Label:
    """One row of a video's label history. at: ISO-8601 UTC; origin: 'page' or 'import'."""

    video: Path
    label: int
    category: str | None
    note: str
    who: str
    at: str
    origin: str
    suggested_label: int | None = None
    suggested_by: str | None = None
    suggested_version: str | None = None
    suggested_confidence: float | None = None

    @property
    def word(self) -> str:
        return "abnormal" if self.label == 1 else "normal"

    @property
    def suggested_score(self) -> float | None:
        """The model's video score (0..1) when it made its suggestion, from the stored max(score, 1 - score)."""
        if self.suggested_label is None or self.suggested_confidence is None:
            return None
        return self.suggested_confidence if self.suggested_label == 1 else 1.0 - self.suggested_confidence

    @property
    def agreed_with_suggestion(self) -> bool | None:
        return None if self.suggested_label is None else self.suggested_label == self.label


@dataclass(frozen=True)
class QueueItem:
    """A video in the labelling queue with its current label and the selected model's suggestion."""

    path: Path
    name: str
    source: str
    sha256: str | None
    group: str | None
    label: Label | None
    suggestion: Suggestion | None


@dataclass(frozen=True)
class LabelProgress:
    total: int
    labelled: int
    abnormal: int
    normal: int

    @property
    def fraction(self) -> float:
        return self.labelled / self.total if self.total else 0.0


@dataclass(frozen=True)
class ImportResult:
    rows: int
    changed: int  # rows whose label differed from the current one (a new history row)
    added_videos: int


def _now(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).isoformat(timespec="seconds")


# --- the store ----------------------------------------------------------------------------------------
class LabelStore:
    """Labels in the shared SQLite file. Every method is one short transaction (safe across sessions)."""

    def __init__(self, db: Database | None = None):
        self.db = db or Database()

    # videos ------------------------------------------------------------------------------------------
    def add_videos(
        self,
        paths: Iterable[Path],
        source: str,
        groups: dict[Path, str | None] | None = None,
        now: datetime | None = None,
    ) -> int:
        """Add videos to the queue (already known ones are kept as they are). Returns how many are new."""
        if source not in ("history", "folder"):
            raise ValueError(f"unknown video source {source!r}")
        at = _now(now)
        groups = groups or {}
        with self.db.connect() as con:
            return self._add_videos(con, paths, source, groups, at)

    @staticmethod
    def _add_videos(con, paths, source, groups, at, hashes=None, names: dict[Path, str] | None = None) -> int:
        added = 0
        for p in paths:
            p = Path(p).resolve()
            cur = con.execute(
                "INSERT OR IGNORE INTO label_videos (path, name, sha256, source, grp, added_at) VALUES (?,?,?,?,?,?)",
                (str(p), (names or {}).get(p) or p.name, (hashes or {}).get(p), source, groups.get(p), at),
            )
            added += cur.rowcount
            if groups.get(p) is not None:  # a CSV's group is newer information than none
                con.execute("UPDATE label_videos SET grp=? WHERE path=?", (groups[p], str(p)))
        return added

    def add_folder(self, folder: str | Path, roots: Iterable[Path] | None = None) -> tuple[Path, int, int]:
        """Queue every video under an allowed folder. Returns (resolved folder, videos found, newly added)."""
        allowed = policy(roots)
        path = allowed.check(folder, "folder")
        # A symlinked file (or frame folder) inside the folder may point anywhere: keep what resolves inside.
        videos = [v for v in videos_in(path, recursive=True) if allowed.contains(v)]
        if not videos:
            raise DataError(f"No videos (or numbered-image folders) under {path}.")
        return path, len(videos), self.add_videos(videos, "folder")

    def add_history(self, store: Store | None = None) -> tuple[int, int]:
        """Queue the videos of stored analyses whose files still exist. Returns (found, newly added)."""
        store = store or Store(self.db)
        rows = [(Path(p).resolve(), h, n) for p, h, n in store.videos() if Path(p).exists()]
        hashes = {p: h for p, h, _ in rows}
        # uploads are kept as <sha256>.mp4: the name the user gave (source_name) reads better
        names = {p: n for p, _, n in rows}
        with self.db.connect() as con:
            added = self._add_videos(con, list(hashes), "history", {}, _now(None), hashes, names)
        return len(hashes), added

    def set_hash(self, path: Path, sha256: str) -> None:
        with self.db.connect() as con:
            con.execute("UPDATE label_videos SET sha256=? WHERE path=?", (sha256, str(Path(path).resolve())))

    def remove_video(self, path: Path) -> None:
        with self.db.connect() as con:
            if con.execute("DELETE FROM label_videos WHERE path=?", (str(Path(path).resolve()),)).rowcount == 0:
                raise NotFoundError(f"'{path}' is not in the labelling queue.")

    # labels ------------------------------------------------------------------------------------------
    def set_label(
        self,
        path: Path,
        label: int,
        who: str,
        category: str | None = None,
        note: str = "",
        suggestion: Suggestion | None = None,
        origin: str = "page",
        now: datetime | None = None,
    ) -> Label:
        """Record a person's label (a new history row; older ones are kept). ``suggestion``: what the
        model proposed when the person decided, kept beside the label."""
        if label not in (0, 1):
            raise DataError(f"A label is 0 (normal) or 1 (abnormal), not {label!r}.")
        category = (category or "").strip().lower() or None
        if category is not None and category not in CATEGORIES:
            raise DataError(f"Unknown category '{category}'; use one of {', '.join(CATEGORIES)}.")
        who = who.strip() or "anonymous"
        rec = Label(
            video=Path(path).resolve(),
            label=label,
            category=category,
            note=note.strip(),
            who=who,
            at=_now(now),
            origin=origin,
            suggested_label=suggestion.label if suggestion else None,
            suggested_by=suggestion.model if suggestion else None,
            suggested_version=suggestion.model_version if suggestion else None,
            # the column keeps its old name and meaning, max(score, 1 - score), so older rows read the same
            suggested_confidence=max(suggestion.score, 1.0 - suggestion.score) if suggestion else None,
        )
        with self.db.connect() as con:
            if con.execute("SELECT 1 FROM label_videos WHERE path=?", (str(rec.video),)).fetchone() is None:
                raise NotFoundError(f"'{rec.video.name}' is not in the labelling queue; add its folder first.")
            self._insert_label(con, rec)
        return rec

    @staticmethod
    def _insert_label(con, rec: Label) -> None:
        con.execute(
            "INSERT INTO labels (video_path, label, category, note, who, at, origin, suggested_label, suggested_by, "
            "suggested_version, suggested_confidence) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                str(rec.video),
                rec.label,
                rec.category,
                rec.note,
                rec.who,
                rec.at,
                rec.origin,
                rec.suggested_label,
                rec.suggested_by,
                rec.suggested_version,
                rec.suggested_confidence,
            ),
        )

    def history(self, path: Path) -> list[Label]:
        """Every label this video was given, newest first."""
        with self.db.connect() as con:
            rows = con.execute(
                "SELECT * FROM labels WHERE video_path=? ORDER BY id DESC", (str(Path(path).resolve()),)
            ).fetchall()
        return [_label_from_row(r) for r in rows]

    def current(self, path: Path) -> Label | None:
        h = self.history(path)
        return h[0] if h else None

    def _current_all(self, con) -> dict[str, Label]:
        rows = con.execute(
            "SELECT l.* FROM labels l JOIN (SELECT video_path, MAX(id) AS id FROM labels GROUP BY video_path) m "
            "ON l.id = m.id"
        ).fetchall()
        return {r["video_path"]: _label_from_row(r) for r in rows}

    # suggestions -------------------------------------------------------------------------------------
    def record_suggestion(self, path: Path, suggestion: Suggestion, now: datetime | None = None) -> None:
        with self.db.connect() as con:
            con.execute(
                "INSERT OR REPLACE INTO label_suggestions VALUES (?,?,?,?,?,?)",
                (
                    str(Path(path).resolve()),
                    suggestion.model,
                    suggestion.model_version,
                    float(suggestion.score),
                    suggestion.analysis_id,
                    _now(now),
                ),
            )

    def suggestion(self, path: Path, model: str, model_version: str) -> Suggestion | None:
        with self.db.connect() as con:
            r = con.execute(
                "SELECT * FROM label_suggestions WHERE video_path=? AND model=? AND model_version=?",
                (str(Path(path).resolve()), model, model_version),
            ).fetchone()
        return Suggestion(r["model"], r["model_version"], r["score"], r["analysis_id"]) if r else None

    # queue and progress ------------------------------------------------------------------------------
    def items(self, model: str | None = None, model_version: str | None = None) -> list[QueueItem]:
        """Every queued video, in the order added, with its current label and ``model``'s suggestion."""
        with self.db.connect() as con:
            videos = con.execute("SELECT * FROM label_videos ORDER BY added_at, path").fetchall()
            current = self._current_all(con)
            sugg = {}
            if model is not None:
                for r in con.execute(
                    "SELECT * FROM label_suggestions WHERE model=? AND model_version=?", (model, model_version or "")
                ):
                    sugg[r["video_path"]] = Suggestion(r["model"], r["model_version"], r["score"], r["analysis_id"])
        return [
            QueueItem(
                path=Path(v["path"]),
                name=v["name"],
                source=v["source"],
                sha256=v["sha256"],
                group=v["grp"],
                label=current.get(v["path"]),
                suggestion=sugg.get(v["path"]),
            )
            for v in videos
        ]

    def queue(
        self,
        model: str | None = None,
        model_version: str | None = None,
        order: str = "uncertainty",
        unlabelled_only: bool = False,
    ) -> list[QueueItem]:
        """Videos to label. ``order``: 'uncertainty' (unlabelled first, then the model's least sure
        first, |score - 0.5| ascending; unscored after scored) or 'added'."""
        items = self.items(model, model_version)
        if unlabelled_only:
            items = [i for i in items if i.label is None]
        if order == "uncertainty":
            return sorted(items, key=uncertainty_key)
        if order != "added":
            raise ValueError(f"unknown queue order {order!r}")
        return items

    def progress(self) -> LabelProgress:
        with self.db.connect() as con:
            total = con.execute("SELECT COUNT(*) FROM label_videos").fetchone()[0]
            current = self._current_all(con)
        abnormal = sum(1 for lab in current.values() if lab.label == 1)
        return LabelProgress(total, len(current), abnormal, len(current) - abnormal)

    def labelled(self) -> list[QueueItem]:
        return [i for i in self.items() if i.label is not None]

    # CSV ---------------------------------------------------------------------------------------------
    def export_csv(self, root: Path | None = None) -> str:
        """Current labels as ``video,label,category,group``. Paths are relative to ``root`` when the video
        lies inside it, absolute otherwise (the trainer reads both)."""
        root = root.resolve() if root else None
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["video", "label", "category", "group"])
        for item in sorted(self.labelled(), key=lambda i: str(i.path)):
            video = item.path.relative_to(root) if root and inside(item.path, root) else item.path
            w.writerow([video.as_posix(), item.label.label, item.label.category or "", item.group or ""])
        return out.getvalue()

    def import_csv(
        self,
        text: str,
        folder: str | Path,
        who: str,
        roots: Iterable[Path] | None = None,
        source_name: str = "CSV",
        now: datetime | None = None,
    ) -> ImportResult:
        """Validate the whole file, then write it in one transaction: all rows or nothing.

        Videos are queued (source 'folder'); a row whose label and category equal the current ones adds
        no history row, so importing the same file twice changes nothing.
        """
        base = check_folder(folder, roots)
        try:
            rows = parse_labels(text, base, source_name)
        except DataError as err:
            raise DataError(f"{err} It was not imported; nothing changed.") from None
        at = _now(now)
        changed = 0
        with self.db.connect() as con:
            added = self._add_videos(con, [r.path for r in rows], "folder", {r.path: r.group for r in rows}, at)
            current = self._current_all(con)
            for r in rows:
                cur = current.get(str(r.path))
                if cur is not None and cur.label == r.label and cur.category == r.category:
                    continue
                self._insert_label(con, Label(r.path, r.label, r.category, "", who.strip() or "import", at, "import"))
                changed += 1
        return ImportResult(rows=len(rows), changed=changed, added_videos=added)


def _label_from_row(r) -> Label:
    return Label(
        video=Path(r["video_path"]),
        label=r["label"],
        category=r["category"],
        note=r["note"],
        who=r["who"],
        at=r["at"],
        origin=r["origin"],
        suggested_label=r["suggested_label"],
        suggested_by=r["suggested_by"],
        suggested_version=r["suggested_version"],
        suggested_confidence=r["suggested_confidence"],
    )


def uncertainty_key(item: QueueItem) -> tuple:
    """Sort key: unlabelled before labelled, scored before unscored, least certain first, then by name."""
    s = item.suggestion
    return (item.label is not None, s is None, s.uncertainty if s else 0.0, item.name, str(item.path))
