"""Label store: queue, history, suggestions, CSV in/out, allowed roots, model version names."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import moving_square_frames, write_video

from core.dataset import read_labels_csv, videos_in
from core.errors import DataError, NotFoundError
from core.labels import (
    ForbiddenFolderError,
    LabelStore,
    Suggestion,
    TrainingJob,
    allowed_roots,
    check_folder,
    next_version_name,
    suggest,
    training_items,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clips(tmp_path, monkeypatch) -> Path:
    """tmp/clips with a/, b/ subfolders of tiny videos and one numbered-image folder; roots = tmp/clips."""
    root = tmp_path / "clips"
    for sub, names in {"a": ["a1.avi", "a2.avi"], "b": ["b1.avi", "b2.avi"]}.items():
        (root / sub).mkdir(parents=True)
        for i, n in enumerate(names):
            write_video(root / sub / n, moving_square_frames(n=12, size=(96, 128), seed=i))
    frames = root / "seq"
    frames.mkdir()
    import cv2

    for i, img in enumerate(moving_square_frames(n=3, size=(96, 128))):
        cv2.imwrite(str(frames / f"{i:03d}.jpg"), img)
    (root / "notes.txt").write_text("not a video")
    monkeypatch.setenv("VIGIL_LABEL_ROOTS", str(root))
    return root


@pytest.fixture
def labels() -> LabelStore:
    return LabelStore()


def snapshot(store: LabelStore) -> tuple:
    """Everything an import could change: videos, their groups, current labels and full history."""
    items = store.items()
    hist = {str(i.path): [(h.label, h.category, h.at) for h in store.history(i.path)] for i in items}
    return [(str(i.path), i.group) for i in items], hist, store.export_csv()


# --- roots and folders ----------------------------------------------------------------------------------
def test_default_roots_are_the_data_dir_and_shared_data(monkeypatch, vigil_env):
    monkeypatch.delenv("VIGIL_LABEL_ROOTS", raising=False)
    roots = allowed_roots()
    assert roots[0] == vigil_env.resolve()
    shared = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
    assert (shared.resolve() in roots) == shared.is_dir()


def test_env_roots_are_split_on_pathsep(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_LABEL_ROOTS", f"{tmp_path / 'x'}{os.pathsep}{tmp_path / 'y'}")
    assert allowed_roots() == [(tmp_path / "x").resolve(), (tmp_path / "y").resolve()]


def test_folder_outside_roots_is_refused_and_nothing_is_added(clips, tmp_path, labels):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    write_video(outside / "x.avi", moving_square_frames(n=12, size=(96, 128)))
    with pytest.raises(ForbiddenFolderError, match="outside the allowed data folders"):
        labels.add_folder(outside)
    with pytest.raises(ForbiddenFolderError):
        labels.add_folder(clips / ".." / "elsewhere")  # '..' must not climb out of a root
    assert labels.items() == []


def test_symlink_out_of_a_root_is_refused(clips, tmp_path):
    outside = tmp_path / "secret"
    outside.mkdir()
    (clips / "link").symlink_to(outside)
    with pytest.raises(ForbiddenFolderError):
        check_folder(clips / "link")


def test_missing_folder_inside_roots_is_a_clear_error(clips):
    with pytest.raises(DataError, match="Folder not found"):
        check_folder(clips / "nope")


def test_scan_finds_videos_and_frame_folders_recursively(clips):
    found = videos_in(clips, recursive=True)
    assert [p.relative_to(clips).as_posix() for p in found] == ["a/a1.avi", "a/a2.avi", "b/b1.avi", "b/b2.avi", "seq"]


# --- labels and history -----------------------------------------------------------------------------------
def test_label_change_keeps_history_and_progress_counts(clips, labels):
    folder, found, added = labels.add_folder(clips)
    assert (folder, found, added) == (clips.resolve(), 5, 5)
    assert labels.add_folder(clips)[2] == 0  # re-adding queues nothing twice
    a1, b1 = clips / "a" / "a1.avi", clips / "b" / "b1.avi"
    sugg = Suggestion("motion", "1", 0.8, "an-id")
    labels.set_label(a1, 1, "ann", category="Fight", note=" first look ", suggestion=sugg, now=T0)
    labels.set_label(b1, 0, "ann", now=T0)
    assert labels.progress().__dict__ == {"total": 5, "labelled": 2, "abnormal": 1, "normal": 1}

    labels.set_label(a1, 0, "bob", note="it was a hug", now=datetime(2024, 5, 2, tzinfo=UTC))
    hist = labels.history(a1)
    assert [(h.label, h.who, h.category, h.note) for h in hist] == [
        (0, "bob", None, "it was a hug"),
        (1, "ann", "fight", "first look"),
    ]
    assert hist[1].suggested_by == "motion" and hist[1].suggested_label == 1
    assert hist[1].suggested_confidence == pytest.approx(0.8)
    assert hist[1].at == "2024-05-01T12:00:00+00:00"
    assert hist[0].suggested_label is None  # no model was asked the second time
    assert labels.current(a1).label == 0
    assert labels.progress().__dict__ == {"total": 5, "labelled": 2, "abnormal": 0, "normal": 2}


@pytest.mark.parametrize(
    ("label", "category", "message"),
    [(2, None, "0 \\(normal\\) or 1"), (1, "party", "Unknown category 'party'")],
)
def test_bad_label_values_are_refused(clips, labels, label, category, message):
    labels.add_folder(clips)
    with pytest.raises(DataError, match=message):
        labels.set_label(clips / "a" / "a1.avi", label, "ann", category=category)
    assert labels.history(clips / "a" / "a1.avi") == []


def test_labelling_a_video_not_in_the_queue_is_refused(clips, labels):
    with pytest.raises(NotFoundError):
        labels.set_label(clips / "a" / "a1.avi", 1, "ann")


# --- CSV --------------------------------------------------------------------------------------------------
def test_export_is_the_trainer_format_relative_to_the_root(clips, labels):
    labels.add_folder(clips)
    labels.set_label(clips / "b" / "b2.avi", 0, "ann")
    labels.set_label(clips / "a" / "a1.avi", 1, "ann", category="theft")
    text = labels.export_csv(root=clips)
    assert text == "video,label,category,group\na/a1.avi,1,theft,\nb/b2.avi,0,,\n"
    absolute = list(csv.DictReader(io.StringIO(labels.export_csv())))
    assert [r["video"] for r in absolute] == [str((clips / "a" / "a1.avi").resolve()), str(clips / "b" / "b2.avi")]


def test_import_round_trip_and_reimport_changes_nothing(clips, labels):
    text = "video,label,category,group\na/a1.avi,abnormal,fight,g1\na/a2.avi,1,,g1\nb/b1.avi,normal,,g2\n"
    res = labels.import_csv(text, clips, "ann", now=T0)
    assert (res.rows, res.changed, res.added_videos) == (3, 3, 3)
    assert labels.export_csv(root=clips) == (
        "video,label,category,group\na/a1.avi,1,fight,g1\na/a2.avi,1,,g1\nb/b1.avi,0,,g2\n"
    )
    assert labels.history(clips / "a" / "a1.avi")[0].origin == "import"
    again = labels.import_csv(text, clips, "ann")
    assert (again.rows, again.changed, again.added_videos) == (3, 0, 0)
    assert len(labels.history(clips / "a" / "a1.avi")) == 1
    flipped = labels.import_csv("video,label\na/a1.avi,0\n", clips, "bob")
    assert flipped.changed == 1
    assert [h.label for h in labels.history(clips / "a" / "a1.avi")] == [0, 1]


MALFORMED = {
    "missing column": ("file,label\na/a1.avi,1\n", "no 'video' column"),
    "missing label column": ("video,category\na/a1.avi,fight\n", "no 'label' column"),
    "unknown label": ("video,label\na/a2.avi,1\nb/b1.avi,maybe\n", "row 3: unknown label 'maybe'"),
    "path outside folder": ("video,label\na/a2.avi,1\n../outside.avi,0\n", "outside the chosen folder"),
    "absolute path outside folder": ("video,label\n{outside},0\n", "outside the chosen folder"),
    "missing file": ("video,label\na/nope.avi,1\n", "'a/nope.avi' not found"),
    "unknown category": ("video,label,category\na/a2.avi,1,riot\n", "unknown category 'riot'"),
    "listed twice": ("video,label\na/a2.avi,1\na/a2.avi,0\n", "already listed on row 2"),
    "empty file": ("", "is empty"),
    "header only": ("video,label\n", "no rows"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_import_changes_nothing(clips, tmp_path, labels, case):
    outside = tmp_path / "outside.avi"
    write_video(outside, moving_square_frames(n=12, size=(96, 128)))
    labels.import_csv("video,label,group\na/a1.avi,1,g1\n", clips, "ann", now=T0)
    before = snapshot(labels)
    text, message = MALFORMED[case]
    with pytest.raises(DataError, match=message) as err:
        labels.import_csv(text.format(outside=outside), clips, "ann")
    assert "nothing changed" in str(err.value) or "expected" in str(err.value)
    assert snapshot(labels) == before


def test_import_into_a_folder_outside_roots_is_refused(clips, tmp_path, labels):
    with pytest.raises(ForbiddenFolderError):
        labels.import_csv("video,label\nx.avi,1\n", tmp_path, "ann")
    assert labels.items() == []


def test_export_is_read_back_by_the_trainer(clips, labels):
    labels.import_csv("video,label,category,group\na/a1.avi,1,fight,g1\nb/b1.avi,0,,g2\n", clips, "ann")
    path = clips / "labels.csv"
    path.write_text(labels.export_csv(root=clips))
    items = read_labels_csv(path, root=clips)
    got = sorted((Path(i.path).resolve(), i.label, i.category, i.group) for i in items)
    assert got == [
        ((clips / "a" / "a1.avi").resolve(), 1, "fight", "g1"),
        ((clips / "b" / "b1.avi").resolve(), 0, None, "g2"),
    ]


# --- queue order and suggestions --------------------------------------------------------------------------
def test_queue_puts_the_least_certain_unlabelled_videos_first(clips, labels):
    labels.add_folder(clips)
    scores = {"a/a1.avi": 0.95, "a/a2.avi": 0.45, "b/b1.avi": 0.7, "b/b2.avi": 0.52}
    for rel, s in scores.items():
        labels.record_suggestion(clips / rel, Suggestion("m", "7", s))
    labels.record_suggestion(clips / "seq", Suggestion("other", "1", 0.5))  # another model: ignored
    labels.set_label(clips / "b" / "b2.avi", 1, "ann")  # labelled: goes last however uncertain
    order = [i.path.relative_to(clips).as_posix() for i in labels.queue("m", "7")]
    assert order == ["a/a2.avi", "b/b1.avi", "a/a1.avi", "seq", "b/b2.avi"]
    assert [i.name for i in labels.queue("m", "7", unlabelled_only=True)] == ["a2.avi", "b1.avi", "a1.avi", "seq"]
    assert labels.queue("m", "7")[0].suggestion == Suggestion("m", "7", 0.45)
    assert [i.name for i in labels.queue(order="added")] == ["a1.avi", "a2.avi", "b1.avi", "b2.avi", "seq"]


@pytest.mark.parametrize(("score", "label"), [(0.9, 1), (0.2, 0), (0.5, 1), (0.49, 0)])
def test_suggestion_label_is_the_score_against_the_line(score, label):
    s = Suggestion("vigil", "3:objects+fight.fight-movinet.3@ad7e5720", score)
    assert (s.label, s.above_line, s.uncertainty) == (label, bool(label), pytest.approx(abs(score - 0.5)))
    assert not hasattr(s, "confidence")  # a score is not a probability: nothing calls it a confidence
    assert s.version_short == "v3"
    assert Suggestion("m", "", score).version_short == ""


@pytest.mark.parametrize("score", [0.63, 0.44])
def test_a_labels_suggested_score_reads_back_from_the_stored_column(clips, labels, score):
    labels.add_folder(clips)
    a1 = clips / "a" / "a1.avi"
    saved = labels.set_label(a1, 0, "ann", suggestion=Suggestion("vigil", "3:x", score))
    (row,) = labels.history(a1)
    assert row.suggested_score == pytest.approx(score) and saved.suggested_score == pytest.approx(score)


def test_suggestion_text_names_the_peak_and_the_line_never_a_percentage():
    from core.events import Segment
    from ui.label_view import suggestion_text

    fight = suggestion_text(
        Suggestion("vigil", "3:x", 0.63), [Segment(2, 4, 0.55, 3), Segment(9, 14.5, 0.63, 11, "fight")]
    )
    assert fight == "Suggested: **abnormal** — peak score 0.63, above the 0.5 line (segment 0:09–0:14, fight)."
    calm = suggestion_text(Suggestion("vigil", "3:x", 0.44))
    assert calm == "Suggested: **normal** — nothing above the 0.5 line (peak 0.44)."
    assert "%" not in fight + calm and "confiden" not in fight + calm


def test_suggest_scores_with_the_engine_and_reuses_the_stored_analysis(clips, labels):
    labels.add_folder(clips)
    clip = clips / "a" / "a1.avi"
    rec, sugg = suggest(labels, clip, "motion")
    assert sugg.score == pytest.approx(float(rec.track.smoothed.max()))
    assert 0.0 <= sugg.score <= 1.0
    assert labels.suggestion(clip, "motion", rec.model_version) == sugg
    rec2, sugg2 = suggest(labels, clip, "motion")
    assert rec2.id == rec.id  # the analyses store answered; nothing was recomputed
    assert [i.sha256 for i in labels.items() if i.path == clip.resolve()] == [rec.video_hash]


def test_history_videos_join_the_queue_under_their_given_names(clips, labels):
    from core.engine import analyze

    rec = analyze(clips / "b" / "b1.avi", model="motion")
    other = write_video(clips / "other.avi", moving_square_frames(n=12, size=(96, 128), seed=7))
    upload = analyze(other.read_bytes(), model="motion", source_uri="street.avi")  # kept as <sha256>.avi
    gone = analyze(write_video(clips / "gone.avi", moving_square_frames(n=12, size=(96, 128), seed=8)))
    (clips / "gone.avi").unlink()  # a video whose file is gone cannot be labelled: left out
    assert labels.add_history() == (2, 2)
    assert labels.add_history() == (2, 0)
    got = {i.path: (i.source, i.sha256) for i in labels.items()}
    assert got[(clips / "b" / "b1.avi").resolve()] == ("history", rec.video_hash)
    assert got[Path(upload.video_path).resolve()] == ("history", upload.video_hash)
    assert Path(gone.video_path).resolve() not in got
    assert {i.name for i in labels.items()} == {"b1.avi", upload.source_name}


# --- versions and the training job ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("base", "existing", "expected"),
    [
        ("fights", [], "fights-v1"),
        ("fights", ["fights-v1", "fights-v3", "motion", "other-v9"], "fights-v4"),
        ("fights-v2", ["fights-v2"], "fights-v3"),
        ("my.model_x", ["my.model_x"], "my.model_x-v1"),
    ],
)
def test_next_version_name(base, existing, expected):
    assert next_version_name(base, existing) == expected


@pytest.mark.parametrize("bad", ["", "a b", "../x", "x/y"])
def test_bad_model_names_are_refused(bad):
    with pytest.raises(DataError):
        next_version_name(bad, [])


def test_training_job_reports_progress_result_and_errors(monkeypatch):
    import core.train

    calls = []

    def fake_train(kind, items, name, description="", progress=None, **kw):
        progress(0.5, "half")
        calls.append((kind, list(items), name, kw))
        if name == "boom":
            raise DataError("Need at least one normal and one abnormal video.")
        return {"name": name}

    monkeypatch.setattr(core.train, "train_from_labels", fake_train, raising=False)
    job = TrainingJob("movinet-mil", ["x"], "m-v1", seed=3).start().wait(10)
    assert job.done and job.snapshot() == (1.0, "Done", {"name": "m-v1"}, None)
    assert calls == [("movinet-mil", ["x"], "m-v1", {"seed": 3})]
    bad = TrainingJob("movinet-mil", [], "boom").start().wait(10)
    assert bad.done and bad.snapshot()[2:] == (None, "Need at least one normal and one abnormal video.")


def test_training_items_are_the_current_labels_with_groups(clips, labels):
    labels.import_csv("video,label,category,group\na/a1.avi,1,fight,g1\nb/b1.avi,0,,g2\n", clips, "ann")
    labels.set_label(clips / "b" / "b1.avi", 1, "bob", category="other")  # the newest label counts
    got = sorted((i.path.name, i.label, i.category, i.group) for i in training_items(labels))
    assert got == [("a1.avi", 1, "fight", "g1"), ("b1.avi", 1, "other", "g2")]
    only = training_items(labels, [clips / "b" / "b1.avi"])
    assert [(i.path.name, i.label) for i in only] == [("b1.avi", 1)]


def test_score_queue_reports_unreadable_videos_and_honours_the_limit(clips, labels):
    (clips / "broken.mp4").write_text("not really a video")
    labels.add_folder(clips)
    done, problems = labels_score(labels, limit=2)
    assert (done, problems) == (2, [])
    done, problems = labels_score(labels)
    assert done == 3 and len(problems) == 1 and problems[0].startswith("broken.mp4: ")
    scored = [i.name for i in labels.items("motion", "1") if i.suggestion is not None]
    assert sorted(scored) == ["a1.avi", "a2.avi", "b1.avi", "b2.avi", "seq"]


def labels_score(labels: LabelStore, limit: int | None = None) -> tuple[int, list[str]]:
    from core.labels import score_queue

    return score_queue(labels, "motion", "1", limit=limit)


def test_a_symlinked_root_still_admits_folders_inside_it(tmp_path, monkeypatch):
    from core.labels import check_folder

    real = tmp_path / "real" / "videos"
    real.mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "real")
    monkeypatch.setenv("VIGIL_LABEL_ROOTS", str(link))
    assert check_folder(link / "videos") == real.resolve()
    with pytest.raises(DataError):
        check_folder(tmp_path)


def test_training_kinds_say_which_weight_file_is_missing_and_where_it_goes(tmp_path, monkeypatch):
    from core.labels import training_kind_statuses
    from core.registry import project_models_dir

    by_kind = {s.kind: s for s in training_kind_statuses()}  # VIGIL_MODELS_DIR unset (conftest)
    assert not by_kind["movinet-mil"].available
    assert by_kind["movinet-mil"].reason == (
        "it needs the weight file movinet_a0_stream_int8.tflite, which is not here: put it in "
        f"{project_models_dir()} (or in a folder named by VIGIL_MODELS_DIR); or run "
        "`python -m core fetch movinet_a0_stream_int8.tflite` when online"
    )
    assert "yolo11n-pose_int8_640.tflite or yolov8n-pose.pt" in by_kind["pose-lstm-ae"].reason

    models = tmp_path / "models"
    models.mkdir()
    (models / "yolov8n-pose.pt").write_bytes(b"")  # either pose model will do
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(models))
    by_kind = {s.kind: s for s in training_kind_statuses()}
    assert by_kind["pose-lstm-ae"].available and by_kind["pose-lstm-ae"].reason == ""
    assert f"put it in {models} or {project_models_dir()};" in by_kind["movinet-logistic"].reason
