"""Video sources: files, frame folders, uploads, resampling, metadata and every bad input."""

import tracemalloc

import cv2
import numpy as np
import pytest
from conftest import moving_square_frames, write_video

from core import errors
from core.sources import FrameFolder, VideoFile, check_url, open_source, save_upload


def test_vtest_metadata_and_resampling(vtest):
    src = open_source(vtest)
    m = src.meta
    assert (m.width, m.height, m.frame_count, m.codec) == (480, 360, 795, "h264")
    assert m.fps == pytest.approx(10.0)
    assert m.duration == pytest.approx(79.5)
    frames = list(src.frames(fps=5, max_side=320))
    assert len(frames) == pytest.approx(398, abs=2)  # every second native frame
    assert [f.index for f in frames[:3]] == [0, 2, 4]
    assert frames[1].t == pytest.approx(0.2)
    assert max(frames[0].image.shape[:2]) == 320
    assert len(src.sha256) == 64


def test_resample_from_25_to_10_fps_keeps_time_uniform(make_video):
    src = open_source(make_video("c25.avi", fps=25, n=50))
    ts = [f.t for f in src.frames(fps=10)]
    assert len(ts) == 20
    assert np.allclose(np.diff(ts), 0.1, atol=0.021)  # nearest native frames of a 25 fps clip


def test_ucsd_frame_folder(ucsd):
    src = open_source(ucsd / "testing" / "frames" / "01")
    assert isinstance(src, FrameFolder)
    assert src.meta.frame_count == 180 and src.meta.fps == 10.0
    assert (src.meta.width, src.meta.height) == (360, 240)
    first = next(src.frames())
    assert first.index == 0 and first.t == 0.0 and first.image.shape == (240, 360, 3)
    got = src.read_at([0, 179, 500])
    assert sorted(got) == [0, 179]


def test_same_content_same_hash_different_content_different_hash(tmp_path, make_video):
    a = make_video("a.avi", n=10)
    b = tmp_path / "copy.avi"
    b.write_bytes(a.read_bytes())
    c = make_video("c.avi", n=10, seed=3)
    assert open_source(a).sha256 == open_source(b).sha256 != open_source(c).sha256


def test_upload_bytes_are_kept_content_addressed(make_video, vigil_env):
    data = make_video("up.avi", n=10).read_bytes()
    src = open_source(data, name="up.avi")
    assert src.path.parent == vigil_env / "videos"
    assert src.path.name.startswith(src.sha256)
    assert open_source(data, name="again.avi").path == src.path


# --- bad input: each raises one typed error with a readable message --------------------------------
def test_text_renamed_mp4(tmp_path):
    p = tmp_path / "notes.mp4"
    p.write_text("this is not a video\n" * 50)
    with pytest.raises(errors.NotAVideoError, match="not a video") as err:
        open_source(p)
    # the next step, not only what is wrong
    assert str(err.value) == (
        "'notes.mp4' is not a video this app can read. Pick a video file (mp4, avi, mkv, mov…); if it plays "
        "elsewhere, it may be damaged or use a codec this server cannot decode."
    )


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.mp4"
    p.touch()
    with pytest.raises(errors.EmptyFileError, match="empty"):
        open_source(p)
    with pytest.raises(errors.EmptyFileError):
        save_upload(b"", "empty.mp4")


def test_truncated_mp4_is_refused_cleanly(tmp_path, make_video):
    whole = make_video("whole.mp4", n=40).read_bytes()
    p = tmp_path / "cut.mp4"
    p.write_bytes(whole[: len(whole) // 3])
    # OpenCV's mp4 writer puts the index (moov atom) at the end: a cut file has none and is refused at once
    with pytest.raises(errors.NotAVideoError, match="not a video"):
        open_source(p)


def test_truncated_avi_streams_what_is_there(tmp_path, make_video):
    whole = make_video("whole.avi", n=60).read_bytes()
    p = tmp_path / "cut.avi"
    p.write_bytes(whole[: len(whole) // 2])
    src = open_source(p)
    n = len(list(src.frames()))
    assert 2 <= n < 60


@pytest.mark.parametrize("n_frames", [1])
def test_single_frame_video(tmp_path, n_frames):
    p = write_video(tmp_path / "one.avi", moving_square_frames(n=n_frames))
    with pytest.raises(errors.TooFewFramesError, match="single frame"):
        open_source(p)


def test_video_with_zero_frames(tmp_path):
    p = tmp_path / "zero.avi"
    vw = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 64))
    vw.release()
    with pytest.raises((errors.NotAVideoError, errors.EmptyFileError, errors.TooFewFramesError)):
        open_source(p)


def test_still_image(tmp_path):
    p = tmp_path / "photo.jpg"
    cv2.imwrite(str(p), moving_square_frames(n=1)[0])
    with pytest.raises(errors.StillImageError, match="still image"):
        open_source(p)
    with pytest.raises(errors.StillImageError):
        open_source(p.read_bytes(), name="photo.jpg")


def test_still_image_renamed_to_mp4(tmp_path):
    p = tmp_path / "photo.mp4"
    ok, buf = cv2.imencode(".jpg", moving_square_frames(n=1)[0])
    p.write_bytes(buf.tobytes())
    with pytest.raises(errors.SourceError):
        open_source(p)


def test_folder_with_no_images(tmp_path):
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(errors.NotAVideoError, match="no video"):
        open_source(tmp_path / "empty_dir")


def test_missing_file(tmp_path):
    with pytest.raises(errors.SourceError, match="not found"):
        open_source(tmp_path / "nope.mp4")


@pytest.mark.parametrize(
    "url, match",
    [
        ("ftp://example.org/v.mp4", "http:// or https://"),
        ("rtmp://host/live", "http:// or https://"),
        ("not a url at all", "That is not a link"),
        ("file:///etc/passwd", "local file"),
        ("/home/me/video.mp4", "local file"),
        ("./video.mp4", "local file"),
        ("clip.avi", "local file"),
        ("C:\\Users\\me\\video.mp4", "local file"),
        ("", "Paste a link"),
        ("https://", "no host"),
    ],
)
def test_bad_urls(url, match):
    with pytest.raises(errors.BadURLError, match=match):
        check_url(url)


def test_4k_clip_streams_in_bounded_memory(tmp_path):
    h, w = 2160, 3840
    frames = [np.full((h, w, 3), (i * 20) % 255, np.uint8) for i in range(12)]
    p = write_video(tmp_path / "uhd.avi", frames, fps=10)
    del frames
    src = VideoFile(p)
    assert (src.meta.width, src.meta.height) == (w, h)
    tracemalloc.start()
    n = 0
    for f in src.frames(fps=10, max_side=640):
        assert max(f.image.shape[:2]) == 640
        n += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert n == 12
    one_uhd_frame = h * w * 3
    assert peak < 3 * one_uhd_frame  # never more than a couple of full frames alive at once


@pytest.mark.parametrize(
    "typed, url",
    [
        ("youtube.com/watch?v=abc", "https://youtube.com/watch?v=abc"),
        ("www.example.org", "https://www.example.org"),
        ("  cams.example.co.uk:8080/clip.mp4 ", "https://cams.example.co.uk:8080/clip.mp4"),
        ("http://example.org/v.mp4", "http://example.org/v.mp4"),
    ],
)
def test_a_link_typed_without_its_scheme_is_taken_as_https(typed, url):
    assert check_url(typed) == url


def test_upload_problem_refuses_still_images_by_name_and_tries_everything_else():
    from core.sources import upload_problem

    assert upload_problem("Photo.PNG").startswith("'Photo.PNG' is a still image, not a video. Upload a video file (")
    assert "mp4" in upload_problem("a.jpg")
    assert upload_problem("yard.mp4") is None and upload_problem("export.dav") is None  # content decides
