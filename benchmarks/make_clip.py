"""Make the benchmark clip: vtest.avi re-encoded as 640x480 H.264 at 25 fps (native-rate footage).

.venv/bin/python benchmarks/make_clip.py ../shared/data/clips/vtest.avi out/bench_640x480_25fps.mp4
"""

from __future__ import annotations

import sys
from pathlib import Path

import av
import cv2


def make(src: str, dest: str, width: int = 640, height: int = 480, fps: int = 25) -> Path:
    cap = cv2.VideoCapture(src)
    src_fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
    Path(dest).parent.mkdir(parents=True, exist_ok=True)
    with av.open(dest, "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23"}
        n_out = 0
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            i += 1
            frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
            # repeat source frames to reach the target rate while keeping real time
            while n_out < i * fps / src_fps:
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
                    out.mux(packet)
                n_out += 1
        for packet in stream.encode():
            out.mux(packet)
    return Path(dest)


if __name__ == "__main__":
    print(make(sys.argv[1], sys.argv[2]))
