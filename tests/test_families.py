"""Model families: a new kind is one folder. A toy family in a temporary folder (VIGIL_FAMILIES_PATH) is
listed, trained and scored by the CLI and the engine without touching any other module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import moving_square_frames, write_video

from core import families

REPO = Path(__file__).resolve().parent.parent

TOY = textwrap.dedent(
    '''
    """Toy family: a frame's score is its mean brightness, relative to the brightest normal frame."""

    import json

    import numpy as np

    from core.families.base import Family, FitResult
    from core.scorers.base import ModelInfo, Scorer, ScoringStream


    class BrightStream(ScoringStream):
        def __init__(self, live, ref):
            super().__init__(live)
            self.ref, self.scores = ref, []

        def update(self, t, frame):
            self.scores.append(min(1.0, 0.5 * float(frame.mean()) / self.ref))
            return self.scores[-1] if self.live else None

        def finish(self):
            return np.array(self.scores)


    class BrightScorer(Scorer):
        def __init__(self, name, ref):
            self.ref = ref
            self.info = ModelInfo(name, "1", "toy", "toy")

        def stream(self, live=False):
            return BrightStream(live, self.ref)


    def build(spec, resolve):
        ref = spec.params.get("ref")
        if "artifact" in spec.params:
            ref = json.loads(resolve(spec.params["artifact"]).read_text())["ref"]
        return BrightScorer(spec.name, float(ref))


    def fit(ref, kind, metrics):
        return FitResult(
            scorer=BrightScorer(kind, ref),
            kind=kind,
            params={},
            save_artifact=lambda p: p.write_text(json.dumps({"ref": ref})),
            artifact_suffix=".json",
            metrics=metrics,
        )


    def fit_normal(sources, scoring, progress):
        means = [float(f.image.mean()) for s in sources for f in s.frames(fps=scoring.fps)]
        return fit(max(means), "toy-bright", {"frames": len(means)})


    def fit_labels(videos, sources, progress=None, seed=0, folds=5):
        normal = [s for v, s in zip(videos, sources) if v.label == 0]
        means = [float(f.image.mean()) for s in normal for f in s.frames(fps=5.0)]
        return fit(max(means), "toy-bright", {"n_videos": len(videos), "n_abnormal": 1, "n_normal": 1, "cv_auc": None})


    FAMILIES = [
        Family(
            kind="toy-bright",
            title="Toy brightness",
            description="Mean brightness against the brightest normal frame.",
            build=build,
            builtin=({"name": "toy-builtin", "params": {"ref": 255.0}},),
            fit_normal=fit_normal,
            fit_labels=fit_labels,
            label_hint="toy: brightness of the normal videos",
        )
    ]
    '''
)


@pytest.fixture
def toy(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "families"
    (folder / "toyfam").mkdir(parents=True)
    (folder / "toyfam" / "__init__.py").write_text(TOY)
    monkeypatch.setenv("VIGIL_FAMILIES_PATH", str(folder))
    families.reload()
    yield folder
    families.reload()


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        cwd=REPO,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_toy_family_is_listed_trained_and_scored(toy, tmp_path):
    dark, bright = (moving_square_frames(n=20, seed=i) for i in (0, 1))
    bright = [np.clip(f.astype(int) + 80, 0, 255).astype(np.uint8) for f in bright]
    normal = tmp_path / "normal"
    normal.mkdir()
    write_video(normal / "n1.avi", dark)
    test_clip = write_video(tmp_path / "bright.avi", bright)

    listed = cli("models", "--kinds")
    assert listed.returncode == 0, listed.stderr
    assert any(
        line.split()[:2] == ["toy-builtin", "toy-bright"] and "available" in line for line in listed.stdout.splitlines()
    )
    assert "Toy brightness; trains from normal footage or labels" in listed.stdout

    trained = cli("train", "--kind", "toy-bright", "--normal", str(normal), "--name", "toy-scene", "--fps", "5")
    assert trained.returncode == 0, trained.stderr
    card = json.loads((Path(os.environ["VIGIL_TRAINED_DIR"]) / "toy-scene.vigil.json").read_text())
    assert card["kind"] == "toy-bright" and card["metrics"]["frames"] > 0
    assert "toy-scene" in cli("models").stdout

    from core.config import ScoringConfig
    from core.engine import score_source
    from core.registry import load_scorer
    from core.sources import open_source

    _, _, scores = score_source(open_source(test_clip), load_scorer("toy-scene"), ScoringConfig(fps=5.0))
    assert len(scores) > 0 and scores.mean() > 0.5  # brighter than anything normal
    _, _, normal_scores = score_source(open_source(normal / "n1.avi"), load_scorer("toy-scene"), ScoringConfig(fps=5.0))
    assert normal_scores.max() <= 0.5 + 1e-6


def test_a_toy_family_trains_from_labels_and_is_offered_on_the_label_page(toy, tmp_path):
    from core.labels import training_kinds

    clips = tmp_path / "clips"
    (clips / "normal").mkdir(parents=True)
    (clips / "fight").mkdir()
    write_video(clips / "normal" / "n.avi", moving_square_frames(n=20, seed=0))
    write_video(clips / "fight" / "f.avi", moving_square_frames(n=20, seed=1))
    assert training_kinds()["toy-bright"] == "toy: brightness of the normal videos"

    out = cli("train", "--kind", "toy-bright", "--videos", str(clips), "--name", "toy-labelled")
    assert out.returncode == 0, out.stderr
    card = json.loads((Path(os.environ["VIGIL_TRAINED_DIR"]) / "toy-labelled.vigil.json").read_text())
    assert [v["label"] for v in card["trained_on"]["videos"]] == [1, 0]
    assert [v["category"] for v in card["trained_on"]["videos"]] == ["fight", None]


def test_listing_models_and_families_does_not_load_torch_or_ultralytics():
    code = (
        "import sys; from core.registry import list_models; from core import families; "
        "list_models(); families.all_families(); "
        "print(sorted(m for m in ('torch', 'ultralytics') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_every_builtin_kind_is_one_family_and_nothing_branches_on_kind_outside_them():
    kinds = list(families.all_families())
    expected = {"motion", "motion-fitted", "movinet-logistic", "movinet-mil", "movinet-knn", "movinet-kinetics"}
    assert expected | {"pose-lstm-ae"} <= set(kinds)
    # "motion" is also the default model's name (analyze --model motion), so only the other kinds are checked
    kind_names = [f'"{k}"' for k in sorted(expected | {"pose-lstm-ae"}) if k != "motion"]
    offenders = []
    for p in (REPO / "core").rglob("*.py"):
        if "families" in p.relative_to(REPO).parts:
            continue
        text = p.read_text()
        for needle in ("HEADS", "FITTERS", "LABEL_KINDS", "KIND_DESCRIPTIONS", "KIND_MODULES", *kind_names):
            if needle in text:
                offenders.append(f"{p.relative_to(REPO)}: {needle}")
    assert offenders == []
