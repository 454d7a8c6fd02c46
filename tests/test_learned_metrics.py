"""Ranking metrics on hand-made arrays whose ROC AUC / AP are known by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.metrics import average_precision, roc_auc


@pytest.mark.parametrize(
    "labels, scores, auc, ap",
    [
        ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 1.0, 1.0),  # perfect
        ([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1], 0.0, 0.5 * 1 / 3 + 0.5 * 2 / 4),  # reversed
        ([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.75, 0.5 * 1.0 + 0.5 * 2 / 3),  # one swap
        ([0, 1], [0.5, 0.5], 0.5, 0.5),  # a tie counts half
        ([0, 0, 0, 1], [0.3, 0.3, 0.1, 0.3], (0.5 + 0.5 + 1.0) / 3, 1 / 3),  # tie group
    ],
)
def test_known_values(labels, scores, auc, ap):
    assert roc_auc(labels, scores) == pytest.approx(auc)
    assert average_precision(labels, scores) == pytest.approx(ap)


@pytest.mark.parametrize("labels", [[0, 0, 0], [1, 1], []])
def test_one_class_is_nan(labels):
    assert math.isnan(roc_auc(labels, np.zeros(len(labels))))


def test_auc_is_invariant_to_monotonic_calibration():
    from core.scorers.base import calibrate

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    raw = rng.random(200) + y * 0.3
    assert roc_auc(y, calibrate(raw, 0.7)) == pytest.approx(roc_auc(y, raw))
