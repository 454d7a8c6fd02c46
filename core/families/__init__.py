"""The one registry of model families: every package under ``core/families/`` plus every package in the
folders named by ``VIGIL_FAMILIES_PATH`` (``core.settings``; an ``os.pathsep``-separated list) whose
``__init__`` exposes ``FAMILIES: list[Family]`` (see ``core.families.base``).

Only the packages' ``__init__`` modules are imported here; they must stay cheap (no torch, no
ultralytics at import time: a family imports its heavy modules inside ``build`` / ``fit_*``), so listing
the families never loads a deep-learning runtime.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from core.errors import UnknownModelError
from core.families.base import Family, FitResult, ProgressFn, Resolve
from core.settings import settings

__all__ = ["Family", "FitResult", "ProgressFn", "Resolve", "all_families", "extra_paths", "get", "reload", "require"]

BUILTIN_DIR = Path(__file__).resolve().parent
_cache: dict[str, Family] | None = None
_cache_key: tuple[str, ...] | None = None


def extra_paths() -> list[Path]:
    """Folders of third-party family packages (``VIGIL_FAMILIES_PATH``)."""
    return list(settings().families_path)


def _packages(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if (p / "__init__.py").is_file() and not p.name.startswith(("_", ".")))


def _import_package(pkg: Path, builtin: bool):
    if builtin:
        return importlib.import_module(f"core.families.{pkg.name}")
    name = f"vigil_families_{pkg.parent.name}_{pkg.name}".replace("-", "_")
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, pkg / "__init__.py", submodule_search_locations=[str(pkg)])
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before exec, so the package's own relative imports resolve
    spec.loader.exec_module(module)
    return module


def _discover() -> dict[str, Family]:
    out: dict[str, Family] = {}
    folders = [(BUILTIN_DIR, True), *((p, False) for p in extra_paths())]
    for folder, builtin in folders:
        for pkg in _packages(folder):
            module = _import_package(pkg, builtin)
            for fam in getattr(module, "FAMILIES", ()):
                out.setdefault(fam.kind, fam)  # built-in kinds cannot be replaced from outside
    return out


def all_families() -> dict[str, Family]:
    """Every family by kind, in discovery order (built-in packages by name, then the extra folders)."""
    global _cache, _cache_key
    key = tuple(str(p) for p in extra_paths())
    if _cache is None or key != _cache_key:
        _cache, _cache_key = _discover(), key
    return _cache


def get(kind: str) -> Family | None:
    return all_families().get(kind)


def require(kind: str) -> Family:
    fam = get(kind)
    if fam is None:
        raise UnknownModelError(f"Unknown model kind '{kind}'. Known kinds: {', '.join(all_families())}.")
    return fam


def reload() -> None:
    """Forget the discovered families (tests that change ``VIGIL_FAMILIES_PATH`` between runs)."""
    global _cache
    _cache = None
