"""Realistic uploads built from ../shared: what a user would upload, with interval ground truth.

Two kinds, both deterministic (no randomness beyond fixed seeds; the same inputs give the same files):

- **Ped2 joins**: UCSD Ped2 testing clips joined between Ped2 training clips of the same camera
  (``train, test, train, test, train``). Training clips are all normal; a testing clip's anomalous frames
  come from ``ped2.mat``. The joins are jumps in time of one scene (people move between frames).
- **Fight compilations**: short CCTV clips of different scenes joined with hard cuts (noFight clips of the
  fight dataset), a fight (one or two fight clips of one source) in the middle.

Splits (fixed before any model was run on them, so nothing reported was used to choose):
- Ped2: *tune* = testing 01,03,05,07,09,11 between training 01-08; *report* = testing 02,04,...,12 between
  training 09-16 (disjoint clips).
- Fights: the dataset's sources (``videos.txt``, clips of one source share a group) are dealt into
  ``FIGHT_FOLDS`` folds balanced by clip count (``fight_folds``); fold 0 is *tune*, the others *report*.
  A compilation uses the sources of one fold only, so a fight head fitted on the other folds has never seen its sources.

Each upload is an H.264 MP4 plus a ``<name>.json`` ground truth: ``intervals`` (anomalous [start, end) in s),
``cuts`` (times of joins, s), ``parts`` (which clip lies where), ``split``, ``fold``, ``sources``.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from core.errors import DataError

BUILD_VERSION = "3"  # bump when the recipe changes: cached uploads and scores are rebuilt
PED2_FPS = 10.0
PED2_TUNE_TEST = ("01", "03", "05", "07", "09", "11")
PED2_REPORT_TEST = ("02", "04", "06", "08", "10", "12")
PED2_TUNE_TRAIN = tuple(f"{i:02d}" for i in range(1, 9))
PED2_REPORT_TRAIN = tuple(f"{i:02d}" for i in range(9, 17))
FIGHT_FOLDS = 4
FIGHT_TUNE_FOLDS = (0,)
COMPILATIONS_PER_FOLD = 6
CALM_CLIPS_EACH_SIDE = 4
COMP_FPS = 25.0
COMP_SIZE = (640, 360)  # w, h: every clip is letterboxed into this frame


@dataclass
class Part:
    """One clip inside an upload: where it lies (s) and what it is."""

    clip: str
    start: float
    end: float
    anomalous: bool
    source: str = ""


@dataclass
class Upload:
    """One realistic upload: its video file and interval ground truth (times in seconds)."""

    name: str
    path: Path
    kind: str  # "ped2" | "fights"
    split: str  # "tune" | "report"
    fold: int
    fps: float
    duration: float
    intervals: list[tuple[float, float]]
    cuts: list[float]
    parts: list[Part] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # fight dataset source groups used (fights only)

    def labels_at(self, t: np.ndarray) -> np.ndarray:
        """(N,) times (s) -> (N,) bool: inside an anomalous interval."""
        t = np.asarray(t, dtype=np.float64)
        out = np.zeros(len(t), bool)
        for s, e in self.intervals:
            out |= (t >= s) & (t < e)
        return out

    def ignored(self, audited_anomalous: set[str]) -> list[tuple[float, float]]:
        """Intervals (s) of the clips labelled normal that a content audit found anomalous ("don't care")."""
        return [(p.start, p.end) for p in self.parts if not p.anomalous and p.clip in audited_anomalous]

    def to_json(self) -> dict:
        d = asdict(self)
        d["path"] = self.path.name
        return d

    @classmethod
    def from_json(cls, d: dict, folder: Path) -> Upload:
        d = dict(d)
        d["path"] = folder / d["path"]
        d["parts"] = [Part(**p) for p in d["parts"]]
        d["intervals"] = [tuple(x) for x in d["intervals"]]
        return cls(**d)


# --- Ped2 joins -----------------------------------------------------------------------------------------
def ped2_intervals(ped2_dir: Path) -> dict[str, tuple[int, int]]:
    """Testing clip ('01'..'12') -> (first, last) anomalous frame, 0-based inclusive, from ped2.mat."""
    import scipy.io

    gt = scipy.io.loadmat(str(ped2_dir / "ped2.mat"))["gt"][0]
    out = {}
    for i, g in enumerate(gt):
        cols = np.asarray(g).reshape(2, -1)
        if cols.shape[1] != 1:
            raise DataError(f"ped2.mat clip {i + 1}: expected one interval, found {cols.shape[1]}")
        out[f"{i + 1:02d}"] = (int(cols[0, 0]) - 1, int(cols[1, 0]) - 1)
    return out


def _frames_of(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() == ".jpg")


def ped2_plans(ped2_dir: Path) -> list[dict]:
    """The Ped2 uploads as plans (no pixels): per split three uploads train,test,train,test,train."""
    plans = []
    for split, tests, trains in (
        ("tune", PED2_TUNE_TEST, PED2_TUNE_TRAIN),
        ("report", PED2_REPORT_TEST, PED2_REPORT_TRAIN),
    ):
        for u in range(len(tests) // 2):
            te = tests[2 * u : 2 * u + 2]
            tr = [trains[(3 * u + k) % len(trains)] for k in range(3)]
            plans.append(
                {
                    "name": f"ped2-{split}-{u + 1}",
                    "split": split,
                    "order": [
                        ("training", tr[0]),
                        ("testing", te[0]),
                        ("training", tr[1]),
                        ("testing", te[1]),
                        ("training", tr[2]),
                    ],
                }
            )
    return plans


def _build_ped2(plan: dict, ped2_dir: Path, out_dir: Path) -> Upload:
    from core.media import encode_h264

    anomalous = ped2_intervals(ped2_dir)
    files: list[Path] = []
    parts, intervals, cuts = [], [], []
    for which, clip in plan["order"]:
        clip_files = _frames_of(ped2_dir / which / "frames" / clip)
        start = len(files) / PED2_FPS
        if files:
            cuts.append(start)
        files += clip_files
        end = len(files) / PED2_FPS
        is_test = which == "testing"
        parts.append(Part(f"{which}/{clip}", start, end, is_test))
        if is_test:
            a, b = anomalous[clip]
            intervals.append((start + a / PED2_FPS, start + (b + 1) / PED2_FPS))
    path = out_dir / f"{plan['name']}.mp4"
    encode_h264((cv2.imread(str(p), cv2.IMREAD_COLOR) for p in files), path, PED2_FPS)
    return Upload(
        plan["name"], path, "ped2", plan["split"], -1, PED2_FPS, len(files) / PED2_FPS, intervals, cuts, parts
    )


# --- fight compilations ------------------------------------------------------------------------------------
def fight_folds(fights_dir: Path) -> dict[str, int]:
    """Source group id -> fold (0..FIGHT_FOLDS-1): largest groups first, each to the fold with the fewest
    clips so far (ties: lowest fold), so every fold can fill compilations."""
    groups = _fight_groups(fights_dir)
    counts: dict[str, list[int]] = {}
    for clip, g in groups.items():
        counts.setdefault(g, [0, 0])[0 if clip.startswith("no") else 1] += 1
    load = [[0, 0] for _ in range(FIGHT_FOLDS)]
    out = {}
    for g in sorted(counts, key=lambda g: (-sum(counts[g]), g)):
        k = min(range(FIGHT_FOLDS), key=lambda i: (load[i][0] + load[i][1], i))
        out[g] = k
        load[k][0] += counts[g][0]
        load[k][1] += counts[g][1]
    return out


def _fight_groups(fights_dir: Path) -> dict[str, str]:
    """Clip stem -> source group for every clip in fight/ and noFight/ (clips videos.txt does not list share
    one group, as in core.dataset: they may come from one source)."""
    from core.dataset import UNLISTED_GROUP, read_source_groups

    listed = read_source_groups(fights_dir / "videos.txt")
    out = {}
    for sub in ("fight", "noFight"):
        for p in sorted((fights_dir / sub).glob("*.mp4")):
            out[p.stem] = listed.get(p.stem, UNLISTED_GROUP)
    return out


def fight_plans(fights_dir: Path) -> list[dict]:
    """Compilation plans: per fold, calm clips (distinct sources side by side), one fight in the middle."""
    groups = _fight_groups(fights_dir)
    folds = fight_folds(fights_dir)
    plans = []
    for fold in range(FIGHT_FOLDS):
        rng = random.Random(1000 + fold)
        fight_by_src: dict[str, list[str]] = {}
        calm: list[str] = []
        for clip, g in sorted(groups.items()):
            if folds[g] != fold:
                continue
            if clip.startswith("fi"):
                fight_by_src.setdefault(g, []).append(clip)
            else:
                calm.append(clip)
        srcs = sorted(fight_by_src)
        rng.shuffle(srcs)
        n = min(COMPILATIONS_PER_FOLD, len(srcs))
        for c in range(n):
            fights = sorted(fight_by_src[srcs[c]])
            fight = fights[:2] if len(fights) >= 2 else fights
            pool = [x for x in calm if groups[x] != srcs[c]]
            rng.shuffle(pool)
            chosen = _distinct_neighbours(pool, groups, 2 * CALM_CLIPS_EACH_SIDE)
            order = chosen[:CALM_CLIPS_EACH_SIDE] + fight + chosen[CALM_CLIPS_EACH_SIDE:]
            split = "tune" if fold in FIGHT_TUNE_FOLDS else "report"
            plans.append({"name": f"fights-{split}-f{fold}-{c + 1}", "split": split, "fold": fold, "order": order})
    return plans


def _distinct_neighbours(pool: list[str], groups: dict[str, str], k: int) -> list[str]:
    """Up to k clips from pool such that neighbours come from different sources (a cut is a real scene change)."""
    out: list[str] = []
    rest = list(pool)
    while rest and len(out) < k:
        pick = next((x for x in rest if not out or groups[x] != groups[out[-1]]), rest[0])
        out.append(pick)
        rest.remove(pick)
    return out


def _letterbox(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    ih, iw = image.shape[:2]
    s = min(w / iw, h / ih)
    nw, nh = max(2, round(iw * s)), max(2, round(ih * s))
    canvas = np.zeros((h, w, 3), np.uint8)
    x, y = (w - nw) // 2, (h - nh) // 2
    canvas[y : y + nh, x : x + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    return canvas


def _clip_frames_at(path: Path, fps: float) -> list[np.ndarray]:
    """All frames of a clip resampled to ``fps`` (nearest earlier native frame), letterboxed."""
    cap = cv2.VideoCapture(str(path))
    native = cap.get(cv2.CAP_PROP_FPS) or 25.0
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    cap.release()
    if not frames:
        raise DataError(f"{path} decodes to no frames")
    n_out = max(1, int(round(len(frames) / native * fps)))
    return [_letterbox(frames[min(len(frames) - 1, int(i * native / fps))], COMP_SIZE) for i in range(n_out)]


def _build_fights(plan: dict, fights_dir: Path, out_dir: Path) -> Upload:
    from core.media import encode_h264

    groups = _fight_groups(fights_dir)
    frames: list[np.ndarray] = []
    parts, intervals, cuts = [], [], []
    for clip in plan["order"]:
        is_fight = clip.startswith("fi")
        sub = "fight" if is_fight else "noFight"
        clip_frames = _clip_frames_at(fights_dir / sub / f"{clip}.mp4", COMP_FPS)
        start = len(frames) / COMP_FPS
        if frames:
            cuts.append(start)
        frames += clip_frames
        end = len(frames) / COMP_FPS
        parts.append(Part(clip, start, end, is_fight, groups[clip]))
    # consecutive fight clips of one source are one event
    for p in parts:
        if p.anomalous:
            if intervals and abs(intervals[-1][1] - p.start) < 1e-9:
                intervals[-1] = (intervals[-1][0], p.end)
            else:
                intervals.append((p.start, p.end))
    path = out_dir / f"{plan['name']}.mp4"
    encode_h264(iter(frames), path, COMP_FPS)
    return Upload(
        plan["name"],
        path,
        "fights",
        plan["split"],
        plan["fold"],
        COMP_FPS,
        len(frames) / COMP_FPS,
        intervals,
        sorted(cuts),
        parts,
        sorted({p.source for p in parts}),
    )


# --- the whole set -----------------------------------------------------------------------------------------
def _recipe_key(shared: Path) -> str:
    blob = json.dumps(
        {
            "v": BUILD_VERSION,
            "ped2": ped2_plans(shared / "data" / "ucsd_ped2"),
            "fights": fight_plans(shared / "data" / "fights"),
            "size": COMP_SIZE,
            "fps": COMP_FPS,
        },
        sort_keys=True,
    ).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def build_uploads(shared: Path, out_dir: Path, progress=None) -> list[Upload]:
    """Build (or reuse) every realistic upload under ``out_dir/<recipe key>/``. Returns them in a fixed order."""
    shared = Path(shared)
    ped2_dir, fights_dir = shared / "data" / "ucsd_ped2", shared / "data" / "fights"
    for need in (ped2_dir / "ped2.mat", fights_dir / "videos.txt"):
        if not need.exists():
            raise DataError(f"Missing {need}: the realistic uploads are built from ../shared/data.")
    folder = Path(out_dir) / _recipe_key(shared)
    index = folder / "index.json"
    if index.exists():
        return [Upload.from_json(d, folder) for d in json.loads(index.read_text())]
    folder.mkdir(parents=True, exist_ok=True)
    plans = [("ped2", p) for p in ped2_plans(ped2_dir)] + [("fights", p) for p in fight_plans(fights_dir)]
    uploads = []
    for i, (kind, plan) in enumerate(plans):
        if progress:
            progress(i / len(plans), plan["name"])
        up = _build_ped2(plan, ped2_dir, folder) if kind == "ped2" else _build_fights(plan, fights_dir, folder)
        (folder / f"{up.name}.json").write_text(json.dumps(up.to_json(), indent=1))
        uploads.append(up)
    index.write_text(json.dumps([u.to_json() for u in uploads], indent=1))
    return uploads


def iter_split(uploads: list[Upload], split: str) -> Iterator[Upload]:
    return (u for u in uploads if u.split == split)


def load_audit(path: Path) -> dict[str, tuple[str, str]]:
    """A content audit CSV (``clip,verdict,reason``; clip as ``nofi047.mp4``) -> {clip stem: (verdict, reason)}."""
    import csv

    with Path(path).open(newline="") as f:
        return {Path(r["clip"]).stem: (r["verdict"].strip(), r["reason"].strip()) for r in csv.DictReader(f)}
