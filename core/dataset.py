"""The one reader of labelled video data: what counts as a video, the labels CSV, class subfolders, and
source groups. Training, evaluation, the Label page and the CLI all read data through here.

- A *video* is a file with a video extension (``core.sources.VIDEO_EXTS``) or a *frame folder*: a folder
  holding at least two images (``IMAGE_EXTS``; one image is a still, not a video).
- The labels CSV is ``video,label[,category][,group]``: label ``1``/``abnormal`` or ``0``/``normal``,
  category one of ``CATEGORIES`` (or empty), group a source id that keeps near-duplicates in one fold.
  Every row is checked and all problems are reported together; nothing is returned half-checked.
- Class subfolders: ``normal/``, ``noFight/``, ``nonviolence/``... hold normal videos, any other folder
  abnormal ones.
- Source groups: a ``videos.txt`` of source URLs, each followed by the clips cut from it.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

from core.errors import DataError
from core.sources import IMAGE_EXTS, VIDEO_EXTS, VideoSource, open_source

CATEGORIES = ("fight", "fall", "theft", "vandalism", "other")
LABEL_WORDS = {"1": 1, "abnormal": 1, "0": 0, "normal": 0}
NORMAL_FOLDERS = {"0", "normal", "nofight", "nonfight", "nonviolence", "negative"}
CSV_HEADER = "video,label[,category][,group]"
MAX_REPORTED_ERRORS = 5  # enough to fix a file in one go, short enough to read
MAX_FOLDER_VIDEOS = 5000  # a typo like "/" must not walk the whole disk
UNLISTED_GROUP = "unlisted"


@dataclass
class LabelledVideo:
    """One labelled video: ``label`` 1 = abnormal, 0 = normal; ``category`` one of ``CATEGORIES`` or None;
    ``group`` keeps near-duplicates (clips cut from one source) in one cross-validation fold."""

    path: Path
    label: int
    category: str | None = None
    group: str | None = None


# --- what a video is ------------------------------------------------------------------------------------
def is_video_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in VIDEO_EXTS


def is_frame_folder(path: Path) -> bool:
    """A folder of numbered images that plays as one video (at least two images)."""
    if not path.is_dir():
        return False
    return sum(1 for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS) >= 2


def videos_in(folder: str | Path, recursive: bool = False, limit: int = MAX_FOLDER_VIDEOS) -> list[Path]:
    """Videos and frame folders in ``folder`` (its direct entries, or every level when ``recursive``), in
    name order; ``folder`` itself when it is a frame folder holding nothing else. Raises DataError when the
    folder is missing or holds more than ``limit`` videos."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"Folder not found: {folder}")
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        d = Path(dirpath)
        dirnames.sort()
        if d != folder and is_frame_folder(d):
            found.append(d)
            dirnames.clear()  # a frame folder is one video; its subfolders are not ours to guess
            continue
        found.extend(p for p in (d / f for f in sorted(filenames)) if is_video_file(p))
        if len(found) > limit:
            raise DataError(f"'{folder}' holds more than {limit} videos; choose a smaller folder.")
        if not recursive:
            found.extend(d / sub for sub in dirnames if is_frame_folder(d / sub))
            break
    if not found and is_frame_folder(folder):
        found.append(folder)
    return sorted(found) if not recursive else found


def open_videos(folder: str | Path) -> list[VideoSource]:
    """The videos directly in ``folder``, opened and named by their file or folder name."""
    out = [open_source(p, name=p.name) for p in videos_in(folder) if p != Path(folder)]
    if not out:
        raise DataError(f"No videos or frame folders in {folder}")
    return out


# --- the labels CSV -------------------------------------------------------------------------------------
def parse_labels(text: str, folder: Path, source_name: str = "CSV", confine: bool = True) -> list[LabelledVideo]:
    """Check a whole ``video,label[,category][,group]`` text against ``folder`` (resolved, existing).

    Relative video paths are taken from ``folder``; with ``confine`` every video must lie inside it.
    Raises DataError listing the problems (missing column, unknown label or category, a path outside the
    folder, a missing file, a video listed twice), or when there is no row.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        fieldnames = reader.fieldnames
    except csv.Error as err:
        raise DataError(f"{source_name}: not a valid CSV ({err}).") from None
    if not fieldnames:
        raise DataError(f"{source_name} is empty; expected a header '{CSV_HEADER}'.")
    columns = {(c or "").strip().lower(): c for c in fieldnames}
    missing = [c for c in ("video", "label") if c not in columns]
    if missing:
        raise DataError(
            f"{source_name} has no '{missing[0]}' column (found: {', '.join(fieldnames)}); expected '{CSV_HEADER}'."
        )

    def cell(row: dict, name: str) -> str:
        key = columns.get(name)
        value = row.get(key) if key else None
        return value.strip() if isinstance(value, str) else ""

    items: list[LabelledVideo] = []
    errors: list[str] = []
    seen: dict[Path, int] = {}
    try:
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
            if confine and not path.is_relative_to(folder):
                errors.append(f"row {line}: '{video}' is outside the chosen folder {folder}")
                continue
            if not path.exists():
                errors.append(f"row {line}: '{video}' not found in {folder}")
                continue
            if path in seen:
                errors.append(f"row {line}: '{video}' is already listed on row {seen[path]}")
                continue
            seen[path] = line
            items.append(LabelledVideo(path, LABEL_WORDS[label_text], category, group))
    except csv.Error as err:
        errors.append(f"not a valid CSV ({err})")
    if errors:
        more = f" (and {len(errors) - MAX_REPORTED_ERRORS} more)" if len(errors) > MAX_REPORTED_ERRORS else ""
        raise DataError(f"{source_name}: " + "; ".join(errors[:MAX_REPORTED_ERRORS]) + more + ".")
    if not items:
        raise DataError(f"{source_name} has a header but no rows.")
    return items


def read_labels_csv(path: str | Path, root: str | Path | None = None) -> list[LabelledVideo]:
    """Read a labels CSV file. Relative video paths are taken from ``root`` (default: the CSV's folder);
    with ``root`` given, every video must lie inside it. Raises DataError naming every bad row."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Labels file not found: {path}")
    base = Path(root).resolve() if root is not None else path.resolve().parent
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path.name} is not a UTF-8 text CSV.") from None
    return parse_labels(text, base, path.name, confine=root is not None)


# --- class subfolders and source groups -----------------------------------------------------------------
def labelled_from_folders(directory: str | Path) -> list[LabelledVideo]:
    """Class subfolders: a folder named like normal/noFight/nonviolence -> 0, any other folder -> 1.

    The category is the folder's name when it is one of ``CATEGORIES`` (else "other" for abnormal folders)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"Folder not found: {directory}")
    items = []
    for sub in sorted(p for p in directory.iterdir() if p.is_dir()):
        key = sub.name.lower().replace("_", "").replace("-", "")
        label = 0 if key in NORMAL_FOLDERS else 1
        category = None if label == 0 else (key if key in CATEGORIES else "other")
        items.extend(LabelledVideo(p.resolve(), label, category) for p in videos_in(sub) if p != sub)
    if not items:
        raise DataError(f"No class subfolders with videos in {directory}.")
    return items


def read_source_groups(path: str | Path) -> dict[str, str]:
    """Clip name (stem) -> source group from a list of source URLs, each followed by the clips cut from it
    (``fi001: 0.13.50 - 0.15.60``), as in the fights dataset's videos.txt. A clip listed under two sources
    joins them into one group, so that no near-duplicate crosses a fold boundary."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Groups file not found: {path}")
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    clip_source: dict[str, str] = {}
    source = None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line:
            continue
        if "://" in line and not line.split("://")[0].count(" "):
            source = line
            find(source)
        elif ":" in line and source is not None:
            clip = line.split(":", 1)[0].strip()
            if clip in clip_source:
                parent[find(source)] = find(clip_source[clip])
            else:
                clip_source[clip] = source
    if not clip_source:
        raise DataError(f"{path.name} lists no clips under source lines.")
    roots = sorted({find(s) for s in clip_source.values()})
    gid = {r: f"g{i:03d}" for i, r in enumerate(roots)}
    return {clip: gid[find(src)] for clip, src in clip_source.items()}


def load_labelled(
    videos: str | Path | None = None,
    labels_csv: str | Path | None = None,
    groups_file: str | Path | None = None,
) -> list[LabelledVideo]:
    """Labelled videos from a CSV (paths relative to ``videos`` when given, else to the CSV's folder) or
    from the class subfolders of ``videos``. With a groups file, clips it does not list are put together in
    one ``unlisted`` group (the cautious choice: they may share a source)."""
    if labels_csv:
        items = read_labels_csv(labels_csv, root=videos)
    elif videos:
        items = labelled_from_folders(videos)
    else:
        raise DataError("Name a labels CSV or a folder with class subfolders.")
    if groups_file:
        groups = read_source_groups(groups_file)
        for it in items:
            it.group = it.group or groups.get(it.path.stem, UNLISTED_GROUP)
    return items
