"""Which server paths a visitor may name: one policy for the Live file source, Label folders and CSV paths.

A path typed into a page is resolved (``..`` removed, every symlink followed) and must then lie inside
one of the allowed roots: the setting ``label_roots`` (``$VIGIL_LABEL_ROOTS``, folders separated by
``os.pathsep``), by default the data folder and ``<shared dir>/data``. A refusal reads the same
whether the path exists or not, so the wording does not tell a visitor what is on the disk. The CLI
is the operator's own tool and is not restricted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.errors import DataError
from core.settings import settings

ROOTS_ENV = "VIGIL_LABEL_ROOTS"


class ForbiddenPathError(DataError):
    """A path outside the allowed server folders (or one that cannot be resolved) was named."""


def inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


@dataclass(frozen=True)
class ServerPaths:
    """The allowed roots (resolved) and the one check every page uses."""

    roots: tuple[Path, ...]

    @classmethod
    def from_settings(cls) -> ServerPaths:
        return cls.of(settings().allowed_label_roots)

    @classmethod
    def of(cls, roots: Iterable[str | Path]) -> ServerPaths:
        # Roots are resolved too: a symlinked root must still match the resolved paths checked against it.
        return cls(tuple(Path(r).expanduser().resolve() for r in roots))

    def refusal(self, text: str) -> ForbiddenPathError:
        listed = ", ".join(str(r) for r in self.roots) or "(none configured)"
        return ForbiddenPathError(
            f"'{text}' is outside the allowed data folders ({listed}). Set {ROOTS_ENV} to allow more."
        )

    def contains(self, path: str | Path) -> bool:
        """True when ``path``, symlinks followed, lies inside a root (it need not exist)."""
        try:
            resolved = Path(path).expanduser().resolve()
        except (OSError, RuntimeError, ValueError):
            return False
        return any(inside(resolved, r) for r in self.roots)

    def check(self, path: str | Path, kind: Literal["file", "folder", "any"] = "any") -> Path:
        """The resolved path, or ForbiddenPathError (outside the roots: same words whether it exists or
        not) or DataError (inside the roots but missing or of the wrong kind)."""
        text = str(path).strip()
        if not text:
            raise DataError("Type a path on the server.")
        try:
            resolved = Path(text).expanduser().resolve()
        except (OSError, RuntimeError, ValueError):  # unknown ~user, symlink loop, NUL byte
            raise self.refusal(text) from None
        if not any(inside(resolved, r) for r in self.roots):
            raise self.refusal(text)
        if kind == "folder" and not resolved.is_dir():
            raise DataError(f"Folder not found: {text}")
        if kind == "file" and not resolved.is_file():
            raise DataError(f"No file at {text}")
        if kind == "any" and not resolved.exists():
            raise DataError(f"Nothing at {text}")
        return resolved


def server_paths() -> ServerPaths:
    """The policy from the settings (read on each call, so tests and settings changes apply at once)."""
    return ServerPaths.from_settings()
