"""The default model's held-apart figure on the realistic uploads *as users encode them* (reporting only).

    .venv/bin/python benchmarks/realistic_shift.py            # writes benchmarks/results/realistic_shift.json

The realistic uploads (``realistic_uploads.py``) are encoded once at high quality (x264 CRF 23, a key frame every
10 s). Phones, CCTV exports and web re-uploads give more compression, frequent key frames and smaller pictures.
Each reported upload is re-encoded from its clean file in two fixed ways (declared in benchmarks/audits/README.md
before the first run, never varied):

- ``web``: same size and frame rate, CRF 30, a key frame every 1 s;
- ``low-res``: half the width and height, CRF 28, a key frame every 2 s;
- ``low-fps``: half the frame rate (every second frame kept, each at its own time), same size, CRF 28, a key
  frame every 2 s (as CCTV recorders store footage; declared later, 2026-11-21 22:33 UTC).

and the figure of record's procedure is run unchanged with the copy reported in place of the clean upload: the
same fight heads (one per fold held out) and fusions fitted and quantile-chosen on the *clean* fit sets. Nothing
is fitted or chosen on the copies. Intervals and cut times (seconds) do not move; frame labels are taken at the
presentation times of the frames scored (``evaluate``: ``labels_at(t)``), so on a low-fps copy, whose kept frames
keep their times, they are the labels of the clean frames kept.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import realistic_uploads as ru  # noqa: E402 - the figure of record's own code, unchanged

# name -> (scale of width and height, x264 CRF, seconds between key frames, frame step: every k-th frame kept)
ENCODINGS: dict[str, tuple[float, int, float, int]] = {
    "web": (1.0, 30, 1.0, 1),
    "low-res": (0.5, 28, 2.0, 1),
    "low-fps": (1.0, 28, 2.0, 2),
}


def reencode(src: Path, dest: Path, scale: float, crf: int, key_s: float, step: int = 1) -> Path:
    """Decode ``src`` and encode every ``step``-th frame again (H.264, yuv420p) at ``dest``, atomically.

    The copy's rate is the source's divided by ``step`` (exact: 25 / 2 = 12.5 fps), so kept frame ``step * j`` of
    the source, shown at ``step * j / fps`` s, is shown at the same time in the copy (its pts is ``j`` in units of
    ``step / fps`` s)."""
    import av
    import cv2

    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".tmp-{dest.name}")
    with av.open(str(src)) as inp, av.open(str(tmp), "w", format="mp4") as out:
        vin = inp.streams.video[0]
        fps = Fraction(vin.average_rate).limit_denominator(1001)
        rate = fps / step
        w, h = (round(vin.codec_context.width * scale / 2) * 2, round(vin.codec_context.height * scale / 2) * 2)
        # a whole rate as before (the web and low-res copies were made so); a halved one exactly (12.5, not 12)
        stream = out.add_stream("libx264", rate=round(fps) if step == 1 else rate)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        gop = max(1, round(rate * key_s))
        stream.options = {"preset": "veryfast", "crf": str(crf), "g": str(gop), "keyint_min": str(gop)}
        for i, frame in enumerate(inp.decode(vin)):
            if i % step:
                continue
            img = frame.to_ndarray(format="bgr24")
            if img.shape[1] != w or img.shape[0] != h:
                img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
            new = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")
            if step > 1:  # the j-th kept frame at j / rate s: the source frame's own time
                new.pts, new.time_base = i // step, 1 / rate
            for packet in stream.encode(new):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    os.replace(tmp, dest)
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", default=str(ru.RESULTS / "realistic_shift.json"))
    args = ap.parse_args(argv)
    if not ru.SHARED.is_dir():
        print(f"error: {ru.SHARED} is missing (the shared data and weights)", file=sys.stderr)
        return 2
    os.environ.setdefault("VIGIL_MODELS_DIR", str(ru.SHARED / "models"))
    os.environ.setdefault("VIGIL_DATA_DIR", str(ru.REPO / "vigil-data"))

    from core.evalsets import build_uploads, load_audit
    from core.families.vigil import load_fusion

    uploads = build_uploads(ru.SHARED, ru.OUT, progress=lambda f, m: ru._log(f"  building uploads {f:.0%} {m}"))
    heads = ru.FightHeads(ru.fit_with_fight_family, ru.SHARED / "data" / "fights")
    audit = load_audit(ru.AUDIT) if ru.AUDIT.is_file() else {}
    audited = {clip for clip, (verdict, _) in audit.items() if verdict == "anomalous"}
    reported = [u for u in uploads if u.kind == "fights" or u.split == "report"]
    results: dict[str, dict] = {}
    for name, (scale, crf, key_s, step) in ENCODINGS.items():
        ru._log(
            f"re-encoding {len(reported)} reported uploads: {name} (scale {scale}, CRF {crf}, key {key_s} s, "
            f"every {step} frame(s))"
        )
        folder = ru.OUT / "shift" / name
        t0 = time.perf_counter()
        # intervals, cuts and duration stay in seconds; only the file and its rate change
        shifted = {
            u.name: dataclasses.replace(
                u, path=reencode(u.path, folder / u.path.name, scale, crf, key_s, step), fps=u.fps / step
            )
            for u in reported
        }
        cross = ru.crossfit(uploads, heads, load_fusion(), ru.OUT / "scores", audited, shifted=shifted)
        ru._log(f"  {name}: {time.perf_counter() - t0:.0f} s (re-encoding and scoring; cached parts reused)")
        results[name] = {"scale": scale, "crf": crf, "key_frame_s": key_s, "frame_step": step, **cross}
        print(ru.table({f"vigil ({name})": cross["dataset"]}, f"cross-fitted, re-encoded: {name}"))
        if cross["audited"]:
            print(ru.table({f"vigil ({name}, audited)": cross["audited"]}, "the same, audited labels"))
        print()
    clean = (
        json.loads((ru.RESULTS / "realistic.json").read_text()).get("crossfit")
        if (ru.RESULTS / "realistic.json").is_file()
        else None
    )
    Path(args.json).write_text(
        json.dumps({"encodings": results, "clean_record": clean["dataset"]["all"] if clean else None}, indent=1)
    )
    ru._log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
