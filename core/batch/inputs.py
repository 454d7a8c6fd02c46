"""Turn what a user names (folders, globs, list files, links) into one entry per video.

A folder is searched recursively and a folder of numbered frames counts as one video (the scorers need
consecutive frames, so a video is never split). A text file lists one path or link per line (``#``
starts a comment; relative paths are relative to the list's folder). Links stay links: the worker that
scores a video downloads it.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from core.dataset import videos_in
from core.errors import DataError
from core.sources import IMAGE_EXTS, VIDEO_EXTS, is_url

MAX_BATCH_VIDEOS = 200_000  # a month of 8 cameras in 10-minute files is ~35,000 videos


def _scan(folder: Path) -> list[Path]:
    return videos_in(folder, recursive=True, limit=MAX_BATCH_VIDEOS)  # the one definition of a video


def _check_inside(path: Path, roots: Sequence[Path] | None) -> None:
    if roots is None:
        return
    from core.labels.roots import check_folder

    check_folder(path if path.is_dir() else path.parent, roots)


def _is_list_file(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() not in VIDEO_EXTS | IMAGE_EXTS and p.suffix.lower() in (".txt", ".list", "")


def _read_list(p: Path) -> list[str]:
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"Cannot read the list '{p}': {err}") from None
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        out.append(line if is_url(line) else str((p.parent / Path(line).expanduser()).resolve()))
    return out


def collect_videos(paths: Iterable[str | Path], roots: Sequence[Path] | None = None) -> list[str]:
    """One entry (absolute path or link) per video, in the order given, without duplicates.

    ``roots``: when given, every folder or file must lie inside one of them (the app passes the allowed
    data roots; the CLI reads whatever its user can). Raises DataError for a name that matches nothing,
    a folder without videos or an empty batch; ForbiddenFolderError for a path outside the roots. A
    file listed in a list file that does not exist is kept: it fails as that video, not the batch.
    """
    found: list[str] = []
    for raw in paths:
        text = str(raw).strip()
        if not text:
            continue
        if is_url(text):
            found.append(text)
            continue
        path = Path(text).expanduser()
        if path.is_dir():
            folder = path.resolve()
            _check_inside(folder, roots)
            videos = _scan(folder)
            if not videos:
                raise DataError(f"'{text}' holds no videos (searched recursively for video files and frame folders).")
            found.extend(str(v) for v in videos)
        elif _is_list_file(path):
            _check_inside(path.resolve(), roots)
            listed = _read_list(path)
            if not listed:
                raise DataError(f"The list '{text}' names no video.")
            for item in listed:
                if not is_url(item):
                    _check_inside(Path(item), roots)
                found.append(item)
        elif path.exists():
            _check_inside(path.resolve(), roots)
            found.append(str(path.resolve()))
        elif glob.has_magic(text):
            matches = sorted(glob.glob(os.path.expanduser(text), recursive=True))
            if not matches:
                raise DataError(f"No file matches '{text}'.")
            for m in matches:
                found.extend(collect_videos([m], roots))
        else:
            raise DataError(f"'{text}' does not exist (not a folder, file, glob or link).")
    unique = list(dict.fromkeys(found))
    if not unique:
        raise DataError("No video to score: name a folder, a glob, a list file or a link.")
    if len(unique) > MAX_BATCH_VIDEOS:
        raise DataError(f"{len(unique)} videos in one batch; the limit is {MAX_BATCH_VIDEOS}: split it.")
    return unique
