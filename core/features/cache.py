"""Per-video feature arrays cached as .npz files (dataclasses whose fields are all numpy arrays)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Self

import numpy as np


class NpzRecord:
    """Mixin for a dataclass of arrays: atomic ``save`` to .npz and ``load`` back."""

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")  # atomic: readers never see half a file
        np.savez_compressed(tmp, **{k: getattr(self, k) for k in self.__dataclass_fields__})  # type: ignore[attr-defined]
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Self:
        with np.load(path) as z:
            return cls(**{k: z[k] for k in cls.__dataclass_fields__})  # type: ignore[attr-defined]
