"""The realistic-uploads benchmark's protocol: the fusion's quantile is chosen by inner cross-fit (no inner fold is
scored by a fusion fitted on it), and the figure of record's bootstrap interval is what it says."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from core.evalsets import Upload

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("realistic_uploads", REPO / "benchmarks" / "realistic_uploads.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _upload(name: str, kind: str, fold: int, duration: float = 60.0) -> Upload:
    return Upload(name, Path(f"{name}.mp4"), kind, "tune", fold, 10.0, duration, [(20.0, 30.0)], [])


def _run(seed: int, duration: float = 60.0, event_level: float = 0.9) -> dict:
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, duration, 0.1)
    fight = rng.uniform(0.0, 0.4, len(t))
    fight[(t >= 20) & (t < 30)] = event_level  # the true interval of _upload
    objects = rng.uniform(0.0, 0.3, len(t))
    return {
        "t": t,
        "cue_scores": np.stack([fight, objects]),
        "cue_names": np.array(["fight", "objects"]),
        "cue_causes": np.array([["fight"] * len(t), ["fast object"] * len(t)]),  # per cue, per moment
    }


def test_inner_folds_are_the_fight_folds_and_each_ped2_upload(bench):
    ups = [
        _upload("p1", "ped2", -1),
        _upload("p2", "ped2", -1),
        _upload("a", "fights", 0),
        _upload("b", "fights", 0),
        _upload("c", "fights", 2),
    ]
    folds = sorted(sorted(u.name for u in f) for f in bench.inner_folds(ups))
    assert folds == [["a", "b"], ["c"], ["p1"], ["p2"]]


def test_the_quantile_is_chosen_without_scoring_a_fold_with_its_own_fusion(bench, monkeypatch):
    ups = [_upload("p1", "ped2", -1), _upload("p2", "ped2", -1)] + [
        _upload(f"f{k}{i}", "fights", k) for k in range(3) for i in range(2)
    ]
    runs = {u.name: _run(i) for i, u in enumerate(ups)}
    fitted_on: dict[int, set[str]] = {}
    real_fit, real_fused = bench._fit_fusion, bench._fused
    scored: list[tuple[str, set[str]]] = []

    def spy_fit(uploads, vigil_runs, q, fitted, audited):
        fusion = real_fit(uploads, vigil_runs, q, fitted, audited)
        fitted_on[id(fusion)] = {u.name for u in uploads}
        return fusion

    def spy_fused(run, fusion):
        name = next(n for n, r in runs.items() if r is run)
        scored.append((name, fitted_on[id(fusion)]))
        return real_fused(run, fusion)

    monkeypatch.setattr(bench, "_fit_fusion", spy_fit)
    monkeypatch.setattr(bench, "_fused", spy_fused)
    fusion = bench._choose_quantile(ups, runs, "test")
    # every upload scored once per candidate, never by a fusion that saw it
    assert len(scored) == len(ups) * len(bench.QUANTILES)
    assert all(name not in fit for name, fit in scored)
    # a fight fold is held out whole: its two compilations are scored by the same fusion, fitted without either
    by_name = {name: fit for name, fit in scored[: len(ups)]}
    assert by_name["f10"] == by_name["f11"] == {"p1", "p2", "f00", "f01", "f20", "f21"}
    assert by_name["p1"] == {u.name for u in ups} - {"p1"}
    # the shipped fusion is fitted on the whole fit set at the chosen quantile, and says how it was chosen
    assert fitted_on[id(fusion)] == {u.name for u in ups}
    assert fusion.quantile in bench.QUANTILES
    assert fusion.extra["rule"] == "inner cross-fit over 5 inner folds"
    assert set(fusion.extra["tune"]) == {str(q) for q in bench.QUANTILES}
    # every event is loud and normal moments are quiet: each candidate finds all and none has a false segment,
    # so the tie goes to the lowest quantile
    assert all(v["event_recall"] == 1.0 and v["false_per_10min"] == 0.0 for v in fusion.extra["tune"].values())
    assert fusion.quantile == min(bench.QUANTILES)


def test_bootstrap_interval_over_uploads(bench):
    same = [{"found": 1, "events": 2, "false": 1, "minutes": 5.0}] * 10
    b = bench.bootstrap(same)
    assert b["event_recall"] == [0.5, 0.5] and b["false_per_10min"] == [2.0, 2.0]
    mixed = [{"found": i % 2, "events": 1, "false": i % 3, "minutes": 1.0} for i in range(30)]
    b1, b2 = bench.bootstrap(mixed), bench.bootstrap(mixed)
    assert b1 == b2  # seeded
    lo, hi = b1["event_recall"]
    assert lo < 0.5 < hi and hi - lo < 0.5
    lo, hi = b1["false_per_10min"]
    assert lo < 10.0 * sum(d["false"] for d in mixed) / 30.0 < hi
