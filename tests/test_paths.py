"""Server paths a visitor names (Live file, Label folders, CSV paths) stay inside the allowed roots."""

from __future__ import annotations

import os

import pytest
from conftest import moving_square_frames, write_video

from core.errors import DataError
from core.live import LiveProcessor, ServerSource, check_live_uri
from core.paths import ForbiddenPathError, ServerPaths, server_paths


@pytest.fixture
def layout(tmp_path):
    """root/ (allowed) with a real clip, a link to a folder outside, a link to a file outside; outside/ beside it."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "videos").mkdir(parents=True)
    outside.mkdir()
    clip = write_video(root / "videos" / "clip.avi", moving_square_frames(n=12), fps=10)
    secret = write_video(outside / "secret.avi", moving_square_frames(n=12), fps=10)
    os.symlink(outside, root / "linked-folder")
    os.symlink(secret, root / "videos" / "linked.avi")
    return root, outside, clip, secret


def refusal_shape(err: Exception, text: str) -> str:
    return str(err).replace(text, "<path>")


def test_inside_is_accepted_and_resolved(layout):
    root, _, clip, _ = layout
    policy = ServerPaths.of([root])
    assert policy.check(str(clip), "file") == clip.resolve()
    assert policy.check(str(root / "videos" / ".." / "videos"), "folder") == (root / "videos").resolve()


@pytest.mark.parametrize(
    "typed",
    [
        "{root}/../outside/secret.avi",  # ..
        "{root}/videos/../../outside",
        "{outside}/secret.avi",  # absolute, outside
        "/etc/passwd",
        "{root}/linked-folder",  # a symlinked folder inside the root pointing outside
        "{root}/linked-folder/secret.avi",
        "{root}/videos/linked.avi",  # a symlinked file inside the root pointing outside
        "~nosuchuser-xyz/x.mp4",
        "{root}/videos/clip.avi\0",
    ],
)
def test_outside_paths_are_refused(layout, typed):
    root, outside, _, _ = layout
    text = typed.format(root=root, outside=outside)
    with pytest.raises(ForbiddenPathError):
        ServerPaths.of([root]).check(text)


def test_refusal_reads_the_same_whether_the_path_exists_or_not(layout):
    root, outside, _, secret = layout
    policy = ServerPaths.of([root])
    shapes = set()
    for text in (
        str(secret),
        str(outside / "missing.avi"),
        "/etc/passwd",
        "/etc/nope",
        str(root / "linked-folder" / "x"),
    ):
        with pytest.raises(ForbiddenPathError) as err:
            policy.check(text, "file")
        shapes.add(refusal_shape(err.value, text))
    assert len(shapes) == 1


def test_missing_inside_the_root_is_a_plain_not_found(layout):
    root, *_ = layout
    with pytest.raises(DataError) as err:
        ServerPaths.of([root]).check(str(root / "nope.avi"), "file")
    assert not isinstance(err.value, ForbiddenPathError)


def test_roots_come_from_the_environment(layout, monkeypatch, vigil_env):
    root, outside, *_ = layout
    monkeypatch.setenv("VIGIL_LABEL_ROOTS", f"{root}{os.pathsep}{outside}")
    assert server_paths().roots == (root.resolve(), outside.resolve())
    monkeypatch.delenv("VIGIL_LABEL_ROOTS")
    assert vigil_env.resolve() in server_paths().roots  # default: the data folder


def test_live_file_source_uses_the_policy(layout, monkeypatch):
    root, outside, clip, secret = layout
    monkeypatch.setenv("VIGIL_LABEL_ROOTS", str(root))
    assert check_live_uri(str(clip)) == str(clip.resolve())
    for text in (str(secret), str(root / "videos" / "linked.avi"), f"{root}/../outside/secret.avi"):
        with pytest.raises(ForbiddenPathError):
            ServerSource(text, LiveProcessor(scorer=None, model="m"))  # type: ignore[arg-type]
    with pytest.raises(ForbiddenPathError) as a:
        check_live_uri(str(secret))
    with pytest.raises(ForbiddenPathError) as b:
        check_live_uri(str(outside / "missing.avi"))
    assert refusal_shape(a.value, str(secret)) == refusal_shape(b.value, str(outside / "missing.avi"))


def test_label_folder_does_not_follow_a_symlinked_file_outside(layout, monkeypatch):
    from core.labels import LabelStore

    root, outside, clip, secret = layout
    monkeypatch.setenv("VIGIL_LABEL_ROOTS", str(root))
    labels = LabelStore()
    _, found, added = labels.add_folder(root / "videos")  # holds clip.avi and linked.avi -> outside/secret.avi
    assert (found, added) == (1, 1)
    assert [item.path for item in labels.items()] == [clip.resolve()]
    with pytest.raises(ForbiddenPathError):
        labels.add_folder(root / "linked-folder")
