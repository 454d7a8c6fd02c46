"""Size caps for the uploads and downloads folders: the least recently used videos go first.

Analyses are kept (scores, segments, thumbnails stay in the store and History); only the source video
file goes, so reopening an old analysis shows everything but playback. Caps come from the settings
``uploads_max_mb`` and ``downloads_max_mb`` (``$VIGIL_UPLOADS_MAX_MB``, ``$VIGIL_DOWNLOADS_MAX_MB``; 0 = no cap).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

STALE_TEMP_S = 24 * 3600.0  # leftovers of a killed upload or download older than this are removed
TEMP_PREFIXES = (".upload-", ".dl-")


@dataclass(frozen=True)
class RetentionPolicy:
    """Caps in bytes (None = unlimited) for the uploads and the downloads folder."""

    uploads_max_bytes: int | None = None
    downloads_max_bytes: int | None = None

    @classmethod
    def from_settings(cls) -> RetentionPolicy:
        from core.settings import settings

        s = settings()
        return cls(*(int(mb * 1e6) if mb > 0 else None for mb in (s.uploads_max_mb, s.downloads_max_mb)))


def _last_use(p: Path) -> float:
    st = p.stat()
    return max(st.st_mtime, st.st_atime)


def enforce_cap(
    directory: Path, max_bytes: int | None, keep: Iterable[Path] = (), now: float | None = None
) -> list[Path]:
    """Delete files in ``directory``, least recently used first, until their total is at most ``max_bytes``.

    ``keep`` (the file just saved or in use) is never deleted. Temporary leftovers older than a day go too.
    Returns the deleted paths.
    """
    if not directory.is_dir():
        return []
    now = time.time() if now is None else now
    keep_set = {Path(k).resolve() for k in keep}
    removed: list[Path] = []
    files: list[tuple[float, int, Path]] = []
    for p in directory.iterdir():
        if p.name.startswith(TEMP_PREFIXES):
            if now - p.stat().st_mtime > STALE_TEMP_S:
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
                removed.append(p)
            continue
        if p.is_file() and not p.is_symlink():
            files.append((_last_use(p), p.stat().st_size, p))
    if max_bytes is None:
        return removed
    total = sum(size for _, size, _ in files)
    for _, size, p in sorted(files, key=lambda f: f[0]):
        if total <= max_bytes:
            break
        if p.resolve() in keep_set:
            continue
        p.unlink(missing_ok=True)
        total -= size
        removed.append(p)
    return removed


def touch(path: Path) -> None:
    """Mark a cached video as just used (reused downloads and re-uploads move to the back of the queue)."""
    try:
        os.utime(path)
    except OSError:
        pass
