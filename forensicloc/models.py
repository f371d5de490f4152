"""Model directories: a trained scorer as ``model.safetensors`` + ``config.json``.

A model directory holds everything needed to score a video the way the scorer was
trained, and nothing executable (no pickle)::

    model.safetensors   the scorer's tensors (Scorer.state()[0])
    config.json         scorer name and options, plugin distribution and version,
                        forensicloc version, extractor name/config/version, feature
                        dimensions and rate, training data summary, validation
                        metrics, and the scorer's own metadata (Scorer.state()[1])

:func:`load_model` checks each of these before a video is scored: the directory and
both files exist, the JSON parses, the scorer is installed, and — when the caller says
which features it has — the extractor and the feature dimensions match. Each failure is
a :class:`~forensicloc.errors.ModelError` naming the file and the fix.

Default models: ``forensicloc train`` records the directory it wrote as the default
model of its scorer, so ``forensicloc run --scorer NAME`` works without ``--model``.
Without ``--out`` it writes to :func:`default_model_dir` (``$FORENSICLOC_HOME/models/
<scorer>``, ``FORENSICLOC_HOME`` defaulting to ``~/.local/share/forensicloc``); with
``--out`` the path is recorded in ``$FORENSICLOC_HOME/models/defaults.json``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from forensicloc.api import DEFAULT_RATE, FeatureExtractor, Scorer, component_config
from forensicloc.errors import ForensiclocError, ModelError

__all__ = [
    "CONFIG_FILE",
    "MODEL_FILE",
    "ModelCard",
    "check_features",
    "default_model_dir",
    "find_default_model",
    "load_model",
    "read_card",
    "save_model",
    "set_default_model",
]

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
DEFAULTS_FILE = "defaults.json"
#: layout version of config.json; bump on an incompatible change
CARD_FORMAT = 1


@dataclass
class ModelCard:
    """The content of ``config.json``: what was trained, on what, and how well."""

    scorer: str
    scorer_options: dict[str, Any]
    extractor: dict[str, Any]
    dims: dict[str, int]
    rate: float = DEFAULT_RATE
    plugin: dict[str, Any] = field(default_factory=dict)
    forensicloc_version: str = ""
    train: dict[str, Any] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    format: int = CARD_FORMAT
    #: where it was loaded from (not written)
    directory: Path | None = field(default=None, compare=False)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("directory")
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any], directory: Path | None = None) -> ModelCard:
        required = ("scorer", "scorer_options", "extractor", "dims")
        missing = [k for k in required if k not in data]
        if missing:
            raise ModelError(
                f"{_file(directory, CONFIG_FILE)} lacks {', '.join(missing)}",
                hint="the file is not a forensicloc model config (or is damaged); retrain the model",
            )
        known = {f for f in cls.__dataclass_fields__ if f != "directory"}
        card = cls(**{k: v for k, v in data.items() if k in known})
        if not (isinstance(card.scorer, str) and isinstance(card.scorer_options, dict)
                and isinstance(card.extractor, dict) and isinstance(card.dims, dict)):
            raise ModelError(f"{_file(directory, CONFIG_FILE)} has fields of the wrong type",
                             hint="the file is damaged; retrain the model")
        card.directory = directory
        return card


def _file(directory: Path | str | None, name: str) -> str:
    return str(Path(directory) / name) if directory is not None else name


def _train_hint(scorer: str | None) -> str:
    name = scorer or "NAME"
    return f"train one with `forensicloc train --scorer {name} --dataset DIR`"


# --------------------------------------------------------------------------- save


def save_model(
    scorer: Scorer,
    directory: str | os.PathLike[str],
    *,
    extractor: FeatureExtractor,
    train_summary: Mapping[str, Any] | None = None,
    validation: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``scorer`` (trained) to ``directory``; returns the directory.

    Both files are written to temporary names and renamed, so an interrupted save never
    leaves a half-written model where a good one was.
    """
    from safetensors.numpy import save_file

    from forensicloc import __version__
    from forensicloc.report import write_json

    directory = Path(directory)
    tensors, meta = scorer.state()
    card = ModelCard(
        scorer=scorer.name,
        scorer_options=component_config(scorer),
        extractor={
            "name": extractor.name,
            "config": component_config(extractor),
            "version": str(getattr(extractor, "version", "")),
        },
        dims={k: int(v) for k, v in extractor.dims().items()},
        rate=float(getattr(extractor, "rate", DEFAULT_RATE)),
        plugin=_plugin_of(scorer.name),
        forensicloc_version=__version__,
        train=dict(train_summary or {}),
        validation=dict(validation or {}),
        meta=dict(meta),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create model directory {directory}: {exc.strerror}", path=directory,
                         hint="choose a writable --out directory") from None
    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    fd, tmp = tempfile.mkstemp(prefix=f".{MODEL_FILE}.", dir=directory)
    os.close(fd)
    try:
        save_file(arrays, tmp)
        os.replace(tmp, directory / MODEL_FILE)
    finally:
        Path(tmp).unlink(missing_ok=True)
    write_json(directory / CONFIG_FILE, card.as_json())  # numpy values converted, NaN -> null
    return directory


def _plugin_of(scorer_name: str) -> dict[str, Any]:
    """The plugin (entry point name, distribution, version) that registered the scorer."""
    from forensicloc.plugins import get_plugins, registry

    try:
        owner = registry("scorer").owner(scorer_name)
    except KeyError:
        return {}
    info = get_plugins().infos.get(owner)
    return {
        "name": owner,
        "distribution": info.distribution if info else None,
        "version": info.version if info else None,
    }


# --------------------------------------------------------------------------- load


def read_card(directory: str | os.PathLike[str], scorer_hint: str | None = None) -> ModelCard:
    """Read and check ``config.json`` of a model directory (no tensors loaded)."""
    directory = Path(directory)
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise ModelError(f"model directory {directory} {what}", path=directory, hint=_train_hint(scorer_hint))
    config = directory / CONFIG_FILE
    if not config.is_file():
        raise ModelError(
            f"{config} is missing: {directory} is not a model directory",
            path=config,
            hint=f"point --model at a directory written by `forensicloc train`, or {_train_hint(scorer_hint)}",
        )
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{config} is not valid JSON ({exc})", path=config,
                         hint=f"the model is damaged; {_train_hint(scorer_hint)}") from None
    if not isinstance(data, dict):
        raise ModelError(f"{config} does not hold a JSON object", path=config, hint=_train_hint(scorer_hint))
    if data.get("format", CARD_FORMAT) != CARD_FORMAT:
        raise ModelError(f"{config} has model format {data.get('format')!r}; this forensicloc reads {CARD_FORMAT}",
                         path=config, hint=_train_hint(data.get("scorer")))
    return ModelCard.from_json(data, directory)


def load_model(
    directory: str | os.PathLike[str],
    *,
    features_dims: Mapping[str, int] | None = None,
    extractor_name: str | None = None,
    scorer: str | None = None,
    device: str = "cpu",
) -> tuple[Scorer, ModelCard]:
    """Load a trained scorer from a model directory, checking it fits the features.

    :param scorer: the scorer the caller expects (``None``: whichever the model holds).
    :param features_dims: the dims of the features it will score (e.g.
        ``extractor.dims()``); ``None`` skips the check.
    :param extractor_name: the extractor that will make those features; ``None`` skips.
    :returns: ``(scorer, card)``, the scorer moved to ``device``.
    :raises ModelError: naming the file and the fix, for every way this can fail.
    """
    from forensicloc.plugins import create, registry

    card = read_card(directory, scorer)
    directory = Path(directory)
    config = directory / CONFIG_FILE
    if scorer is not None and card.scorer != scorer:
        raise ModelError(
            f"{config}: this is a model of scorer {card.scorer!r}, not {scorer!r}",
            path=config,
            hint=f"use --scorer {card.scorer}, or point --model at a {scorer} model ({_train_hint(scorer)})",
        )
    if card.scorer not in registry("scorer"):
        dist = (card.plugin or {}).get("distribution")
        raise ModelError(
            f"{config}: the model is for scorer {card.scorer!r}, which no installed plugin provides",
            path=config,
            hint=f"install the plugin {dist!r}" if dist else "install the plugin that provides it (`forensicloc plugins` lists what is installed)",
        )
    check_features(card, dims=features_dims, extractor_name=extractor_name)
    tensors = _read_tensors(directory / MODEL_FILE, card.scorer)
    try:
        model = create("scorer", card.scorer, dict(card.scorer_options))
    except ForensiclocError as exc:
        raise ModelError(f"{config}: the saved options do not fit the installed scorer ({exc.message})",
                         path=config, hint=_train_hint(card.scorer)) from None
    model.to(device)
    try:
        model.load_state(tensors, card.meta)
    except ModelError:
        raise
    except Exception as exc:  # shape/key mismatch: written by another version of the plugin
        raise ModelError(
            f"{directory / MODEL_FILE} does not fit scorer {card.scorer!r}: {type(exc).__name__}: {exc}",
            path=directory / MODEL_FILE,
            hint=f"the model comes from another version of its plugin; {_train_hint(card.scorer)}",
        ) from None
    return model, card


def check_features(
    card: ModelCard, *, dims: Mapping[str, int] | None = None, extractor_name: str | None = None
) -> None:
    """Refuse features the model was not trained on: another extractor, other dims."""
    config = _file(card.directory, CONFIG_FILE)
    trained_with = card.extractor.get("name")
    if extractor_name is not None and trained_with != extractor_name:
        raise ModelError(
            f"{config}: the model was trained on features of extractor {trained_with!r}, not {extractor_name!r}",
            path=config,
            hint=f"use --extractor {trained_with}, or {_train_hint(card.scorer)} --extractor {extractor_name}",
        )
    if dims is not None and dict(dims) != {k: int(v) for k, v in card.dims.items()}:
        raise ModelError(
            f"{config}: the model expects feature dims {card.dims}, the features have {dict(dims)}",
            path=config,
            hint=f"use the extractor and options it was trained with ({trained_with}, {card.extractor.get('config')}), "
            f"or {_train_hint(card.scorer)}",
        )


def _read_tensors(path: Path, scorer: str) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    if not path.is_file():
        raise ModelError(f"{path} is missing", path=path, hint=f"the model is incomplete; {_train_hint(scorer)}")
    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types on a damaged file
        raise ModelError(f"{path} is not a valid safetensors file ({exc})", path=path,
                         hint=f"the model is damaged; {_train_hint(scorer)}") from None


# --------------------------------------------------------------------------- defaults


def default_model_dir(scorer_name: str) -> Path:
    """Where ``forensicloc train`` writes a scorer's model when no ``--out`` is given:
    ``forensicloc.paths.models_dir() / <scorer>`` (under ``FORENSICLOC_HOME``)."""
    from forensicloc.paths import models_dir

    return models_dir() / scorer_name


def _defaults_file() -> Path:
    from forensicloc.paths import models_dir

    return models_dir() / DEFAULTS_FILE


def set_default_model(scorer_name: str, directory: str | os.PathLike[str]) -> None:
    """Record ``directory`` as the model ``run`` uses for ``scorer_name`` by default."""
    from forensicloc.report import write_json

    path = _defaults_file()
    defaults = _read_defaults(path)
    defaults[scorer_name] = str(Path(directory).resolve())
    write_json(path, dict(sorted(defaults.items())))


def _read_defaults(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # absent or damaged: fall back to the default directories
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def find_default_model(scorer_name: str) -> Path:
    """The recorded default model of ``scorer_name``, else :func:`default_model_dir`."""
    recorded = _read_defaults(_defaults_file()).get(scorer_name)
    return Path(recorded) if recorded else default_model_dir(scorer_name)
