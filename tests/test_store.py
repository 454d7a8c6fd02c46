"""The analysis store: round trip, reuse, delete, and atomic writes (exceptions and kills leave nothing)."""

import errno
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core import store as store_mod
from core.config import EventConfig, ScoringConfig
from core.engine import analyze
from core.errors import AnalysisCancelled, NotFoundError, StorageError
from core.registry import load_scorer
from core.scorers.base import Scorer
from core.store import Store

REPO = Path(__file__).resolve().parent.parent


def rows(db_path: Path, table: str) -> int:
    if not db_path.exists():
        return 0
    with sqlite3.connect(db_path) as con:
        return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_round_trip_matches_what_was_computed(make_video):
    path = make_video("v.avi", n=60, fast_from=30, fast_to=40)
    st = Store()
    rec = analyze(path, store=st, events=EventConfig(threshold=0.3, min_duration=0.0))
    back = st.load(rec.id)
    assert np.allclose(back.track.score, rec.track.score)
    assert np.allclose(back.track.smoothed, rec.track.smoothed)
    assert back.track.frame.tolist() == rec.track.frame.tolist()
    assert back.segments == rec.segments and len(back.segments) >= 1
    assert [m.frame for m in back.moments] == [m.frame for m in rec.moments]
    assert all(p.is_file() for p in back.thumbnails.values())
    assert back.scoring == rec.scoring and back.events == rec.events
    listed = st.list()
    assert [r["id"] for r in listed] == [rec.id]
    assert listed[0]["n_segments"] == len(rec.segments)


class _MustNotRun(Scorer):
    def __init__(self, info):
        self.info = info

    def stream(self, live=False):
        raise AssertionError("a stored result should have been reused")


def test_same_video_model_and_scoring_is_reused_and_resegmented(make_video):
    path = make_video("v.avi", n=60, fast_from=30, fast_to=40)
    st = Store()
    first = analyze(path, model="motion", store=st)
    stub = _MustNotRun(load_scorer("motion").info)
    again = analyze(path, store=st, scorer=stub)
    assert again.id == first.id
    strict = analyze(path, store=st, scorer=stub, events=EventConfig(threshold=0.05, min_duration=0.0))
    assert strict.id == first.id and np.allclose(strict.track.score, first.track.score)
    assert len(strict.segments) >= len(first.segments)
    # other scoring settings are a different analysis
    other = analyze(path, model="motion", store=st, scoring=ScoringConfig(fps=5))
    assert other.id != first.id
    assert len(st.list()) == 2


def test_delete_removes_rows_and_files(make_video):
    st = Store()
    rec = analyze(make_video("v.avi", n=30), store=st)
    assert rec.files_dir.is_dir()
    st.delete(rec.id)
    assert not rec.files_dir.exists()
    for table in ("analyses", "frame_scores", "segments", "thumbnails"):
        assert rows(st.db.path, table) == 0
    with pytest.raises(NotFoundError):
        st.load(rec.id)
    with pytest.raises(NotFoundError):
        st.delete(rec.id)


def test_exception_during_save_leaves_no_half_record(make_video, monkeypatch):
    st = Store()
    real_replace = os.replace

    def boom(src, dst):
        if ".tmp-" in str(src):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(store_mod.os, "replace", boom)
    with pytest.raises(StorageError, match="is full"):  # a one-line message, not a traceback
        analyze(make_video("v.avi", n=30), store=st)
    for table in ("analyses", "frame_scores", "segments", "thumbnails"):
        assert rows(st.db.path, table) == 0
    assert list(st.analyses_dir.iterdir()) == []


def test_cancel_saves_nothing(make_video):
    st = Store()
    calls = {"n": 0}

    def cancel():
        calls["n"] += 1
        return calls["n"] > 5

    with pytest.raises(AnalysisCancelled):
        analyze(make_video("v.avi", n=60), store=st, cancel=cancel)
    assert rows(st.db.path, "analyses") == 0


def test_kill_mid_analysis_leaves_store_unchanged(vtest, vigil_env, tmp_path):
    st = Store()
    kept = analyze(Path(vtest), store=st, scoring=ScoringConfig(fps=2))  # one complete record beforehand
    env = {**os.environ, "VIGIL_DATA_DIR": str(vigil_env), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "core",
            "analyze",
            str(vtest),
            "--out",
            str(tmp_path / "o"),
            "--fps",
            "10",
            "--no-reuse",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # Kill once it is analysing (its progress bar has started), well before it can finish.
    deadline = time.time() + 60
    buf = b""
    while b"analyse" not in buf and time.time() < deadline:
        buf += proc.stderr.read1(4096) if proc.stderr else b""
    time.sleep(1.0)
    assert proc.poll() is None, "analysis finished before it could be killed; use a longer clip"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    st.sweep()
    assert [r["id"] for r in st.list()] == [kept.id]
    assert sorted(p.name for p in st.analyses_dir.iterdir()) == [kept.id]
    assert rows(st.db.path, "frame_scores") == len(kept.track)


def test_analyses_stored_under_the_old_peak_rule_are_re_placed_when_read(make_video):
    """Before the peak rule changed, a flat maximum peaked at its first sample: History, Archive's rankings and the
    results kept saying "at 0:00.0". Such rows are re-placed from their stored scores, at the middle of the plateau,
    when first read; start, end and cause stay."""
    path = make_video("v.avi", n=60, fast_from=30, fast_to=40)
    st = Store()
    rec = analyze(path, store=st, events=EventConfig(threshold=0.3, min_duration=0.0))
    (seg,) = rec.segments
    i = int(np.argmin(np.abs(rec.track.t - seg.peak_t)))
    flat = rec.track.frame[i : i + 5].astype(int).tolist()  # the peak and the four samples after it, made equal
    t_first, t_mid = float(rec.track.t[i]), float(rec.track.t[i + 2])  # old rule: the first; new: the middle
    db = st.db.path
    with sqlite3.connect(db) as con:
        con.executemany(
            "UPDATE frame_scores SET score=? WHERE analysis_id=? AND frame=?", [(seg.peak, rec.id, f) for f in flat]
        )
        con.execute("UPDATE analyses SET peak_t=?, peak_rule=1 WHERE id=?", (t_first, rec.id))
        con.execute("UPDATE segments SET peak_t=? WHERE analysis_id=?", (t_first, rec.id))

    (ranked,) = st.top_segments([rec.id])
    assert ranked.segment.peak_t == pytest.approx(t_mid) and ranked.segment.peak == pytest.approx(seg.peak)
    assert (ranked.segment.start, ranked.segment.end, ranked.segment.cause) == (seg.start, seg.end, seg.cause)
    assert st.list()[0]["peak_t"] == pytest.approx(t_mid)
    assert st.load(rec.id).segments[0].peak_t == pytest.approx(t_mid)
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT peak_rule FROM analyses WHERE id=?", (rec.id,)).fetchone()[0] == store_mod.PEAK_RULE
    assert st.upgrade_peaks() == 0  # once only


def test_a_database_from_before_the_peak_rule_column_gets_it(make_video):
    path = make_video("v.avi", n=40, fast_from=20, fast_to=30)
    st = Store()
    rec = analyze(path, store=st, events=EventConfig(threshold=0.3, min_duration=0.0))
    with sqlite3.connect(st.db.path) as con:
        con.execute("ALTER TABLE analyses DROP COLUMN peak_rule")
    fresh = Store(store_mod.Database(st.db.path))  # a new process: the column comes back, its rows at the old rule
    assert fresh.upgrade_peaks() == 1
    assert fresh.load(rec.id).segments == rec.segments


def test_a_row_whose_peaks_cannot_be_re_placed_is_still_listed_and_not_tried_again(make_video):
    rec = analyze(make_video("v.avi", n=40, fast_from=20, fast_to=30), store=Store())
    st = Store()
    with sqlite3.connect(st.db.path) as con:
        con.execute("UPDATE analyses SET meta_json='{}', peak_rule=1 WHERE id=?", (rec.id,))
    assert [r["id"] for r in st.list()] == [rec.id]
    with sqlite3.connect(st.db.path) as con:
        assert con.execute("SELECT peak_rule FROM analyses WHERE id=?", (rec.id,)).fetchone()[0] == store_mod.PEAK_RULE
