"""The results view's player: a portrait video plays at most PLAYER_MAX_HEIGHT px tall (at the column's width a
360x640 video was taller than a laptop window); a landscape one keeps the column's width."""

from __future__ import annotations

import pytest

from ui.results import PLAYER_MAX_HEIGHT, player_width


@pytest.mark.parametrize(
    "size, width",
    [
        ((360, 640), 270),  # portrait 9:16: 270 px wide is 480 px tall
        ((360, 480), 360),  # portrait 3:4
        ((640, 640), 480),
        ((1920, 1080), 853),  # wider than the column at any laptop width: Streamlit fits it to the column
        ((33, 17), 932),
        ((0, 0), "stretch"),  # size unknown
    ],
)
def test_player_width_keeps_the_player_at_most_the_max_height(size, width):
    w, h = size
    got = player_width(w, h)
    assert got == width
    if got != "stretch":
        assert got * h / w == pytest.approx(PLAYER_MAX_HEIGHT, abs=1)
