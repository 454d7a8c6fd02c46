"""Still images as bytes: JPEG encoding, atomic JPEG files, data URIs for tables and HTML."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import cv2
import numpy as np


def encode_jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    """JPEG bytes of a BGR (H, W, 3) or grey (H, W) uint8 image; ``quality`` 0..100. Raises ValueError."""
    if image.size == 0:
        raise ValueError("JPEG encoding failed: the image is empty")
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


def write_jpeg(path: Path, image: np.ndarray, quality: int = 85) -> Path:
    """Encode ``image`` to ``path`` atomically (a reader never sees half a file). Returns ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(encode_jpeg(image, quality))
    os.replace(tmp, path)
    return path


def upscaled(image: np.ndarray, min_side: int) -> np.ndarray:
    """``image`` (H, W[, 3]) enlarged so that its longer side is ``min_side`` px, aspect kept (cubic); the same
    array when that side is already at least ``min_side``."""
    h, w = image.shape[:2]
    if max(h, w) >= min_side or not h or not w:
        return image
    scale = min_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)


def jpeg_data_uri(image: bytes | Path | None) -> str | None:
    """``data:image/jpeg;base64,...`` of JPEG bytes or a JPEG file; None for None or a missing file."""
    if isinstance(image, str | Path):
        path = Path(image)
        if not path.is_file():
            return None
        image = path.read_bytes()
    if not image:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(image).decode()
