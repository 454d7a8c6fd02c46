"""Video-level labels for weak supervision: the queue, who labelled what and when, CSV in and out.

Tables (registered with ``core.db``):
- ``label_videos``: every video the analyst may label (absolute path, sha256 once known, where it came
  from: ``history`` = the analyses store, ``folder`` = a server-side folder, plus a group for grouped CV);
- ``labels``: append-only history; a video's current label is its newest row, so a change keeps the old one;
- ``label_suggestions``: a model's video-level score per (video, model, version). A suggestion is never a
  label: it only becomes one, recorded with the model and its confidence, when a person confirms it.

The CSV format is the trainer's: ``video,label[,category][,group]``, label 1/abnormal or 0/normal, video
relative to a chosen folder. Import validates every row before it writes anything.

Folders typed by a user are checked against the allowed data roots (``$VIGIL_LABEL_ROOTS``,
``os.pathsep``-separated; default the data folder and ``../shared/data`` beside the project).
"""

from __future__ import annotations

import csv
import io
import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.config import ScoringConfig, data_dir
from core.db import Database, register_schema
from core.errors import DataError, NotFoundError, VigilError
from core.sources import IMAGE_EXTS, VIDEO_EXTS
from core.store import Store  # also registers the analyses table that add_history reads

CATEGORIES = ("fight", "fall", "theft", "vandalism", "other")
LABEL_WORDS = {"1": 1, "abnormal": 1, "0": 0, "normal": 0}
MAX_FOLDER_VIDEOS = 5000  # a typo like "/" must not walk the whole disk
MAX_IMPORT_ERRORS = 5  # enough to fix a file in one go, short enough to read

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


class ForbiddenFolderError(DataError):
    """A folder outside the allowed data roots was named."""


# --- value objects -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Suggestion:
    """A model's opinion of one video. score: video-level 0..1 (max smoothed frame score)."""

    model: str
    model_version: str
    score: float
    analysis_id: str | None = None

    @property
    def label(self) -> int:
        return int(self.score >= 0.5)

    @property
    def confidence(self) -> float:
        """0.5..1: how far the score is from the undecided middle, as a probability of the suggested label."""
        return max(self.score, 1.0 - self.score)

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


@dataclass(frozen=True)
class CsvRow:
    path: Path
    label: int
    category: str | None
    group: str | None


# --- allowed roots and folders ------------------------------------------------------------------------
def allowed_roots() -> list[Path]:
    """Folders a user may point the Label page at (``$VIGIL_LABEL_ROOTS`` or data dir + ../shared/data)."""
    env = os.environ.get("VIGIL_LABEL_ROOTS")
    if env:
        roots = [Path(p).expanduser().resolve() for p in env.split(os.pathsep) if p.strip()]
    else:
        roots = [data_dir()]
        shared = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
        if shared.is_dir():
            roots.append(shared.resolve())  # candidates are resolved too: a symlinked root must still match
    return roots


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def check_folder(folder: str | Path, roots: Iterable[Path] | None = None) -> Path:
    """The resolved folder, or ForbiddenFolderError/DataError when it is outside the roots or missing."""
    text = str(folder).strip()
    if not text:
        raise DataError("Type a folder path.")
    # resolve() follows symlinks, so a link inside a root that points outside it is refused too
    path = Path(text).expanduser().resolve()
    roots = list(roots) if roots is not None else allowed_roots()
    if not any(_inside(path, r) for r in roots):
        listed = ", ".join(str(r) for r in roots) or "(none configured)"
        raise ForbiddenFolderError(
            f"'{text}' is outside the allowed data folders ({listed}). Set VIGIL_LABEL_ROOTS to allow more."
        )
    if not path.is_dir():
        raise DataError(f"Folder not found: {path}")
    return path


def _is_frame_folder(d: Path) -> bool:
    return sum(1 for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS) >= 2


def scan_folder(folder: Path, limit: int = MAX_FOLDER_VIDEOS) -> list[Path]:
    """Video files and numbered-image folders under ``folder`` (recursive), in natural order."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        d = Path(dirpath)
        dirnames.sort()
        if d != folder and _is_frame_folder(d):
            found.append(d)
            dirnames.clear()  # a frame folder is one video; its subfolders are not ours to guess
            continue
        found.extend(d / f for f in sorted(filenames) if Path(f).suffix.lower() in VIDEO_EXTS)
        if len(found) > limit:
            raise DataError(f"'{folder}' holds more than {limit} videos; choose a smaller folder.")
    if not found and _is_frame_folder(folder):
        found.append(folder)
    return found


# --- CSV ----------------------------------------------------------------------------------------------
def parse_labels_csv(text: str, folder: Path, source_name: str = "CSV") -> list[CsvRow]:
    """Validate a whole ``video,label[,category][,group]`` file against ``folder`` (resolved, existing).

    Raises DataError listing the first problems (missing column, unknown label or category, a path
    outside the folder, a missing file, a video listed twice). Nothing is returned half-checked.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames:
        raise DataError(f"{source_name} is empty; expected a header 'video,label[,category][,group]'.")
    columns = {(c or "").strip().lower(): c for c in reader.fieldnames}
    missing = [c for c in ("video", "label") if c not in columns]
    if missing:
        raise DataError(
            f"{source_name} has no '{missing[0]}' column (found: {', '.join(reader.fieldnames)}); "
            "expected 'video,label[,category][,group]'."
        )
    rows: list[CsvRow] = []
    errors: list[str] = []
    seen: dict[Path, int] = {}

    def cell(row: dict, name: str) -> str:
        key = columns.get(name)
        return (row.get(key) or "").strip() if key else ""

    for line, row in enumerate(reader, start=2):
        video, label_text = cell(row, "video"), cell(row, "label").lower()
        category, group = cell(row, "category").lower() or None, cell(row, "group") or None
        if not video:
            errors.append(f"row {line}: empty 'video'")
            continue
        if label_text not in LABEL_WORDS:
            errors.append(f"row {line}: unknown label '{cell(row, 'label')}' (use 1/abnormal or 0/normal)")
            continue
        if category is not None and category not in CATEGORIES:
            errors.append(f"row {line}: unknown category '{category}' (use {', '.join(CATEGORIES)})")
            continue
        path = Path(video).expanduser()
        path = (path if path.is_absolute() else folder / path).resolve()
        if not _inside(path, folder):
            errors.append(f"row {line}: '{video}' is outside the chosen folder {folder}")
            continue
        if not path.exists():
            errors.append(f"row {line}: '{video}' not found in {folder}")
            continue
        if path in seen:
            errors.append(f"row {line}: '{video}' is already listed on row {seen[path]}")
            continue
        seen[path] = line
        rows.append(CsvRow(path, LABEL_WORDS[label_text], category, group))
    if errors:
        more = f" (and {len(errors) - MAX_IMPORT_ERRORS} more)" if len(errors) > MAX_IMPORT_ERRORS else ""
        raise DataError(
            f"{source_name} was not imported, nothing changed: " + "; ".join(errors[:MAX_IMPORT_ERRORS]) + more + "."
        )
    if not rows:
        raise DataError(f"{source_name} has a header but no rows; nothing changed.")
    return rows


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
        path = check_folder(folder, roots)
        videos = scan_folder(path)
        if not videos:
            raise DataError(f"No videos (or numbered-image folders) under {path}.")
        return path, len(videos), self.add_videos(videos, "folder")

    def add_history(self) -> tuple[int, int]:
        """Queue the videos of stored analyses whose files still exist. Returns (found, newly added)."""
        # Read-only look at the analyses table: Store.list() has no video path, and loading every
        # record (all frame scores) just for its path would be slow on a long history.
        with self.db.connect() as con:
            rows = con.execute(
                "SELECT video_path, video_hash, source_name, MAX(created_at) FROM analyses GROUP BY video_path"
            ).fetchall()
            rows = [(Path(r[0]).resolve(), r[1], r[2]) for r in rows if Path(r[0]).exists()]
            hashes = {p: h for p, h, _ in rows}
            # uploads are kept as <sha256>.mp4: the name the user gave (source_name) reads better
            names = {p: n for p, _, n in rows}
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
            suggested_confidence=suggestion.confidence if suggestion else None,
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
            video = item.path.relative_to(root) if root and _inside(item.path, root) else item.path
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
        rows = parse_labels_csv(text, base, source_name)
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


# --- model scores for suggestions ---------------------------------------------------------------------
def video_score(record) -> float:
    """Video-level score of an ``AnalysisRecord``: the highest smoothed frame score (0..1)."""
    if len(record.track) == 0:
        return 0.0
    return float(record.track.smoothed.max())


def suggest(
    labels: LabelStore,
    path: Path,
    model: str,
    store: Store | None = None,
    scorer=None,
    scoring: ScoringConfig | None = None,
    progress=None,
    model_version: str | None = None,
):
    """Analyse a video with ``model`` (reusing a stored analysis), record the model's suggestion, and
    return ``(AnalysisRecord, Suggestion)``. Raises VigilError subclasses for unreadable videos.

    With ``model_version`` a suggestion already recorded for it is answered from its stored analysis
    directly, without hashing the video again (the page calls this on every rerun).
    """
    from core.engine import analyze

    store = store or Store(labels.db)
    if model_version is not None:
        known = labels.suggestion(path, model, model_version)
        if known is not None and known.analysis_id:
            try:
                return store.load(known.analysis_id), known
            except NotFoundError:
                pass  # deleted from History since: analyse again
    rec = analyze(path, model=model, store=store, scorer=scorer, scoring=scoring, progress=progress)
    sugg = Suggestion(rec.model, rec.model_version, video_score(rec), rec.id)
    labels.record_suggestion(path, sugg)
    labels.set_hash(path, rec.video_hash)
    return rec, sugg


def score_queue(
    labels: LabelStore,
    model: str,
    model_version: str,
    store=None,
    scorer=None,
    limit: int | None = None,
    progress: Callable[[float, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> tuple[int, list[str]]:
    """Give every unlabelled, unscored video a suggestion from ``model``. Returns (scored, problems):
    a video that cannot be read is reported, not fatal, so one bad file does not block the queue."""
    todo = [i for i in labels.items(model, model_version) if i.label is None and i.suggestion is None]
    todo = todo[:limit] if limit else todo
    done, problems = 0, []
    for n, item in enumerate(todo):
        if cancel is not None and cancel():
            break
        if progress:
            progress(n / max(1, len(todo)), f"Scoring {item.name} ({n + 1}/{len(todo)})")
        try:
            suggest(labels, item.path, model, store=store, scorer=scorer, model_version=model_version)
            done += 1
        except VigilError as err:
            problems.append(f"{item.name}: {err}")
    if progress:
        progress(1.0, f"Scored {done} video(s)")
    return done, problems


# --- model versions and training ----------------------------------------------------------------------
_VERSION = re.compile(r"^(?P<base>.+?)-v(?P<n>\d+)$")


def base_name(name: str) -> str:
    """'fights-v3' -> 'fights'; names without a version suffix are their own base."""
    m = _VERSION.match(name.strip())
    return m.group("base") if m else name.strip()


def next_version_name(base: str, existing: Iterable[str]) -> str:
    """'<base>-v<N>' with N one more than the highest existing version of that base (old ones stay)."""
    base = base_name(base)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", base):
        raise DataError(f"Model name '{base}' may contain only letters, digits, '.', '_' and '-'.")
    taken = [int(m.group("n")) for n in existing if (m := _VERSION.match(n)) and m.group("base") == base]
    return f"{base}-v{max(taken, default=0) + 1}"


KIND_DESCRIPTIONS = {
    "movinet-mil": "MIL ranking head on MoViNet clip embeddings (abnormal + normal videos)",
    "movinet-logistic": "logistic head on MoViNet clip embeddings (abnormal + normal videos)",
    "movinet-knn": "normality model: kNN on MoViNet embeddings of the videos labelled normal",
    "pose-lstm-ae": "normality model: pose LSTM autoencoder on the videos labelled normal",
}


def training_kinds() -> dict[str, str]:
    """Kinds the trainer can fit from video-level labels -> one-line description, MIL first."""
    import core.train as train

    kinds = list(getattr(train, "LABEL_KINDS", ())) or ["movinet-mil"]
    kinds = sorted(kinds, key=lambda k: k != "movinet-mil")  # the MIL head first; sorted() is stable
    return {k: KIND_DESCRIPTIONS.get(k, "") for k in kinds}


def training_items(labels: LabelStore, paths: Iterable[Path] | None = None) -> list:
    """Current labels as the trainer's ``LabelledVideo`` list (optionally only ``paths``)."""
    from core.train import LabelledVideo

    wanted = {Path(p).resolve() for p in paths} if paths is not None else None
    return [
        LabelledVideo(path=i.path, label=i.label.label, category=i.label.category, group=i.group)
        for i in labels.labelled()
        if wanted is None or i.path in wanted
    ]


class TrainingJob:
    """Runs ``core.train.train_from_labels`` in a worker thread; the page polls ``snapshot()``.

    The worker never touches Streamlit; it only writes its own fields under a lock.
    """

    def __init__(self, kind: str, items: list, name: str, description: str = "", **train_kwargs):
        self.kind, self.items, self.name, self.description = kind, items, name, description
        self.train_kwargs = train_kwargs
        self._lock = threading.Lock()
        self.fraction, self.message = 0.0, "Starting…"
        self.report = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"train-{name}", daemon=True)

    def start(self) -> TrainingJob:
        self._thread.start()
        return self

    def _progress(self, fraction: float, message: str = "") -> None:
        with self._lock:
            self.fraction, self.message = max(0.0, min(1.0, float(fraction))), message

    def _run(self) -> None:
        from core.train import train_from_labels

        try:
            report = train_from_labels(
                self.kind, self.items, self.name, self.description, progress=self._progress, **self.train_kwargs
            )
            with self._lock:
                self.report, self.fraction, self.message = report, 1.0, "Done"
        except VigilError as err:
            with self._lock:
                self.error = str(err)
        except Exception as err:  # a bug must reach the page as a message, not kill it silently
            with self._lock:
                self.error = f"Training failed unexpectedly: {type(err).__name__}: {err}"

    @property
    def done(self) -> bool:
        return not self._thread.is_alive() and (self.report is not None or self.error is not None)

    def wait(self, timeout: float | None = None) -> TrainingJob:
        self._thread.join(timeout)
        return self

    def snapshot(self) -> tuple[float, str, object, str | None]:
        """(fraction 0..1, message, TrainReport or None, error or None), read consistently."""
        with self._lock:
            return self.fraction, self.message, self.report, self.error
