"""Which server folders a user may point the Label page at: the one server-path policy of
``core.paths`` (``VIGIL_LABEL_ROOTS`` in ``core.settings``; default the data folder and ``<shared dir>/data``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from core.paths import ForbiddenPathError, ServerPaths, inside, server_paths

ForbiddenFolderError = ForbiddenPathError  # the Label page's name for the one refusal

__all__ = ["ForbiddenFolderError", "allowed_roots", "check_folder", "inside", "policy"]


def policy(roots: Iterable[Path] | None = None) -> ServerPaths:
    """The server-path policy, or one over ``roots`` when a caller (a test, the CLI) names them."""
    return ServerPaths.of(roots) if roots is not None else server_paths()


def allowed_roots() -> list[Path]:
    """Folders a user may point the Label page at (``VIGIL_LABEL_ROOTS`` or data dir + ../shared/data)."""
    return list(server_paths().roots)


def check_folder(folder: str | Path, roots: Iterable[Path] | None = None) -> Path:
    """The resolved folder (``..`` and symlinks followed), or ForbiddenFolderError when it lies outside the
    roots (same words whether it exists or not), or DataError when it is missing inside them."""
    return policy(roots).check(folder, "folder")
