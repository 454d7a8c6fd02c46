"""Fit the shipped fight head (fight-movinet v3) on all fight clips and write models/fight-movinet.{npz,vigil.json}.

    nice -n 10 .venv/bin/python benchmarks/fight_eval.py          # first: the figures the card carries
    nice -n 10 .venv/bin/python benchmarks/ship_fight_head.py

The head's configuration is chosen by grouped inner CV on all 210 clips (``select_and_fit``: the same
procedure that fight_eval.py evaluated inside every outer fold); the card's metrics are that evaluation's
leave-one-source-out and grouped 5-fold figures (``loso_*``, ``cv_*``), never the selection's own inner AUC
(kept apart as ``selection_inner_auc``).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import hashlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("VIGIL_SHARED_DIR", REPO.parent / "shared")).resolve()
NAME = "fight-movinet"
VERSION = "3"


def _figures(r: dict, prefix: str) -> dict:
    new, v1 = r["heads"]["new"], r["heads"]["v1"]
    return {
        f"{prefix}_auc": new["video_auc"],
        f"{prefix}_ap": new["video_ap"],
        f"{prefix}_video_false_alarm_rate": new["video_false_alarm_rate"],
        f"{prefix}_video_recall": new["video_recall"],
        f"{prefix}_window_false_alarm_rate": new["false_alarm_rate"],
        f"{prefix}_window_recall": new["recall"],
        f"{prefix}_v1_auc": v1["video_auc"],
        f"{prefix}_v1_window_false_alarm_rate": v1["false_alarm_rate"],
        f"{prefix}_duration_auc": r["baselines"]["duration"]["video_auc"],
    }


def _describe(cfg) -> str:
    """The chosen configuration in words (chosen by nested grouped CV, so the card says what was chosen)."""
    unit = "whole-video mean features" if cfg.unit == "video" else "window samples"
    feats = "embedding + Kinetics log-probabilities" if cfg.features == "emb+logp" else "embedding"
    views = " + ".join(cfg.train_views)
    return f"configuration chosen by nested grouped CV: trained on {unit} ({feats}, C {cfg.C:g}, views {views})"


def main() -> int:
    os.environ.setdefault("VIGIL_MODELS_DIR", str(SHARED / "models"))
    import numpy as np

    from core.families.fight import KIND, fight_videos
    from core.families.fight.fit import DEFAULT_GRID, build_library, select_and_fit
    from core.registry import weight_card_entry, weight_path
    from core.sources import open_source

    results = json.loads((REPO / "benchmarks" / "results" / "fights_loso.json").read_text())
    if results["grid"] != DEFAULT_GRID.to_dict():
        print("error: fights_loso.json was made with another grid; rerun benchmarks/fight_eval.py", file=sys.stderr)
        return 2
    data = SHARED / "data" / "fights"
    items = fight_videos(data)
    sources = [open_source(it.path) for it in items]
    labels = np.array([it.label for it in items])
    groups = [it.group for it in items]
    library = build_library(sources, weight_path("movinet_a0_stream_int8.tflite"), DEFAULT_GRID)
    head = select_and_fit(
        library, labels, groups, grid=DEFAULT_GRID, seed=results["seed"], inner_folds=results["inner_folds"]
    )
    models = REPO / "models"
    artifact = models / f"{NAME}.npz"
    head.save(artifact)
    loso, cv = results["loso"], results["cv5"]
    metrics = {
        "n_videos": len(items),
        "n_abnormal": int(labels.sum()),
        "n_normal": int((labels == 0).sum()),
        "sources": results["sources"],
        **_figures(loso, "loso"),
        "loso_evaluation": f"leave-one-source-out over {loso['n_splits']} source groups (videos.txt; unlisted "
        "clips one group), every choice and the calibration made inside the training part, video score = max "
        "of the app's 1 s smoothed frame scores",
        **_figures(cv, "cv"),
        "cv_folds": cv["n_splits"],
        "cv_grouped": True,
        "cv_evaluation": f"grouped {cv['n_splits']}-fold CV by source, same nested procedure",
        "selection_inner_auc": head.info["inner_auc"],
        "selection_note": "inner-CV AUC used to choose this configuration: not a result",
    }
    card = {
        "name": NAME,
        "kind": KIND,
        "version": VERSION,
        "description": f"Fight / violence detector for CCTV (v{VERSION}): a logistic head on MoViNet-A0 features of "
        f"the picture (black bars cut), {_describe(head.config)}, scored on 1.6 s windows and Platt-calibrated so a "
        "window and a whole video share one 0.5 line (fight as likely as not). Leave-one-source-out video ROC AUC "
        f"{metrics['loso_auc']:.3f} on the Surveillance Camera Fight clips.",
        "summary": "Fights and violence in CCTV footage.",
        "featurizer": "movinet-a0",
        "weights": [weight_card_entry("movinet_a0_stream_int8.tflite")],
        "params": {
            "artifact": artifact.name,
            "artifact_sha256": hashlib.sha256(artifact.read_bytes()).hexdigest(),
            "config": head.config.to_dict(),
            "platt": list(head.platt),
            "seed": results["seed"],
        },
        "metrics": metrics,
        "previous_version": "fight-movinet-v2",
        "trained_on": {
            "count": len(items),
            "videos": [
                {"name": s.meta.name, "sha256": s.sha256, "label": it.label, "category": it.category, "group": it.group}
                for it, s in zip(items, sources, strict=True)
            ],
        },
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (models / f"{NAME}.vigil.json").write_text(json.dumps(card, indent=2, sort_keys=True))
    print(
        f"wrote {artifact} ({artifact.stat().st_size} bytes) and its card; config {head.config.to_dict()}, "
        f"platt {head.platt}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
