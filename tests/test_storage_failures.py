"""A data folder that is read-only, full or missing: one line, exit 2, found before the work where
possible, and a store that stays consistent. Rejected uploads and the retention caps.

The full and read-only cases use a real tiny tmpfs when the tests run as root (mount allowed); otherwise
they fall back to fault injection at the write layer (``os.write``/``sqlite3``) and say so in the test id.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import moving_square_frames, write_video
from test_running import gone_process, request

from core import errors
from core.cli import main
from core.retention import enforce_cap
from core.running import ProcessStamp, RunningAnalyses, check_rerun
from core.sources import open_source, save_upload, uploads_dir
from core.store import Store, check_storage


@contextmanager
def tmpfs(path: Path, size: str):
    """A tmpfs of ``size`` at ``path`` (needs root); yields False when it cannot be mounted."""
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if r.returncode != 0:
        yield False
        return
    try:
        yield True
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(folder: Path, leave: int = 0) -> None:
    """Write a filler file until the filesystem is full, then give back ``leave`` bytes."""
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)  # unbuffered: nothing is left to flush into the full disk at close
    except OSError as err:
        assert err.errno == errno.ENOSPC
    finally:
        os.close(fd)
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err  # no progress bar: the work never started
    return err[0]


def consistent(data: Path, n: int) -> None:
    con = sqlite3.connect(data / "vigil.sqlite")
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT COUNT(*) FROM analyses").fetchone()[0] == n
        ids = {r[0] for r in con.execute("SELECT id FROM analyses")}
        orphans = con.execute("SELECT COUNT(*) FROM frame_scores WHERE analysis_id NOT IN (SELECT id FROM analyses)")
        assert orphans.fetchone()[0] == 0
    finally:
        con.close()
    folders = {p.name for p in (data / "analyses").iterdir()} if (data / "analyses").exists() else set()
    assert folders == ids  # no half-written or orphaned analysis folder


@pytest.fixture
def clips(tmp_path):
    a = write_video(tmp_path / "a.avi", moving_square_frames(n=40, fast_from=20, fast_to=26), fps=10)
    b = write_video(tmp_path / "b.avi", moving_square_frames(n=40, fast_from=10, fast_to=16, seed=3), fps=10)
    return a, b


def test_full_disk_is_found_before_the_work_starts(tmp_path, monkeypatch, capsys, clips):
    data = tmp_path / "small"
    monkeypatch.setenv("VIGIL_DATA_DIR", str(data))
    with tmpfs(data, "1m") as mounted:
        if not mounted:  # fault injection: the probe write fails as on a full disk
            real_write = os.write
            monkeypatch.setattr(os, "write", lambda fd, b: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
        else:
            fill(data)
        code = main(["analyze", str(clips[0]), "--out", str(tmp_path / "out")])
        if not mounted:
            monkeypatch.setattr(os, "write", real_write)
        assert code == 2
        assert "full" in one_error_line(capsys)
        assert not (data / "vigil.sqlite").exists() and not (data / "analyses").exists()  # nothing half-written


def test_disk_filling_during_the_save_leaves_the_store_as_it_was(tmp_path, monkeypatch, capsys, clips):
    data = tmp_path / "small"
    monkeypatch.setenv("VIGIL_DATA_DIR", str(data))
    monkeypatch.setenv("VIGIL_MIN_FREE_MB", "0")
    with tmpfs(data, "3m") as mounted:
        assert main(["analyze", str(clips[0]), "--out", str(tmp_path / "out1")]) == 0
        capsys.readouterr()
        if mounted:
            fill(data, leave=48 * 1024)  # the pre-flight fits; six thumbnails and the score rows do not
        else:
            import core.store as store_mod

            monkeypatch.setattr(
                store_mod.os, "replace", lambda *a: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full"))
            )
        code = main(["analyze", str(clips[1]), "--out", str(tmp_path / "out2")])
        err = capsys.readouterr().err.strip().splitlines()
        assert any(line.startswith("analyse") for line in err)  # this time the work ran and the save failed
        assert code == 2 and err[-1].startswith("error: ") and "full" in err[-1], err
        assert not any("Traceback" in line for line in err)
        if mounted:
            (data / "filler.bin").unlink()
        consistent(data, 1)
        assert len(Store().list()) == 1


def test_read_only_store_is_found_before_the_work_starts(tmp_path, monkeypatch, capsys, clips):
    data = tmp_path / "ro"
    monkeypatch.setenv("VIGIL_DATA_DIR", str(data))
    monkeypatch.setenv("VIGIL_MIN_FREE_MB", "1")
    with tmpfs(data, "8m") as mounted:
        assert main(["analyze", str(clips[0]), "--out", str(tmp_path / "out1")]) == 0
        capsys.readouterr()
        as_root, real_write = os.geteuid() == 0, os.write
        if mounted:
            subprocess.run(["mount", "-o", "remount,ro", str(data)], check=True)
        elif not as_root:  # permissions stop a normal user
            os.chmod(data / "vigil.sqlite", 0o444)
            os.chmod(data, 0o555)
        else:  # root ignores permissions and cannot mount here: inject the error at the write layer
            monkeypatch.setattr(os, "write", lambda fd, b: (_ for _ in ()).throw(OSError(errno.EROFS, "ro")))
        try:
            t0 = time.monotonic()
            code = main(["analyze", str(clips[1]), "--out", str(tmp_path / "out2")])
            monkeypatch.setattr(os, "write", real_write)
            assert code == 2 and time.monotonic() - t0 < 5
            assert "read-only" in one_error_line(capsys)
        finally:
            if mounted:
                subprocess.run(["mount", "-o", "remount,rw", str(data)], check=True)
            elif not as_root:
                os.chmod(data, 0o755)
                os.chmod(data / "vigil.sqlite", 0o644)
        consistent(data, 1)


def test_missing_data_folder_that_cannot_be_created(tmp_path, monkeypatch, capsys, clips):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder's parent should be")
    monkeypatch.setenv("VIGIL_DATA_DIR", str(blocker / "data"))
    assert main(["analyze", str(clips[0]), "--out", str(tmp_path / "out")]) == 2
    assert "missing or cannot be created" in one_error_line(capsys)
    with pytest.raises(errors.StorageError):
        check_storage()


def test_unwritable_out_folder_is_found_before_the_work(tmp_path, capsys, clips):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["analyze", str(clips[0]), "--out", str(blocker / "out")]) == 2
    one_error_line(capsys)
    assert Store().list() == []  # the analysis did not run


# --- uploads ------------------------------------------------------------------------------------------
def test_rejected_upload_is_deleted(vigil_env, clips):
    with pytest.raises(errors.NotAVideoError):
        open_source(b"this is text, not a video" * 100, name="notes.mp4")
    assert not uploads_dir().exists() or list(uploads_dir().iterdir()) == []
    src = open_source(clips[0].read_bytes(), name="a.avi")  # an accepted one stays
    assert src.path.parent == uploads_dir() and src.path.exists()


def test_retention_cap_removes_oldest_uploads_and_keeps_analyses(vigil_env, monkeypatch, tmp_path):
    from core.engine import analyze

    clips = [
        write_video(tmp_path / f"c{i}.avi", moving_square_frames(n=30, seed=i, fast_from=10, fast_to=14), fps=10)
        for i in range(3)
    ]
    size = max(c.stat().st_size for c in clips)
    monkeypatch.setenv("VIGIL_UPLOADS_MAX_MB", str(2.5 * size / 1e6))  # room for two
    recs = []
    for i, c in enumerate(clips):
        recs.append(analyze(open_source(c.read_bytes(), name=c.name), store=Store()))
        os.utime(recs[-1].video_path, (1000.0 + i, 1000.0 + i))  # a clear order of use
    kept = sorted(p.name for p in uploads_dir().iterdir())
    assert len(kept) == 2 and Path(recs[0].video_path).name not in kept  # the oldest went
    assert {r["id"] for r in Store().list()} == {r.id for r in recs}  # every analysis is kept
    again = Store().load(recs[0].id)
    assert len(again.track) == 30 and again.thumbnails and all(p.is_file() for p in again.thumbnails.values())


def test_enforce_cap_order_keep_and_stale_temporaries(tmp_path):
    d = tmp_path / "dl"
    d.mkdir()
    for i in range(4):
        p = d / f"v{i}.mp4"
        p.write_bytes(b"x" * 1000)
        os.utime(p, (100.0 + i, 100.0 + i))
    (d / ".dl-old").mkdir()
    os.utime(d / ".dl-old", (0, 0))
    (d / ".dl-fresh").mkdir()
    removed = enforce_cap(d, 2000, keep=[d / "v0.mp4"], now=200_000.0)
    names = sorted(p.name for p in d.iterdir())
    assert names == [".dl-fresh", "v0.mp4", "v3.mp4"]  # v1, v2 oldest after the kept v0; old temp gone
    assert {p.name for p in removed} == {"v1.mp4", "v2.mp4", ".dl-old"}
    assert enforce_cap(d, None) == [] and len(list(d.iterdir())) == 3


def test_uploads_cap_keeps_the_videos_of_interrupted_and_running_analyses(vigil_env, monkeypatch):
    monkeypatch.setenv("VIGIL_UPLOADS_MAX_MB", str(2500 / 1e6))  # room for two 1000-byte uploads
    needed = save_upload(b"a" * 1000, "yard.mp4")  # the upload an interrupted analysis will need to run again
    elsewhere = save_upload(b"b" * 1000, "gate.mp4")  # under way on another server sharing the data folder
    RunningAnalyses(me=gone_process()).begin("gone", request(source=str(needed), upload=True))
    RunningAnalyses(me=ProcessStamp("other-host", 1, "x/1")).begin("other", request(source=str(elsewhere)))
    plain = save_upload(b"c" * 1000, "door.mp4")
    for i, p in enumerate((needed, elsewhere, plain)):
        os.utime(p, (1000.0 + i, 1000.0 + i))  # the recorded ones are the least recently used
    newest = save_upload(b"d" * 1000, "hall.mp4")
    assert needed.exists() and elsewhere.exists() and newest.exists()
    assert not plain.exists()  # the cap took the oldest video no record needs
    (run,) = RunningAnalyses().interrupted("alice@example.org")
    check_rerun(run)  # Run again finds its video
