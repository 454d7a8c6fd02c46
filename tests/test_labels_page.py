"""Label page through Streamlit's AppTest: label, change, export, import, refuse bad folders."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
import streamlit as st
from conftest import REPO, moving_square_frames, shared_path, write_video
from streamlit.testing.v1 import AppTest

from core.labels import LabelStore

PAGE = str(REPO / "app_pages" / "label.py")


@pytest.fixture(autouse=True)
def fresh_caches():
    """ui.cache keeps the Store in st.cache_resource, which outlives a test's VIGIL_DATA_DIR."""
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.fixture
def clips(tmp_path, monkeypatch) -> Path:
    """Four tiny mp4 clips in tmp/clips (a1, a2 fast motion; b1, b2 slow) and roots = tmp/clips."""
    root = tmp_path / "clips"
    root.mkdir()
    for name, fast in [("a1", True), ("a2", True), ("b1", False), ("b2", False)]:
        frames = moving_square_frames(n=16, size=(96, 128), fast_from=8 if fast else None, seed=len(name))
        write_video(root / f"{name}.mp4", frames)
    monkeypatch.setenv("VIGIL_LABEL_ROOTS", str(root))
    return root


def page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception  # a traceback on screen fails every page test
    return at


def texts(at: AppTest, kind: str) -> list[str]:
    return [e.value for e in getattr(at, kind)]


def add_folder(at: AppTest, folder: Path) -> AppTest:
    at.text_input(key="label_folder").input(str(folder))
    at.button(key="label_add_folder").click()
    return run(at)


def test_label_change_and_export_from_the_page(clips):
    at = page()
    assert any("queue is empty" in t for t in texts(at, "info"))
    at.text_input(key="label_who").input("ann")
    add_folder(at, clips)
    assert any("4 video(s)" in t and "4 new" in t for t in texts(at, "success"))
    assert [m.value for m in at.metric][:3] == ["0 / 4", "0", "0"]

    first = (clips / "a1.mp4").resolve()
    assert "`a1.mp4`" in at.markdown[0].value or any("`a1.mp4`" in m.value for m in at.markdown)
    # the page analysed the shown video with the default model: its suggestion is on screen, unconfirmed
    assert any("Suggested: " in t and "Not a label until you confirm it" in t for t in texts(at, "info"))
    store = LabelStore()
    assert store.current(first) is None

    at.selectbox(key=f"label_cat:{first}").select("fight")
    at.text_input(key=f"label_note:{first}").input("two people shoving")
    at.button(key="label_abnormal").click()
    run(at)
    assert any("a1.mp4 is **abnormal**" in t for t in texts(at, "success"))
    saved = store.current(first)
    assert (saved.label, saved.category, saved.note, saved.who) == (1, "fight", "two people shoving", "ann")
    assert saved.suggested_by == "vigil" and saved.suggested_confidence is not None  # what the model said, kept
    assert [m.value for m in at.metric][:3] == ["1 / 4", "1", "0"]
    assert any("**2 / 4**" in m.value for m in at.markdown)  # moved on to the next video

    rows = list(csv.DictReader(io.StringIO(at.code[0].value)))
    assert rows == [{"video": "a1.mp4", "label": "1", "category": "fight", "group": ""}]

    # back to the first video and change our mind: the old label stays in the history
    at.button(key="label_prev").click()
    run(at)
    assert any("**1 / 4**" in m.value for m in at.markdown)
    assert any("Labelled **abnormal** (fight) by ann" in t for t in texts(at, "success"))
    at.text_input(key="label_who").input("bob")
    at.button(key="label_normal").click()
    run(at)
    hist = store.history(first)
    assert [(h.label, h.who) for h in hist] == [(0, "bob"), (1, "ann")]
    assert [m.value for m in at.metric][:3] == ["1 / 4", "0", "1"]
    at.button(key="label_prev").click()
    run(at)
    table = at.dataframe[0].value
    assert list(table["who"]) == ["bob", "ann"] and list(table["label"]) == ["normal", "abnormal"]
    said = table["model suggested"].iloc[1]  # what the model said when ann labelled: its peak, not a "confidence"
    assert said.startswith(("normal (vigil v", "abnormal (vigil v")) and ", peak 0." in said and "%" not in said, said
    rows = list(csv.DictReader(io.StringIO(at.code[0].value)))
    assert rows == [{"video": "a1.mp4", "label": "0", "category": "", "group": ""}]


def test_suggestion_is_the_peak_against_the_line_and_the_buttons_show_the_label(clips):
    at = page()
    add_folder(at, clips)
    first = (clips / "a1.mp4").resolve()
    (info,) = [t for t in texts(at, "info") if "Suggested:" in t]
    assert "% confident" not in info and "confiden" not in info.lower()
    assert "above the 0.5 line" in info and "peak" in info, info
    assert not any("version" in t and ":" in t for t in texts(at, "info"))  # no internal version string in the box
    (model_caption,) = [c for c in at.caption if c.value.startswith("From model **vigil v")]
    assert ":" in model_caption.help and "Model version" in model_caption.help  # the full string, as a tooltip

    # not labelled yet: neither button is highlighted, whatever the model suggests
    assert (at.button(key="label_normal").proto.type, at.button(key="label_abnormal").proto.type) == (
        "secondary",
        "secondary",
    )
    at.toggle(key="label_advance").set_value(False)
    for key, expected in (("label_normal", ("primary", "secondary")), ("label_abnormal", ("secondary", "primary"))):
        at.button(key=key).click()
        run(at)
        assert LabelStore().current(first) is not None
        got = (at.button(key="label_normal").proto.type, at.button(key="label_abnormal").proto.type)
        assert got == expected, (key, got)


def test_an_avi_plays_from_its_browser_copy(clips):
    write_video(clips / "a0.avi", moving_square_frames(n=16, size=(96, 128), seed=3))
    at = page()
    at.toggle(key="label_auto").set_value(False)
    add_folder(at, clips)  # unscored videos come by name: a0.avi first
    assert any("`a0.avi`" in m.value for m in at.markdown), [m.value for m in at.markdown]
    assert not any("cannot play" in c.value for c in at.caption)
    videos = at.get("video")
    assert len(videos) == 1, videos
    assert not texts(at, "warning")


@pytest.mark.parametrize("auto", [False, True])
def test_a_file_that_is_not_a_readable_video_is_skipped_with_its_reason_and_no_label_buttons(clips, auto):
    """A text file named .avi in the queue: said as skipped with the reason; no promise of a score curve that does
    not exist, no analysis error, and nothing offered to label it."""
    (clips / "a0.avi").write_bytes(b"RIFF not really a video")
    at = page()
    at.toggle(key="label_auto").set_value(auto)
    add_folder(at, clips)  # a0.avi first, by name
    assert any("`a0.avi`" in m.value for m in at.markdown)
    assert at.get("video") == [] and not at.error
    warnings = texts(at, "warning")
    assert len(warnings) == 1 and warnings[0].startswith("Skipped: **a0.avi** cannot be labelled. "), warnings
    assert "not a video this app can read" in warnings[0]
    assert not any("score curve" in w for w in warnings)
    labels = [b.label for b in at.button]
    assert not {"Normal", "Abnormal"} & set(labels) and not any(x.startswith("Accept suggestion") for x in labels)
    at.button(key="label_next").click()
    run(at)  # the next video is a real one: labelled as usual
    assert "Normal" in [b.label for b in at.button] and not texts(at, "warning")


def test_the_player_promises_a_score_curve_only_when_one_is_drawn(monkeypatch):
    """A video that opens but cannot be made playable: the score curve is named only when the page draws one."""
    import ui.label_view as view

    monkeypatch.setattr(view, "playable_path", lambda path: None)
    said: list[str] = []
    monkeypatch.setattr(view.st, "warning", lambda text, **kw: said.append(text))
    view.player(Path("/srv/a.mp4"), curve=False)
    view.player(Path("/srv/a.mp4"), curve=True)
    assert said == [
        "Could not prepare 'a.mp4' for the browser.",
        "Could not prepare 'a.mp4' for the browser; the score curve and thumbnails below still show what the "
        "model saw.",
    ]


def test_folder_outside_the_roots_is_refused_on_the_page(clips, tmp_path):
    outside = tmp_path / "private"
    outside.mkdir()
    write_video(outside / "x.mp4", moving_square_frames(n=12, size=(96, 128)))
    at = add_folder(page(), outside)
    assert any("outside the allowed data folders" in t for t in texts(at, "error"))
    assert LabelStore().items() == []
    assert any("queue is empty" in t for t in texts(at, "info"))


BAD_CSV = {
    "missing column": ("clip,label\na2.mp4,1\n", "no 'video' column"),
    "unknown label": ("video,label\na2.mp4,1\nb1.mp4,sometimes\n", "unknown label 'sometimes'"),
    "path outside folder": ("video,label\na2.mp4,1\n../private.mp4,0\n", "outside the chosen folder"),
}


@pytest.mark.parametrize("case", list(BAD_CSV))
def test_malformed_csv_import_on_the_page_changes_nothing(clips, tmp_path, case):
    write_video(tmp_path / "private.mp4", moving_square_frames(n=12, size=(96, 128)))
    good = clips / "good.csv"
    good.write_text("video,label,category,group\na1.mp4,abnormal,fight,g1\nb2.mp4,normal,,g2\n")
    at = page()
    at.text_input(key="label_import_path").input(str(good))
    at.button(key="label_import").click()
    run(at)
    assert any("Imported 2 row(s): 2 label(s) changed, 2 new" in t for t in texts(at, "success"))
    store = LabelStore()
    before = (store.export_csv(), [(i.path, i.group) for i in store.items()], store.progress())

    text, message = BAD_CSV[case]
    bad = clips / "bad.csv"
    bad.write_text(text)
    at.text_input(key="label_import_path").input(str(bad))
    at.button(key="label_import").click()
    run(at)
    errors = texts(at, "error")
    assert any(message in e and "nothing changed" in e for e in errors) or any(message in e for e in errors), errors
    assert (store.export_csv(), [(i.path, i.group) for i in store.items()], store.progress()) == before


def test_uploaded_csv_is_imported_relative_to_the_named_folder(clips):
    at = page()
    at.file_uploader(key="label_import_file").set_value(("mine.csv", b"video,label\nb1.mp4,0\na2.mp4,1\n", "text/csv"))
    at.text_input(key="label_import_folder").input(str(clips))
    at.button(key="label_import").click()
    run(at)
    assert [(i.name, i.label.label) for i in LabelStore().labelled()] == [("a2.mp4", 1), ("b1.mp4", 0)]


def test_csv_on_the_server_outside_the_roots_is_not_read(clips, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("video,label\nx,1\n")
    at = page()
    at.text_input(key="label_import_path").input(str(secret))
    at.button(key="label_import").click()
    run(at)
    assert any("outside the allowed data folders" in t for t in texts(at, "error"))
    assert LabelStore().items() == []


@pytest.mark.parametrize("exists", [True, False])
def test_symlinked_csv_inside_the_roots_pointing_outside_is_not_read(clips, tmp_path, exists):
    secret = tmp_path / "secret.csv"
    if exists:
        secret.write_text("video,label\nTOP-SECRET-ROW,1\n")
    (clips / "looks-local.csv").symlink_to(secret)
    at = page()
    at.text_input(key="label_import_path").input(str(clips / "looks-local.csv"))
    at.button(key="label_import").click()
    run(at)
    errors = texts(at, "error")
    assert any("outside the allowed data folders" in t for t in errors), errors  # same words, exists or not
    assert not any("TOP-SECRET" in t for t in errors)
    assert LabelStore().items() == []


# --- training from the page ---------------------------------------------------------------------------------
def fight_sample(fights: Path, per_class: int = 4) -> list[tuple[str, int, str]]:
    """(relative path, label, group) for ``per_class`` fight and noFight clips, each from another source
    video (videos.txt), so that grouped cross-validation has something to split."""
    picked: dict[int, list[tuple[str, int, str]]] = {0: [], 1: []}
    group = ""
    for line in (fights / "videos.txt").read_text().splitlines():
        line = line.strip()
        if line.startswith("http"):
            group, used = line, set()
            continue
        clip = line.split(":")[0].strip()
        label, sub = (0, "noFight") if clip.startswith("nofi") else (1, "fight")
        path = fights / sub / f"{clip}.mp4"
        if clip and path.exists() and len(picked[label]) < per_class and label not in used:
            picked[label].append((f"{sub}/{clip}.mp4", label, group))
            used.add(label)
    assert all(len(v) == per_class for v in picked.values()), picked
    return picked[1] + picked[0]


def wait_for_training(at: AppTest, timeout: float = 180.0) -> AppTest:
    import time

    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        run(at)
        if any("trained and registered" in t for t in texts(at, "success")) or any(
            "failed" in t for t in texts(at, "error")
        ):
            return at
        time.sleep(0.5)
    raise AssertionError("training did not finish in time")


@pytest.mark.slow
def test_training_from_the_page_registers_a_new_version_with_metrics(monkeypatch, shared_models, tmp_path):
    from core.registry import get_spec, list_models

    fights = shared_path("data", "fights")
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(shared_models))
    monkeypatch.setenv("VIGIL_LABEL_ROOTS", str(fights))
    sample = fight_sample(fights)
    body = "video,label,category,group\n" + "".join(f"{v},{y},{'fight' if y else ''},{g}\n" for v, y, g in sample)
    at = page()
    at.toggle(key="label_auto").set_value(False)  # keep the test on training, not on per-video analysis
    at.file_uploader(key="label_import_file").set_value(("fights.csv", body.encode(), "text/csv"))
    at.text_input(key="label_import_folder").input(str(fights))
    at.button(key="label_import").click()
    run(at)
    assert LabelStore().progress().__dict__ == {"total": 8, "labelled": 8, "abnormal": 4, "normal": 4}

    # the logistic head: the same page path as MIL (embed, grouped CV, card, registry) in seconds, not minutes
    at.selectbox(key="label_train_kind").select("movinet-logistic")
    at.text_input(key="label_train_base").input("fightdet")
    run(at)
    assert any("Will be saved as **fightdet-v1**" in c.value for c in at.caption)
    # 4 of each: the page says before and after that such a detector is a rough start
    assert any("4 abnormal and 4 normal videos make a weak detector" in w for w in texts(at, "warning"))
    at.button(key="label_train").click()
    wait_for_training(at)
    assert not texts(at, "error"), texts(at, "error")
    assert any("Trained on 4 abnormal and 4 normal videos" in w for w in texts(at, "warning")), texts(at, "warning")

    trained = Path(os.environ["VIGIL_TRAINED_DIR"])
    card = trained / "fightdet-v1.vigil.json"
    assert card.is_file() and (trained / "fightdet-v1.npz").is_file()
    spec = get_spec("fightdet-v1")
    assert spec.kind == "movinet-logistic"
    assert (spec.metrics["n_videos"], spec.metrics["n_abnormal"], spec.metrics["n_normal"]) == (8, 4, 4)
    auc = spec.metrics["cv_auc"]
    assert auc is not None and 0.0 <= auc <= 1.0 and spec.metrics["cv_grouped"]  # 4 sources per class: grouped CV
    shown = {m.label: m.value for m in at.metric}
    assert shown["Cross-validated AUC"] == ("—" if auc is None else f"{auc:.3f}")
    assert shown["Videos"] == "8"
    assert [s.available for s in list_models() if s.spec.name == "fightdet-v1"] == [True]
    # selectable for suggestions right away (and so on Analyze and Live, which read the same registry)
    assert at.selectbox(key="label_model").value == "fightdet-v1"

    # a second run makes v2 and keeps v1
    run(at)
    assert any("Will be saved as **fightdet-v2**" in c.value for c in at.caption)


def test_scoring_the_queue_puts_the_least_certain_video_first(tmp_path, monkeypatch):
    # still clips sort first by name but score near 0 (sure: normal); the bursts score nearer 0.5
    folder = tmp_path / "mixed"
    folder.mkdir()
    for i, (name, fast) in enumerate([("a_still", None), ("b_burst", 8), ("c_still", None), ("d_burst", 6)]):
        write_video(folder / f"{name}.mp4", moving_square_frames(n=16, size=(96, 128), fast_from=fast, seed=i))
    monkeypatch.setenv("VIGIL_LABEL_ROOTS", str(folder))
    at = page()
    at.toggle(key="label_auto").set_value(False)
    add_folder(at, folder)
    assert any("**1 / 4** · `a_still.mp4`" in m.value for m in at.markdown)
    assert any("No suggestion yet" in c.value for c in at.caption)
    at.selectbox(key="label_model").set_value("motion")  # the motion scores of these bursts sit near 0.5
    at.button(key="label_score").click()
    run(at)
    assert any("Scored 4 video(s)" in t for t in texts(at, "success"))
    items = LabelStore().items("motion", "1")
    scores = {i.name: i.suggestion.score for i in items}
    expected = sorted(scores, key=lambda n: abs(scores[n] - 0.5))
    assert expected[0] != "a_still.mp4", scores  # otherwise this test could not tell the orders apart
    assert any(f"**1 / 4** · `{expected[0]}`" in m.value for m in at.markdown)
    # its score curve reads as on Analyze: a fixed 0..1 axis (a self-scaling one made 0.05 look like a spike)
    at.button(key="label_analyse").click()
    run(at)
    (chart,) = at.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    domains = [
        layer["encoding"]["y"].get("scale", {}).get("domain")
        for layer in spec["layer"]
        if "y" in layer.get("encoding", {})
    ]
    assert [0, 1] in domains, domains
    at.button(key="label_next").click()
    run(at)
    assert any(f"**2 / 4** · `{expected[1]}`" in m.value for m in at.markdown)


def fake_weights(folder: Path, *files: str) -> Path:
    """A VIGIL_MODELS_DIR holding empty stand-ins: the trainer's availability looks for the file, not its bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        (folder / f).write_bytes(b"")
    return folder


def import_two(at: AppTest, clips: Path, body: bytes = b"video,label\na1.mp4,1\na2.mp4,1\n") -> AppTest:
    at.toggle(key="label_auto").set_value(False)  # keep these tests on training, not on per-video analysis
    at.file_uploader(key="label_import_file").set_value(("two.csv", body, "text/csv"))
    at.text_input(key="label_import_folder").input(str(clips))
    at.button(key="label_import").click()
    return run(at)


def test_a_training_error_is_a_message_not_a_traceback(clips, tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(fake_weights(tmp_path / "models", "movinet_a0_stream_int8.tflite")))
    at = page()
    at.file_uploader(key="label_import_file").set_value(("two.csv", b"video,label\na1.mp4,1\na2.mp4,1\n", "text/csv"))
    at.text_input(key="label_import_folder").input(str(clips))
    at.button(key="label_import").click()
    run(at)
    at.selectbox(key="label_train_kind").select("movinet-logistic")
    at.button(key="label_train").click()
    wait_for_training(at, timeout=60)
    assert any("failed" in e and "needs both abnormal and normal videos" in e for e in texts(at, "error"))
    assert list(Path(os.environ["VIGIL_TRAINED_DIR"]).glob("*.vigil.json")) == []  # nothing registered


def _metrics_view() -> None:
    import streamlit as st

    from ui.label_view import metrics

    metrics(st.session_state["m"])


@pytest.mark.parametrize("auc, warned", [(0.25, True), (0.5, True), (0.81, False), (None, False)])
def test_a_model_no_better_than_chance_is_called_so(auc, warned):
    at = AppTest.from_function(_metrics_view)
    at.session_state["m"] = {"cv_auc": auc, "n_videos": 4, "n_abnormal": 2, "n_normal": 2}
    at.run()
    assert not at.exception
    assert any("no better than chance" in w.value for w in at.warning) is warned


def test_without_weights_every_kind_says_what_is_missing_and_train_is_disabled(clips):
    at = import_two(page(), clips)  # VIGIL_MODELS_DIR is unset (conftest): no MoViNet, no pose weights
    kind = at.selectbox(key="label_train_kind")
    assert kind.value == "movinet-mil"  # nothing can run: the first kind, marked as such
    assert kind.options and all(o.endswith("— not available") for o in kind.options), kind.options
    warnings = texts(at, "warning")
    reason = [w for w in warnings if "cannot be trained here" in w]
    assert len(reason) == 1, warnings
    assert "movinet_a0_stream_int8.tflite" in reason[0] and "VIGIL_MODELS_DIR" in reason[0]
    assert str(REPO / "models") in reason[0] and "Available now: none" in reason[0]
    assert "http" not in reason[0] and "Errno" not in reason[0]
    assert at.button(key="label_train").disabled
    assert not texts(at, "error")


def test_the_default_kind_is_one_that_can_run_here(clips, tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(fake_weights(tmp_path / "models", "yolo11n-pose_int8_640.tflite")))
    at = import_two(page(), clips)
    kind = at.selectbox(key="label_train_kind")
    assert kind.value == "pose-lstm-ae"  # the only kind whose weights are here
    assert [o for o in kind.options if not o.endswith("— not available")] == [
        o for o in kind.options if o.startswith("pose-lstm-ae")
    ]
    assert not any("cannot be trained here" in w for w in texts(at, "warning"))
    assert not at.button(key="label_train").disabled
    kind.select("movinet-mil")
    run(at)
    assert at.button(key="label_train").disabled
    assert any(
        "**movinet-mil** cannot be trained here" in w and str(tmp_path / "models") in w for w in texts(at, "warning")
    )
