"""The one dataset reader: one definition of a video and a frame folder, class subfolders, groups."""

from __future__ import annotations

import cv2
import pytest
from conftest import moving_square_frames, write_video

from core.dataset import labelled_from_folders, load_labelled, open_videos, videos_in
from core.errors import DataError


def frames(folder, n):
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(moving_square_frames(n=n, size=(48, 64))):
        cv2.imwrite(str(folder / f"{i:03d}.jpg"), f)
    return folder


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "data"
    (root / "fight").mkdir(parents=True)
    (root / "noFight").mkdir()
    write_video(root / "fight" / "f1.avi", moving_square_frames(n=8))
    frames(root / "fight" / "seq", 3)
    frames(root / "fight" / "still", 1)  # one image is a still, not a video, for every reader
    (root / "fight" / "notes.txt").write_text("x")
    write_video(root / "noFight" / "n1.avi", moving_square_frames(n=8, seed=2))
    return root


def test_every_reader_agrees_on_what_a_video_is(tree):
    direct = [p.name for p in videos_in(tree / "fight")]
    recursive = [p.relative_to(tree).as_posix() for p in videos_in(tree, recursive=True)]
    labelled = [(i.path.name, i.label, i.category) for i in labelled_from_folders(tree)]
    assert direct == ["f1.avi", "seq"]
    assert recursive == ["fight/f1.avi", "fight/seq", "noFight/n1.avi"]
    assert labelled == [("f1.avi", 1, "fight"), ("seq", 1, "fight"), ("n1.avi", 0, None)]
    assert [s.meta.name for s in open_videos(tree / "fight")] == ["f1.avi", "seq"]


def test_source_groups_cover_listed_clips_and_pool_the_rest(tree, tmp_path):
    groups = tmp_path / "videos.txt"
    groups.write_text("https://example.org/a\nf1: 0.00 - 0.05\n")
    items = load_labelled(tree, None, groups)
    assert {i.path.name: i.group for i in items} == {"f1.avi": "g000", "seq": "unlisted", "n1.avi": "unlisted"}


def test_an_empty_folder_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="No videos"):
        open_videos(tmp_path / "empty")
    with pytest.raises(DataError, match="No class subfolders"):
        labelled_from_folders(tmp_path / "empty")
