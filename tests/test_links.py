"""The yt-dlp link path, against an HTTP server on 127.0.0.1 (no internet needed or used)."""

import socket

import pytest
from conftest import QuietHandler, allow_private_host, http_server

from core import errors
from core.config import SourceLimits
from core.engine import analyze
from core.sources import open_source


@pytest.fixture
def site(tmp_path, make_video):
    root = tmp_path / "site"
    root.mkdir()
    clip = make_video("clip.mp4", n=60, fps=10, fast_from=30, fast_to=36)
    (root / "clip.mp4").write_bytes(clip.read_bytes())
    (root / "page.html").write_text("<html><body><p>No video here, just words.</p></body></html>")
    with http_server(root) as url:
        yield url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_direct_video_link_downloads_with_progress_and_is_cached(site, vigil_env):
    seen = []
    src = open_source(f"{site}/clip.mp4", progress=lambda f, msg: seen.append(f))
    assert src.meta.frame_count == 60
    assert src.path.parent == vigil_env / "downloads"
    assert seen and seen[-1] == 1.0
    gets = [h for h in QuietHandler.hits if h == "/clip.mp4"]
    again = open_source(f"{site}/clip.mp4")
    assert again.path == src.path
    assert [h for h in QuietHandler.hits if h == "/clip.mp4"] == gets  # served from the cache


def test_link_analysis_end_to_end(site):
    rec = analyze(f"{site}/clip.mp4")
    assert rec.source_uri == f"{site}/clip.mp4"
    assert len(rec.track) == 60
    assert 30 <= rec.moments[0].frame <= 37


def test_page_without_video(site):
    with pytest.raises(errors.NotAVideoLinkError, match="No video"):
        open_source(f"{site}/page.html")


def test_dead_link_404(site):
    with pytest.raises(errors.UnavailableVideoError, match="404"):
        open_source(f"{site}/gone.mp4")


def test_unreachable_host():
    port = free_port()
    with allow_private_host(f"127.0.0.1:{port}"), pytest.raises(errors.NetworkError) as err:
        open_source(f"http://127.0.0.1:{port}/clip.mp4", limits=SourceLimits(timeout=3))
    # a next step, and nothing of the network (no port, no "refused")
    assert str(err.value) == (
        "Could not fetch this link. Check that it opens in a browser, is public and the address is complete."
    )


def test_too_long_for_the_limit_is_refused_and_not_kept(site, vigil_env):
    with pytest.raises(errors.TooLongError, match="limit"):
        open_source(f"{site}/clip.mp4", limits=SourceLimits(max_duration=2.0))
    assert not any((vigil_env / "downloads").glob("*.mp4"))


def test_too_large_for_the_limit_is_refused(site, vigil_env):
    with pytest.raises(errors.TooLongError):
        open_source(f"{site}/clip.mp4", limits=SourceLimits(max_bytes=2048))
    assert not any((vigil_env / "downloads").glob("*.mp4"))


def test_cancel_stops_a_download_at_its_next_block_and_keeps_nothing(site, vigil_env):
    asked = []

    def progress(fraction, msg):
        asked.append(fraction)  # the user presses Cancel as soon as the download shows progress

    with pytest.raises(errors.AnalysisCancelled, match="nothing was saved"):
        open_source(f"{site}/clip.mp4", progress=progress, cancelled=lambda: bool(asked))
    assert asked and asked[-1] < 1.0  # stopped before "Download finished"
    downloads = vigil_env / "downloads"
    assert not (downloads.exists() and any(downloads.iterdir()))  # no file, no half-done folder
    again = open_source(f"{site}/clip.mp4")  # nothing cached from the cancelled try: a new download works
    assert again.meta.frame_count == 60


def test_cancel_pressed_while_a_link_downloads_ends_the_job_cancelled_with_nothing_stored(site, vigil_env):
    from core.config import EventConfig, ScoringConfig
    from core.registry import load_scorer
    from core.store import Store
    from ui.analysis_runner import open_and_analyze
    from ui.jobs import JobRegistry

    reg, scorer, ids = JobRegistry(), load_scorer("motion"), []

    def work(report, cancelled):
        def pressed_cancel_on_download(fraction, text):
            report(fraction, text)
            if text.startswith("Downloading"):
                reg.cancel("alice", ids[0])  # the Cancel button, while the bar says "Downloading"

        return open_and_analyze(
            f"{site}/clip.mp4",
            "motion",
            ScoringConfig(),
            EventConfig(),
            label="clip.mp4",
            scorer=scorer,
            store=Store(),
            owner="alice",
            report=pressed_cancel_on_download,
            cancelled=cancelled,
            link=True,
        )

    with allow_private_host(site.split("//")[1]):
        ids.append(reg.start("alice", "tab", "clip.mp4", work))
        assert reg.wait("alice", ids[0], 30)
    (view,) = reg.take_finished("alice", "tab")
    assert view.state == "cancelled" and view.record is None
    assert Store().list() == []
    downloads = vigil_env / "downloads"
    assert not (downloads.exists() and any(downloads.iterdir()))
