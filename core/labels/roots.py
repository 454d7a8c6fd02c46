"""Which server folders a user may point the Label page at: the allowed data roots
(``VIGIL_LABEL_ROOTS`` in ``core.settings``; default the data folder and ``<shared dir>/data``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from core.errors import DataError
from core.settings import settings


class ForbiddenFolderError(DataError):
    """A folder outside the allowed data roots was named."""


def allowed_roots() -> list[Path]:
    """Folders a user may point the Label page at (``VIGIL_LABEL_ROOTS`` or data dir + ../shared/data)."""
    return settings().allowed_label_roots


def inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def check_folder(folder: str | Path, roots: Iterable[Path] | None = None) -> Path:
    """The resolved folder, or ForbiddenFolderError/DataError when it is outside the roots or missing."""
    text = str(folder).strip()
    if not text:
        raise DataError("Type a folder path.")
    # resolve() follows symlinks, so a link inside a root that points outside it is refused too
    path = Path(text).expanduser().resolve()
    roots = list(roots) if roots is not None else allowed_roots()
    if not any(inside(path, r) for r in roots):
        listed = ", ".join(str(r) for r in roots) or "(none configured)"
        raise ForbiddenFolderError(
            f"'{text}' is outside the allowed data folders ({listed}). Set VIGIL_LABEL_ROOTS to allow more."
        )
    if not path.is_dir():
        raise DataError(f"Folder not found: {path}")
    return path
