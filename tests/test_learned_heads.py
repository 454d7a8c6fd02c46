"""The learned models on small synthetic data: the LSTM autoencoder, the MIL ranking head, CV folds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.families.movinet.mil import head_from_arrays, head_to_arrays, mil_ranking_loss, train_mil
from core.families.pose.lstm_ae import errors, from_arrays, to_arrays, train_autoencoder


def walking(n: int, rng, steps: int = 20, broken: bool = False) -> np.ndarray:
    """(n, steps, 6) windows of a periodic gait (legs swing in antiphase, steady speed). ``broken``: the
    person falls half-way (the swing stops, the body drops and speed jumps)."""
    t = np.arange(steps)[None, :] + rng.uniform(0, 10, (n, 1))
    phase = 2 * np.pi * t / 8.0
    x = np.stack(
        [np.sin(phase), -np.sin(phase), 0.3 * np.cos(phase), np.full_like(t, 0.5), np.zeros_like(t), np.ones_like(t)],
        -1,
    )
    if broken:
        half = steps // 2
        x[:, half:, :3] = 0.0  # limbs stop
        x[:, half:, 3] = 3.0  # sudden speed
        x[:, half:, 4] = 1.5  # body drops
        x[:, half:, 5] = 0.3  # box turns wide
    return (x + rng.normal(0, 0.03, x.shape)).astype(np.float32)


def test_lstm_autoencoder_scores_a_broken_pattern_higher():
    rng = np.random.default_rng(0)
    train = walking(256, rng)
    mask = np.ones_like(train)
    model, losses = train_autoencoder(train, mask, hidden=24, epochs=25, batch=64, seed=0)
    assert losses[-1] < losses[0] * 0.7, "training must reduce the reconstruction error"
    normal, broken = walking(64, rng), walking(64, rng, broken=True)
    e_normal = errors(model, normal, np.ones_like(normal))
    e_broken = errors(model, broken, np.ones_like(broken))
    assert np.median(e_broken) > 3 * np.median(e_normal)
    assert np.mean(e_broken > np.percentile(e_normal, 99)) > 0.9
    # Saved as plain arrays and rebuilt: the same errors.
    again = from_arrays(to_arrays(model))
    assert np.allclose(errors(again, broken, np.ones_like(broken)), e_broken, atol=1e-6)


def test_lstm_autoencoder_ignores_masked_entries():
    rng = np.random.default_rng(1)
    train = walking(128, rng)
    model, _ = train_autoencoder(train, np.ones_like(train), hidden=16, epochs=5, seed=0)
    x = walking(8, rng)
    m = np.ones_like(x)
    m[..., 0] = 0.0
    y = x.copy()
    y[..., 0] = 0.0  # a missing keypoint is zeros; its (absent) value must not count
    assert np.allclose(errors(model, x * m, m), errors(model, y, m), atol=1e-6)


def test_training_is_seeded():
    rng = np.random.default_rng(2)
    train = walking(64, rng)
    a, la = train_autoencoder(train, np.ones_like(train), hidden=8, epochs=3, seed=7)
    b, lb = train_autoencoder(train, np.ones_like(train), hidden=8, epochs=3, seed=7)
    assert la == lb


def bag(rng, n: int, dim: int = 16, abnormal_at: int | None = None) -> np.ndarray:
    x = rng.normal(0, 1, (n, dim)).astype(np.float32)
    if abnormal_at is not None:
        x[abnormal_at, :4] += 3.0  # one segment holds the event; the rest of the video is ordinary
    return x


def test_mil_ranks_abnormal_bags_above_normal_bags():
    rng = np.random.default_rng(0)
    bags, labels = [], []
    for i in range(40):
        n = int(rng.integers(3, 9))
        abnormal = i % 2 == 0
        bags.append(bag(rng, n, abnormal_at=int(rng.integers(0, n)) if abnormal else None))
        labels.append(int(abnormal))
    head, losses = train_mil(bags, labels, epochs=200, seed=0)
    assert losses[-1] < losses[0]
    test_abnormal = [bag(rng, 6, abnormal_at=k) for k in range(6)]
    test_normal = [bag(rng, 6) for _ in range(6)]
    with torch.no_grad():
        top_a = [float(head(torch.as_tensor(b)).max()) for b in test_abnormal]
        top_n = [float(head(torch.as_tensor(b)).max()) for b in test_normal]
        where = [int(head(torch.as_tensor(b)).argmax()) for b in test_abnormal]
    assert min(top_a) > max(top_n), "every abnormal bag must outrank every normal bag"
    assert where == list(range(6)), "the top segment must be the one that holds the event"
    again = head_from_arrays(head_to_arrays(head))
    with torch.no_grad():
        assert torch.allclose(again(torch.as_tensor(test_abnormal[0])), head(torch.as_tensor(test_abnormal[0])))


def test_mil_loss_by_hand():
    a = torch.tensor([[0.9, 0.1]])
    n = torch.tensor([[0.2, 0.0]])
    ma = torch.tensor([[True, True]])
    mn = torch.tensor([[True, False]])  # the normal bag has one real segment; padding must not count
    loss = mil_ranking_loss(a, ma, n, mn, smooth=0.5, sparse=0.25)
    expected = (1 - 0.9 + 0.2) + 0.5 * (0.8**2) + 0.25 * 1.0
    assert float(loss) == pytest.approx(expected)


def test_mil_needs_both_classes():
    with pytest.raises(ValueError):
        train_mil([np.zeros((2, 4), np.float32)], [1])


def test_grouped_folds_keep_a_group_together():
    from core.crossval import cv_splits

    labels = np.array([1, 1, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0])
    groups = ["a", "a", "b", "b", "c", "c", "d", "d", "e", "e", None, None]
    splits = cv_splits(labels, groups, folds=3, seed=0)
    assert splits is not None and len(splits) == 3
    for tr, te in splits:
        assert not {groups[i] for i in tr if groups[i]} & {groups[i] for i in te if groups[i]}
        assert set(labels[tr]) == {0, 1}
    assert cv_splits(np.array([1, 0]), [None, None], 5, 0) is None  # too few videos: no CV, not a crash


def test_source_groups_join_a_clip_listed_twice(tmp_path):
    from core.dataset import read_source_groups

    f = tmp_path / "videos.txt"
    f.write_text(
        "https://example.com/a\nfi001: 0.1 - 0.2\nnofi001: 1 - 2\n"
        "https://example.com/b\nfi002: 0 - 1\n"
        "https://example.com/c\nfi003: 0 - 1\nnofi001: 3 - 4\n"
    )
    g = read_source_groups(f)
    assert g["fi001"] == g["nofi001"] == g["fi003"]  # c shares nofi001 with a: one group
    assert g["fi002"] != g["fi001"]
