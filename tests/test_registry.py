"""Model core: registry by name, missing weights reported (never a crash), downloads checked by hash."""

import hashlib
import json
import re
import socket
from pathlib import Path

import numpy as np
import pytest
from conftest import http_server

from core import registry
from core.errors import ModelUnavailableError, UnknownModelError

REPO = Path(__file__).resolve().parent.parent


def card(directory: Path, name: str, weights: list[dict], kind: str = "motion") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    p = directory / f"{name}.vigil.json"
    p.write_text(json.dumps({"name": name, "kind": kind, "version": "7", "description": "test", "weights": weights}))
    return p


@pytest.fixture
def trained(tmp_path) -> Path:
    return tmp_path / "trained-models"  # VIGIL_TRAINED_DIR, set by the autouse fixture


@pytest.fixture
def weights_server(tmp_path):
    root = tmp_path / "srv"
    root.mkdir()
    (root / "w.bin").write_bytes(b"weights" * 1000)

    with http_server(root) as url:
        yield url, hashlib.sha256(b"weights" * 1000).hexdigest()


def test_unknown_model_names_the_known_ones():
    with pytest.raises(UnknownModelError, match=r"Unknown model 'nope'.*motion"):
        registry.load_scorer("nope")


def test_builtin_motion_is_available_and_loads():
    st = registry.status("motion")
    assert st.available and st.reason == ""
    assert registry.load_scorer("motion").info.name == "motion"


def test_missing_weights_say_which_file_and_where(trained):
    card(trained, "needs-weights", [{"file": "ghost.bin"}])
    st = registry.status("needs-weights")
    assert not st.available
    assert "not available: put ghost.bin in" in st.reason and str(REPO / "models") in st.reason
    with pytest.raises(ModelUnavailableError, match="put ghost.bin in"):
        registry.load_scorer("needs-weights")
    # the other models are still listed and usable
    names = {s.spec.name: s.available for s in registry.list_models()}
    assert names["motion"] is True and names["needs-weights"] is False


def test_download_when_the_url_answers_and_hash_matches(trained, weights_server, tmp_path, monkeypatch):
    url, digest = weights_server
    models = tmp_path / "user-models"
    models.mkdir()
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(models))
    card(trained, "dl", [{"file": "w.bin", "sha256": digest, "url": f"{url}/w.bin"}])
    assert "downloaded on first use" in registry.status("dl").reason
    registry.load_scorer("dl")
    assert (models / "w.bin").read_bytes() == b"weights" * 1000
    assert registry.status("dl").available


def test_download_with_wrong_hash_is_refused_and_not_kept(trained, weights_server, tmp_path, monkeypatch):
    url, _ = weights_server
    models = tmp_path / "user-models"
    models.mkdir()
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(models))
    card(trained, "bad", [{"file": "w.bin", "sha256": "0" * 64, "url": f"{url}/w.bin"}])
    with pytest.raises(ModelUnavailableError, match="checksum"):
        registry.load_scorer("bad")
    assert list(models.iterdir()) == []


def test_offline_download_fails_with_a_clear_message(trained, tmp_path, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    models = tmp_path / "user-models"
    models.mkdir()
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(models))
    card(trained, "offline", [{"file": "w.bin", "url": f"http://127.0.0.1:{port}/w.bin"}])
    with pytest.raises(ModelUnavailableError) as err:
        registry.load_scorer("offline")
    msg = str(err.value)
    assert "Could not download w.bin" in msg and "put w.bin in" in msg and "Traceback" not in msg


def test_a_broken_card_hides_only_itself(trained):
    trained.mkdir(parents=True, exist_ok=True)
    (trained / "broken.vigil.json").write_text("{not json")
    card(trained, "fine", [])
    names = {s.spec.name for s in registry.list_models()}
    assert "fine" in names and "broken" not in names


def test_builtin_models_and_the_weight_catalogue_are_well_formed():
    from core import families

    builtin = [d for f in families.all_families().values() for d in f.builtin]
    names = [d["name"] for d in builtin]
    assert len(names) == len(set(names)) and "motion" in names
    catalogue = json.loads((REPO / "models" / "manifest.json").read_text())["weights"]
    for w in catalogue:
        assert w["file"]
        if w.get("sha256"):
            assert re.fullmatch(r"[0-9a-f]{64}", w["sha256"])
    listed = {w["file"] for w in catalogue}
    for f in families.all_families().values():
        assert set(f.weights) <= listed, f"{f.kind} needs weights missing from the catalogue"
    spec = registry.get_spec("fight-kinetics")  # a built-in spec takes sha256 and URL from the catalogue
    assert spec.weights and spec.weights[0].sha256 and spec.weights[0].url


def test_fetch_downloads_a_catalogued_file_and_names_unknown_ones(weights_server, tmp_path, monkeypatch, capsys):
    from core import cli

    url, digest = weights_server
    models = tmp_path / "user-models"
    models.mkdir()
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(models))
    monkeypatch.setattr(
        registry, "_manifest", lambda: {"weights": [{"file": "w.bin", "sha256": digest, "url": f"{url}/w.bin"}]}
    )
    assert cli.main(["fetch"]) == 0 and "w.bin" in capsys.readouterr().out and not (models / "w.bin").exists()
    assert cli.main(["fetch", "w.bin"]) == 0
    assert (models / "w.bin").read_bytes() == b"weights" * 1000
    assert str(models / "w.bin") in capsys.readouterr().out
    assert cli.main(["fetch", "nope.bin"]) == 2
    assert "'nope.bin' is not in the weight catalogue; known: w.bin" in capsys.readouterr().err


def test_fetch_offline_says_where_to_put_the_file(tmp_path, monkeypatch, capsys):
    from core import cli

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(tmp_path))
    monkeypatch.setattr(
        registry, "_manifest", lambda: {"weights": [{"file": "w.bin", "url": f"http://127.0.0.1:{port}/w.bin"}]}
    )
    assert cli.main(["fetch", "w.bin"]) == 2
    err = capsys.readouterr().err
    assert "Could not download w.bin" in err and f"put w.bin in {tmp_path}" in err and "Traceback" not in err


def test_trained_models_go_to_the_data_folder_by_default_never_the_code_checkout(monkeypatch, tmp_path):
    """Without VIGIL_TRAINED_DIR, training writes under the data folder (a user's models live with their data;
    the project's models/ is what ships), the model is still listed, and Ray workers are told where it is."""
    from core.batch.ray_engine import job_env

    monkeypatch.delenv("VIGIL_TRAINED_DIR")
    where = registry.trained_dir()
    assert where == tmp_path / "vigil-data" / "models" and REPO not in where.parents
    card(where, "mine", [])
    assert "mine" in registry.specs()
    assert job_env()["VIGIL_TRAINED_DIR"] == str(where)
    monkeypatch.setenv("VIGIL_TRAINED_DIR", str(tmp_path / "elsewhere"))
    assert registry.trained_dir() == tmp_path / "elsewhere" and job_env()["VIGIL_TRAINED_DIR"] == str(
        tmp_path / "elsewhere"
    )
    # a relative setting reaches the workers absolute: they start in a copy of the project folder, not here
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIGIL_TRAINED_DIR", "rel-models")
    assert job_env()["VIGIL_TRAINED_DIR"] == str(tmp_path / "rel-models")


def test_a_trained_model_travels_as_files_and_loads_where_its_folder_is_missing(trained, tmp_path, monkeypatch):
    """What a Ray node without the driver's disk gets: the card and artifact as bytes, unpacked in the worker."""
    import shutil

    from conftest import moving_square_frames, write_video

    from core.config import ScoringConfig
    from core.engine import score_source
    from core.sources import open_source
    from core.train import fit_normal, register

    clip = write_video(tmp_path / "calm.avi", moving_square_frames(n=30, seed=0))
    sources = [open_source(clip)]
    register(fit_normal("motion-fitted", sources, ScoringConfig(fps=5.0)), "scene-a", "test", sources)
    assert registry.model_files("motion") == {}  # built in: nothing to send
    files = registry.model_files("scene-a")
    assert sorted(files) == ["scene-a.npz", "scene-a.vigil.json"]
    _, _, before = score_source(open_source(clip), registry.load_scorer("scene-a"), ScoringConfig(fps=5.0))

    shutil.rmtree(trained)  # the worker's machine has no such folder
    with pytest.raises(UnknownModelError):
        registry.load_scorer("scene-a")
    monkeypatch.setattr(registry, "_UNPACKED", [])  # this test's unpacked folder is forgotten afterwards
    where = registry.unpack_model(files)
    assert where is not None and sorted(p.name for p in where.iterdir()) == sorted(files)
    scorer = registry.load_scorer("scene-a")
    _, _, after = score_source(open_source(clip), scorer, ScoringConfig(fps=5.0))
    assert scorer.info.version == json.loads(files["scene-a.vigil.json"])["version"]
    assert np.array_equal(before, after)
    assert registry.unpack_model({}) is None
