"""Model core: which scorers exist, whether each can run here, and how to load one.

Two sources of models, both described by the same ``ModelSpec``:
- the families' ``builtin`` specs (``core.families``): models that need no training, whose weight files
  take their sha256 and download URL from the catalogue in ``models/manifest.json``;
- model cards ``*.vigil.json`` found in the model folders: models trained by ``python -m core train``
  (their artifact file sits beside the card).

Weights are looked up in ``VIGIL_MODELS_DIR`` (``core.settings``: one or more folders) and then in the
project's ``models/``. A missing file with a known URL is downloaded when the network
answers; otherwise the model is reported "not available: put FILE in DIR" and never crashes a caller.

A spec's ``kind`` names its family (``core.families``), whose ``build(spec, resolve)`` returns the
``Scorer``; ``resolve(filename) -> Path`` finds (or downloads) the weight and artifact files.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from core.config import project_models_dir
from core.errors import ModelUnavailableError, UnknownModelError
from core.scorers.base import Scorer
from core.settings import settings

CARD_SUFFIX = ".vigil.json"
# Folders of model cards searched before all others: a batch worker unpacks the driver's trained model there
# (``unpack_model``), so it scores with exactly that model even on a node that cannot read the driver's folder.
_UNPACKED: list[Path] = []


@dataclass(frozen=True)
class WeightFile:
    file: str
    sha256: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str
    version: str = "1"
    description: str = ""
    featurizer: str = ""
    weights: tuple[WeightFile, ...] = ()
    params: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    card_path: Path | None = None  # set for trained models: the artifact lives beside the card
    summary: str = ""  # what it finds, in one line for people who are not engineers ("" : the description)

    @classmethod
    def from_dict(cls, d: dict, card_path: Path | None = None) -> ModelSpec:
        return cls(
            name=d["name"],
            kind=d["kind"],
            version=str(d.get("version", "1")),
            description=d.get("description", ""),
            featurizer=d.get("featurizer", ""),
            weights=tuple(WeightFile(**w) for w in d.get("weights", [])),
            params=d.get("params", {}),
            metrics=d.get("metrics", {}),
            card_path=card_path,
            summary=d.get("summary", ""),
        )


@dataclass(frozen=True)
class ModelStatus:
    spec: ModelSpec
    available: bool
    reason: str = ""  # why not, in words a user can act on
    limits: str = ""  # it runs, but without a part (the family's ``limits``), in words a user can act on
    summary: str = ""  # what it finds here, one plain line (the family's ``summary``; "" : the spec's summary)

    @property
    def plain(self) -> str:
        """The line Home and the pickers show: what this model finds on this server."""
        return self.summary or self.spec.summary or self.spec.description


def search_dirs() -> list[Path]:
    """Folders searched for weights and model cards, first match wins."""
    dirs = list(settings().models_dirs)
    dirs.append(project_models_dir())
    seen: list[Path] = []
    for d in dirs:
        if d not in seen:
            seen.append(d)
    return seen


def trained_dir() -> Path:
    """Where ``train`` writes new models: ``$VIGIL_TRAINED_DIR`` or ``<data dir>/models``."""
    return settings().models_trained_dir


def _manifest() -> dict:
    return json.loads((project_models_dir() / "manifest.json").read_text())


def catalogue_files() -> list[str]:
    """The weight files the catalogue lists (``models/manifest.json``), in its order."""
    return [w["file"] for w in _manifest().get("weights", [])]


def catalogued_weight(filename: str) -> WeightFile:
    """The manifest catalogue's entry (file, sha256, url) for a weight file; just the name when unlisted."""
    for w in _manifest().get("weights", []):
        if w["file"] == filename:
            return WeightFile(w["file"], w.get("sha256"), w.get("url"))
    return WeightFile(filename)


def weight_path(filename: str) -> Path:
    """Local path of a catalogued weight file (downloaded when a URL is known and the network answers)."""
    return resolve_weight(catalogued_weight(filename))


def weight_card_entry(filename: str) -> dict:
    """A trained card's ``weights`` entry for a catalogued file, so the card alone can fetch it."""
    w = catalogued_weight(filename)
    return {"file": w.file, "sha256": w.sha256, "url": w.url}


def _builtin() -> list[ModelSpec]:
    from core import families

    out = []
    for fam in families.all_families().values():
        for d in fam.builtin:
            weights = d.get("weights", fam.weights)
            entries = [weight_card_entry(w) if isinstance(w, str) else w for w in weights]
            out.append(ModelSpec.from_dict({"kind": fam.kind, **d, "weights": entries}))
    return out


def _cards() -> list[ModelSpec]:
    out = []
    for d in [*_UNPACKED, trained_dir(), *search_dirs()]:
        if not d.is_dir():
            continue
        for card in sorted(d.glob(f"*{CARD_SUFFIX}")):
            try:
                out.append(ModelSpec.from_dict(json.loads(card.read_text()), card_path=card))
            except (ValueError, KeyError, TypeError):
                continue  # a broken card hides that model only
    return out


def specs() -> dict[str, ModelSpec]:
    """All known models by name; a trained card overrides nothing built in (first one wins)."""
    out: dict[str, ModelSpec] = {}
    for spec in [*_builtin(), *_cards()]:
        out.setdefault(spec.name, spec)
    return out


def get_spec(name: str) -> ModelSpec:
    all_specs = specs()
    if name not in all_specs:
        raise UnknownModelError(f"Unknown model '{name}'. Known models: {', '.join(sorted(all_specs))}.")
    return all_specs[name]


def find_file(filename: str, spec: ModelSpec | None = None) -> Path | None:
    dirs = ([spec.card_path.parent] if spec and spec.card_path else []) + search_dirs()
    for d in dirs:
        p = d / filename
        if p.is_file():
            return p
    return None


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def download(url: str, dest: Path, sha256: str | None = None, timeout: float = 20.0) -> Path:
    """Fetch ``url`` to ``dest`` atomically, checking the hash. Raises ModelUnavailableError offline."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".download-")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310
            shutil.copyfileobj(resp, out)
        if sha256 and sha256_file(Path(tmp)) != sha256:
            raise ModelUnavailableError(f"Downloaded {dest.name} but its checksum does not match; not used.")
        os.replace(tmp, dest)
        return dest
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise ModelUnavailableError(f"Could not download {dest.name} from {url} ({reason}).") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _missing_message(w: WeightFile) -> str:
    where = " or ".join(str(d) for d in search_dirs())
    return f"not available: put {w.file} in {where}"


def resolve_weight(w: WeightFile, spec: ModelSpec | None = None, allow_download: bool = True) -> Path:
    """Path to a weight file, downloading it if a URL is known and the network answers."""
    found = find_file(w.file, spec)
    if found:
        return found
    if w.url and allow_download:
        target_dir = next((d for d in search_dirs() if os.access(d, os.W_OK)), project_models_dir())
        try:
            return download(w.url, target_dir / w.file, w.sha256)
        except ModelUnavailableError as err:
            raise ModelUnavailableError(f"{err} {_missing_message(w).capitalize()}.") from None
    raise ModelUnavailableError(_missing_message(w).capitalize() + ".")


def status(name: str) -> ModelStatus:
    """Can this model run here? Never raises for a known name; does not download."""
    from core import families

    spec = get_spec(name)
    if families.get(spec.kind) is None:
        return ModelStatus(spec, False, f"not available: the '{spec.kind}' runtime is not installed")
    missing = [w for w in spec.weights if find_file(w.file, spec) is None]
    if missing:
        hint = " (downloaded on first use when online)" if all(w.url for w in missing) else ""
        return ModelStatus(spec, False, _missing_message(missing[0]) + hint)
    family = families.get(spec.kind)
    limits = family.limits(spec) if family.limits else ""
    return ModelStatus(spec, True, limits=limits, summary=family.summary(spec, limits) if family.summary else "")


def list_models() -> list[ModelStatus]:
    return [status(n) for n in specs()]


def load_scorer(name: str, allow_download: bool = True) -> Scorer:
    """Build the scorer ``name``. Raises UnknownModelError or ModelUnavailableError, never crashes."""
    from core import families

    spec = get_spec(name)
    family = families.get(spec.kind)
    if family is None:
        raise ModelUnavailableError(f"Model '{name}' is not available: the '{spec.kind}' runtime is not installed.")
    for w in spec.weights:
        resolve_weight(w, spec, allow_download)

    def resolve(filename: str) -> Path:
        for w in spec.weights:
            if w.file == filename:
                return resolve_weight(w, spec, allow_download)
        found = find_file(filename, spec)
        if found is None:
            raise ModelUnavailableError(f"Model '{name}': " + _missing_message(WeightFile(filename)) + ".")
        return found

    try:
        return family.build(spec, resolve)
    except ImportError as err:
        raise ModelUnavailableError(
            f"Model '{name}' is not available: Python package '{err.name}' is missing ({err})."
        ) from None


def model_files(name: str) -> dict[str, bytes]:
    """A trained model's card and artifact as ``{file name: bytes}`` ({} for a built-in model): what a worker on
    another machine needs to load it (``unpack_model``). Raises UnknownModelError."""
    spec = get_spec(name)
    if spec.card_path is None:
        return {}
    files = {spec.card_path.name: spec.card_path.read_bytes()}
    artifact = spec.params.get("artifact")
    if artifact and (spec.card_path.parent / artifact).is_file():
        files[artifact] = (spec.card_path.parent / artifact).read_bytes()
    return files


def unpack_model(files: dict[str, bytes]) -> Path | None:
    """Write ``model_files``' output to a private folder searched before every other (this process only);
    returns it (None for no files). The folder goes when the process ends."""
    if not files:
        return None
    directory = Path(tempfile.mkdtemp(prefix="vigil-model-"))
    atexit.register(shutil.rmtree, directory, True)
    for filename, data in files.items():
        (directory / Path(filename).name).write_bytes(data)  # names only: nothing lands outside the folder
    _UNPACKED.insert(0, directory)
    return directory


def write_card(card: dict, directory: Path | None = None) -> Path:
    """Save a trained model's card (its artifact must already be beside it). Returns the card path."""
    directory = directory or trained_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{card['name']}{CARD_SUFFIX}"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(card, indent=2, sort_keys=True))
    os.replace(tmp, path)
    return path
