"""Contact sheets for a blind content audit: 8 evenly spaced frames per clip, 3 clips per PNG sheet.

    .venv/bin/python benchmarks/audits/make_sheets.py ../shared/data/fights/noFight /tmp/audit

The annotator looks at the sheets only (no scores, no labels beyond the folder) and fills in
``clip,verdict,reason`` by the rubric in README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

FRAMES, SIZE, PER_SHEET = 8, (240, 180), 3


def clip_block(path: Path) -> np.ndarray:
    """One clip: a header (name, frames, fps, size) over two rows of four frames (frame index in the corner)."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    if not frames:
        raise SystemExit(f"{path}: no frames")
    tiles = []
    for i in np.linspace(0, len(frames) - 1, FRAMES).round().astype(int):
        im = cv2.resize(frames[i], SIZE)
        cv2.putText(im, str(i), (4, SIZE[1] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 255, 255), 1)
        tiles.append(im)
    grid = np.vstack([np.hstack(tiles[:4]), np.hstack(tiles[4:])])
    h, w = frames[0].shape[:2]
    header = np.zeros((28, grid.shape[1], 3), np.uint8)
    text = f"{path.name}  frames={len(frames)} fps={fps:.0f} {w}x{h}"
    cv2.putText(header, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.65, (255, 255, 255), 2)
    return np.vstack([header, grid, np.full((6, grid.shape[1], 3), 128, np.uint8)])


def main(argv: list[str]) -> int:
    src, out = Path(argv[0]), Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    clips = sorted(src.glob("*.mp4"))
    for k in range(0, len(clips), PER_SHEET):
        sheet = np.vstack([clip_block(p) for p in clips[k : k + PER_SHEET]])
        cv2.imwrite(str(out / f"sheet_{k // PER_SHEET + 1:02d}.png"), sheet)
    print(f"{(len(clips) + PER_SHEET - 1) // PER_SHEET} sheets of {len(clips)} clips in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
