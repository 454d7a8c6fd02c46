"""Training from labels: the CSV reader's bad input, and trained models round-tripping through the registry."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.dataset import LabelledVideo, read_labels_csv
from core.errors import DataError
from core.train import train_from_labels


@pytest.fixture
def clips(tmp_path, make_video):
    """4 abnormal (a square suddenly moving fast) and 4 normal (slow) 2.4 s clips in tmp_path/clips."""
    d = tmp_path / "clips"
    d.mkdir()
    out = []
    for i in range(8):
        abnormal = i % 2 == 0
        p = make_video(
            f"clips/c{i}.avi",
            n=24,
            fast_from=4 if abnormal else None,
            slow_speed=1.0,
            fast_speed=30.0,
            seed=i,
        )
        out.append((p, int(abnormal)))
    return d, out


def write_csv(path, text: str):
    path.write_text(text)
    return path


def test_reads_words_and_numbers_with_optional_columns(clips, tmp_path):
    d, vids = clips
    csv = write_csv(
        d / "labels.csv",
        "video,label,category,group\nc0.avi,abnormal,fight,s1\nc1.avi,0,,s1\nc2.avi,1,,\nc3.avi,Normal,,\n",
    )
    items = read_labels_csv(csv)
    assert [(i.path.name, i.label, i.category, i.group) for i in items] == [
        ("c0.avi", 1, "fight", "s1"),
        ("c1.avi", 0, None, "s1"),
        ("c2.avi", 1, None, None),
        ("c3.avi", 0, None, None),
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ("name,label\nc0.avi,1\n", "no 'video' column"),
        ("video,category\nc0.avi,fight\n", "no 'label' column"),
        ("video,label\nc0.avi,maybe\n", "unknown label 'maybe'"),
        ("video,label\nc0.avi,\n", "unknown label"),
        ("video,label\nnothere.avi,1\n", "'nothere.avi' not found"),
        ("video,label\n../outside.avi,1\n", "outside the chosen folder"),
        ("video,label\nc0.avi,1\nc0.avi,0\n", "already listed on row 2"),
        ("video,label,category\nc0.avi,1,riot\n", "unknown category 'riot'"),
        ("video,label\nc0.avi,maybe\nc1.avi,perhaps\n", "row 2: unknown label 'maybe'.*row 3: unknown label 'perhaps'"),
        ("video,label\n", "no rows"),
        ("", "is empty"),
    ],
)
def test_malformed_csv_raises_a_clear_data_error(clips, tmp_path, text, message):
    d, _ = clips
    (tmp_path / "outside.avi").write_bytes(b"x")
    csv = write_csv(tmp_path / "labels.csv", text)
    with pytest.raises(DataError, match=message):
        read_labels_csv(csv, root=d)


def test_a_missing_labels_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_labels_csv(tmp_path / "nope.csv")


def test_trained_head_round_trips_through_save_registry_and_load(clips, shared_models, monkeypatch):
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(shared_models))
    from core.config import ScoringConfig
    from core.engine import score_source
    from core.families.movinet.features import ClipSettings, embed_video
    from core.families.movinet.heads import load_head
    from core.registry import get_spec, list_models, load_scorer
    from core.sources import open_source

    _, vids = clips
    items = [LabelledVideo(p, y, group=f"g{i // 2}") for i, (p, y) in enumerate(vids)]
    report = train_from_labels("movinet-logistic", items, "test-fight", "unit test", seed=0, folds=2)
    card = json.loads(report.card_path.read_text())
    assert report.metrics["n_videos"] == 8 and report.metrics["n_abnormal"] == 4 and report.metrics["n_normal"] == 4
    assert report.metrics["cv_grouped"] is True and report.metrics["cv_folds"] == 2
    assert report.metrics["cv_auc"] is not None and 0.0 <= report.metrics["cv_auc"] <= 1.0
    assert card["featurizer"] == "movinet-a0" and card["weights"][0]["file"] == "movinet_a0_stream_int8.tflite"
    assert len(card["trained_on"]["videos"]) == 8 and all(len(v["sha256"]) == 64 for v in card["trained_on"]["videos"])

    # Registry: listed, available, loadable by name.
    status = next(s for s in list_models() if s.spec.name == "test-fight")
    assert status.available, status.reason
    spec = get_spec("test-fight")
    head, settings = load_head(report.card_path.parent / spec.params["artifact"])
    scorer = load_scorer("test-fight")
    assert scorer.info.preferred_fps == settings.fps == 5.0

    # The loaded head reproduces the stream's frame scores from the cached embeddings.
    src = open_source(vids[0][0])
    emb = embed_video(src, shared_models / "movinet_a0_stream_int8.tflite", ClipSettings())
    frames, _, scores = score_source(src, scorer, ScoringConfig(fps=10))
    assert len(scores) == len(emb.frame_t) == len(frames)
    assert np.allclose(scores, emb.frame_scores(head.window_scores(emb)), atol=1e-5)
    # Same data, same seed: the same head.
    again = train_from_labels("movinet-logistic", items, "test-fight-2", seed=0, folds=2)
    assert again.metrics["cv_auc"] == report.metrics["cv_auc"]


def test_normality_kind_uses_only_normal_videos(clips, shared_models, monkeypatch):
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(shared_models))
    _, vids = clips
    items = [LabelledVideo(p, y) for p, y in vids]
    report = train_from_labels("movinet-knn", items, "test-knn", folds=2)
    card = json.loads(report.card_path.read_text())
    assert report.metrics["n_normal"] == 4
    assert card["kind"] == "movinet-knn"
    with pytest.raises(DataError, match="normal"):
        train_from_labels("movinet-knn", [it for it in items if it.label == 1], "x")


def test_supervised_kind_refuses_one_class(clips, shared_models, monkeypatch):
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(shared_models))
    _, vids = clips
    with pytest.raises(DataError, match="both abnormal and normal"):
        train_from_labels("movinet-mil", [LabelledVideo(p, 1) for p, _ in vids[:3]], "x")


def test_cli_trains_from_a_labels_csv_and_evaluates_videos(clips, shared_models, monkeypatch, tmp_path, capsys):
    from core.cli import main

    monkeypatch.setenv("VIGIL_MODELS_DIR", str(shared_models))
    d, vids = clips
    rows = "".join(f"{p.name},{'abnormal' if y else 'normal'},,g{i // 2}\n" for i, (p, y) in enumerate(vids))
    csv = write_csv(d / "labels.csv", "video,label,category,group\n" + rows)
    assert main(["train", "--model", "movinet-mil", "--labels", str(csv), "--name", "cli-mil", "--folds", "2"]) == 0
    out = capsys.readouterr().out
    assert "saved model 'cli-mil' (movinet-mil)" in out and "2-fold, grouped" in out

    js = tmp_path / "v.json"
    code = main(
        ["evaluate", "--videos", str(d), "--video-labels", str(csv), "--model", "movinet-logistic", "cli-mil"]
        + ["--folds", "2", "--json", str(js)]
    )
    assert code == 0
    m = json.loads(js.read_text())
    assert m["videos"] == 8 and m["groups"] == 4
    assert m["models"]["movinet-logistic"]["evaluation"].startswith("grouped 2-fold CV")
    assert m["models"]["cli-mil"]["evaluation"] == "as registered (no fitting here)"
    assert m["models"]["cli-mil"]["video_auc"] > 0.5  # it has seen these clips: it must rank them
    assert "duration-only baseline" in capsys.readouterr().out


def test_cli_train_reports_bad_labels_in_one_line(tmp_path, capsys):
    from core.cli import main

    csv = write_csv(tmp_path / "l.csv", "video,label\nmissing.avi,1\n")
    assert main(["train", "--model", "movinet-logistic", "--labels", str(csv), "--name", "x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "'missing.avi' not found" in err[0]
