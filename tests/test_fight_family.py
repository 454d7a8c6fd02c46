"""Fight head family: calibrated window scores, source-grouped splits, the stream, the shipped card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.families.fight.fit import grouped_kfold, loso_splits
from core.families.fight.head import FightHead, HeadConfig, frame_scores
from core.families.movinet.features import ClipEmbeddings, ClipWindow

REPO = Path(__file__).resolve().parent.parent
FIGHTS = REPO.parent / "shared" / "data" / "fights"
MODELS = REPO.parent / "shared" / "models"


def _need_shared():
    if not (FIGHTS / "videos.txt").is_file() or not (MODELS / "movinet_a0_stream_int8.tflite").is_file():
        pytest.fail(f"../shared is missing: need {FIGHTS} and {MODELS}/movinet_a0_stream_int8.tflite")


def _emb(n_windows: int, seed: int = 0, shift: float = 0.0) -> ClipEmbeddings:
    rng = np.random.default_rng(seed)
    wins = [
        ClipWindow(
            0.8 * k,
            0.8 * k + 1.4,
            8,
            (rng.normal(size=480) + shift).astype(np.float32),
            rng.normal(size=600).astype(np.float32),
        )
        for k in range(n_windows)
    ]
    return ClipEmbeddings.from_windows(wins, frame_t=np.arange(0, 0.8 * n_windows + 1.4, 0.2))


# --- splits ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "groups",
    [["a", "a", "b", "b", "c", "c"], ["a", "b", "c", "a", "b", "c"], ["x"] * 3 + ["y"]],
)
def test_loso_holds_out_exactly_one_source(groups):
    splits = loso_splits(groups)
    assert len(splits) == len(set(groups))
    g = np.array(groups)
    for tr, te in splits:
        assert len(set(g[te].tolist())) == 1
        assert not set(g[tr].tolist()) & set(g[te].tolist())
        assert len(tr) + len(te) == len(groups)


def test_real_sources_never_span_both_sides_of_a_split():
    _need_shared()
    from core.families.fight import fight_videos

    items = fight_videos(FIGHTS)
    groups = np.array([it.group for it in items])
    labels = np.array([it.label for it in items])
    assert "unlisted" in set(groups.tolist())  # nofi062-nofi091 form their own group
    assert {it.path.stem for it in items if it.group == "unlisted"} == {f"nofi{k:03d}" for k in range(62, 92)}
    for splits in (loso_splits(groups), grouped_kfold(labels, groups, 5, seed=0)):
        held = np.zeros(len(items), int)
        for tr, te in splits:
            assert not set(groups[tr].tolist()) & set(groups[te].tolist())
            held[te] += 1
        assert (held == 1).all()  # every clip is held out exactly once


# --- head arithmetic ---------------------------------------------------------------------------------------
def test_frame_rules_and_round_trip(tmp_path):
    emb = _emb(3)
    w = np.array([0.2, 0.9, 0.4])
    mx, mn = frame_scores(emb, w, "max"), frame_scores(emb, w, "mean")
    assert mx.max() == pytest.approx(0.9)
    assert (mn <= mx + 1e-12).all() and mn.max() < 0.9  # frames covered by two windows average them
    cfg = HeadConfig(features="emb", test_views=("full", "flip"), frame_rule="mean")
    head = FightHead(cfg, np.zeros(480, np.float32), np.ones(480, np.float32), np.full(480, 0.01), -0.2, (0.7, 0.3))
    head.save(tmp_path / "h.npz")
    back = FightHead.load(tmp_path / "h.npz")
    views = {"full": emb, "flip": _emb(3, seed=1)}
    assert back.config == cfg
    np.testing.assert_allclose(back.window_scores(views), head.window_scores(views), rtol=1e-5)


def test_a_v1_head_file_is_refused_with_a_readable_error():
    from core.errors import ModelNotFittedError

    with pytest.raises(ModelNotFittedError, match="not a fight-head"):
        FightHead.load(REPO / "models" / "fight-movinet-v1.npz")


# --- real clips: window scores and video scores on one scale ---------------------------------------------
def _pick(items, group, label, n):
    return [it for it in items if it.group == group and it.label == label][:n]


def test_window_and_video_scores_share_the_half_line(tmp_path, monkeypatch):
    _need_shared()
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(MODELS))
    from core.families.fight import fight_videos
    from core.families.fight.fit import Grid, build_library, fit_fixed
    from core.registry import weight_path
    from core.sources import open_source

    items = fight_videos(FIGHTS)
    train = [it for g in ("g012", "g034", "g030") for y in (0, 1) for it in _pick(items, g, y, 3)]
    test = _pick(items, "g018", 1, 1) + _pick(items, "g008", 0, 1)
    videos = train + test
    grid = Grid(windows=((8, 4),), train_views=(("full",),), test_views=(("full",),))
    lib = build_library([open_source(it.path) for it in videos], weight_path("movinet_a0_stream_int8.tflite"), grid)
    labels = np.array([it.label for it in videos])
    groups = [it.group for it in videos]
    cfg = HeadConfig(unit="window", features="emb+logp", C=0.1)
    head = fit_fixed(lib, labels, groups, np.arange(len(train)), cfg)
    fight, calm = lib[(8, 4)][-2], lib[(8, 4)][-1]
    assert (head.window_scores(fight) > 0.5).all(), head.window_scores(fight)
    assert (head.window_scores(calm) < 0.5).all(), head.window_scores(calm)
    assert head.video_score(fight) > 0.5 > head.video_score(calm)


# --- the stream ------------------------------------------------------------------------------------------------
def test_stream_matches_cached_windows_and_names_the_cause(tmp_path, monkeypatch):
    _need_shared()
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(MODELS))
    from core.config import ScoringConfig
    from core.engine import score_source
    from core.families.fight.features import embed_views
    from core.families.fight.stream import FightScorer
    from core.registry import weight_path
    from core.sources import open_source

    src = open_source(FIGHTS / "fight" / "fi020.mp4")
    weights = weight_path("movinet_a0_stream_int8.tflite")
    cfg = HeadConfig(features="emb", test_views=("full", "flip"))
    views = embed_views(src, weights, cfg.test_views, cfg.settings)
    # A toy head whose logit is the embedding dimension that differs most between this clip's windows
    # (views averaged), shifted so the clip straddles 0.5.
    z = (views["full"].vectors + views["flip"].vectors) / 2
    d = int(np.argmax(z.max(0) - z.min(0)))
    coef = np.zeros(480)
    coef[d] = 10.0
    head = FightHead(cfg, np.zeros(480, np.float32), np.ones(480, np.float32), coef, -10.0 * float(z[:, d].mean()))
    scorer = FightScorer("toy", "0", "", weights, head)
    _, _, scores = score_source(src, scorer, ScoringConfig())
    np.testing.assert_allclose(scores, head.frame_scores(views), atol=1e-6)
    stream = scorer.stream()
    for fr in src.frames(fps=5.0, max_side=640):
        stream.update(fr.t, fr.image)
    s = stream.finish()
    hi, lo = int(np.argmax(s)), int(np.argmin(s))
    assert s[hi] >= 0.5 > s[lo]
    assert stream.evidence(hi).cause == "fight"
    assert stream.evidence(lo).cause == ""


def test_a_cut_keeps_windows_inside_one_scene(tmp_path, monkeypatch):
    _need_shared()
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(MODELS))
    from core.families.fight.stream import CutAwareClipper
    from core.families.movinet.features import MovinetModel
    from core.registry import weight_path

    model = MovinetModel(weight_path("movinet_a0_stream_int8.tflite"))
    clipper = CutAwareClipper(model, HeadConfig().settings)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (120, 160, 3), dtype=np.uint8) for _ in range(14)]
    for k, f in enumerate(frames):
        if k == 6:
            clipper.cut()
        clipper.update(k * 0.2, f)
    emb = clipper.finish()
    cut_t = 6 * 0.2
    assert len(emb) >= 2
    assert all(e < cut_t - 1e-9 or s >= cut_t - 1e-9 for s, e in zip(emb.start, emb.end, strict=True))


# --- the shipped model ----------------------------------------------------------------------------------------
def test_shipped_card_reports_leave_one_source_out():
    card = json.loads((REPO / "models" / "fight-movinet.vigil.json").read_text())
    assert card["kind"] == "fight-head"
    m = card["metrics"]
    assert 0.5 < m["loso_auc"] <= 1.0 and 0.5 < m["cv_auc"] <= 1.0
    assert "leave-one-source-out" in m["loso_evaluation"] and "grouped" in m["cv_evaluation"]
    assert (REPO / "models" / card["params"]["artifact"]).stat().st_size < 1_000_000
    head = FightHead.load(REPO / "models" / card["params"]["artifact"])
    assert head.platt != (1.0, 0.0)  # calibrated
    assert head.config.deborder and card["params"]["config"]["deborder"] is True
    v1 = json.loads((REPO / "models" / "fight-movinet-v1.vigil.json").read_text())
    assert v1["name"] == "fight-movinet-v1" and v1["kind"] == "movinet-logistic"
    v2 = json.loads((REPO / "models" / "fight-movinet-v2.vigil.json").read_text())
    assert v2["name"] == "fight-movinet-v2" and v2["params"]["artifact"] == "fight-movinet-v2.npz"


def test_both_versions_load_by_name(monkeypatch):
    _need_shared()
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(MODELS))
    import core.families.fight  # noqa: F401  (registers the kind where the registry does not discover families)
    from core.families.fight.stream import FightScorer
    from core.registry import load_scorer

    new, old = load_scorer("fight-movinet"), load_scorer("fight-movinet-v1")
    assert isinstance(new, FightScorer) and new.info.version == "3" and new.head.config.deborder
    assert not isinstance(old, FightScorer) and old.info.name == "fight-movinet-v1"
    assert new.info.preferred_fps == 5.0
    v2 = load_scorer("fight-movinet-v2")  # the previous head: black bars not cut
    assert isinstance(v2, FightScorer) and v2.info.version == "2" and not v2.head.config.deborder
