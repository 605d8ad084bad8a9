"""Which model, which config, which thresholds: the light half of the model contract (no torch).

What a model file carries and how it is read is documented in :mod:`drumscribe.training.checkpoint`
(the torch half: ``.ckpt``/``.safetensors`` loading, saving, export).  This module holds what every
backend shares, the ONNX Runtime one included: :class:`ModelBundle`, the ``drumscribe`` metadata dict
(:func:`make_meta`, :func:`config_from_meta`), the default model paths, and the one decision of which
config and thresholds a command uses (:func:`config_for`, :func:`resolve_thresholds`, :func:`resolve`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
from pathlib import Path
from typing import Any

from drumscribe.core.errors import DrumscribeError

BUNDLE_VERSION = 1
SIDECAR_FORMAT = "drumscribe-model"
DEFAULT_MODEL_STEM = "drumscribe-default"


class CheckpointError(DrumscribeError):
    """A checkpoint / model file is missing, corrupt, or not a drumscribe model."""


@dataclass
class ModelBundle:
    """What inference needs.  ``model``: a torch :class:`~drumscribe.training.model.DrumTranscriptionCRNN` (eval mode) or an
    :class:`~drumscribe.transcription.onnx_runtime.OnnxModel`."""

    model: Any
    config: Any
    thresholds: list[float]
    class_names: list[str]
    path: Path | None
    cache_key: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        check_class_counts(self.path, self.class_names, self.thresholds, getattr(self.model, "n_classes", None),
                           getattr(self.config, "n_classes", None))


def check_class_counts(where, class_names, thresholds, n_outputs=None, n_config=None) -> None:
    """A model's class names, thresholds, config and network outputs must agree in number (a sidecar that
    disagrees with its graph is refused at load, in one line naming the file)."""
    counts = {"class names": len(class_names or [])}
    if thresholds:
        counts["thresholds"] = len(thresholds)
    if n_config is not None:
        counts["config classes (model.n_classes)"] = int(n_config)
    if n_outputs is not None:
        counts["network outputs"] = int(n_outputs)
    if len(set(counts.values())) > 1:
        side = sidecar_path(Path(where)) if where is not None and Path(where).suffix in (".onnx", ".safetensors") else where
        raise CheckpointError(f"{side}: the model's class counts disagree ("
                              + ", ".join(f"{v} {k}" for k, v in counts.items()) + "); not usable")


def default_model_path() -> Path:
    """Where the shipped model lives inside the package (may not exist yet)."""
    return Path(__file__).resolve().parents[1] / "pretrained" / f"{DEFAULT_MODEL_STEM}.safetensors"


def make_meta(cfg, thresholds: list[float] | None = None, licence: dict | None = None) -> dict[str, Any]:
    """The ``checkpoint["drumscribe"]`` dict for a config; ``licence``: the weights licence and credits the
    model carries (a model trained from another one's weights: :func:`derived_licence`), else none."""
    from drumscribe.core.version import __version__
    from drumscribe.dataset.cache import cache_key

    th = list(thresholds) if thresholds is not None else cfg.thresholds()
    meta = {
        "version": BUNDLE_VERSION,
        "code_version": __version__,
        "class_names": list(cfg.class_names),
        "config": config_without_thresholds(cfg.to_dict()),
        "thresholds": [float(x) for x in th],
        "cache_key": cache_key(cfg),
    }
    if isinstance(licence, dict):
        meta["licence"] = dict(licence)
    return meta


def derived_licence(source: "ModelBundle") -> dict | None:
    """The licence of a model trained from ``source``'s weights (``drumscribe train --init-from``): the weights
    are an adaptation of ``source``'s, so its weights licence (share-alike) and its credits follow, and
    ``derived_from`` (oldest first) says which model they came from.  ``None`` when ``source`` states none."""
    lic = source.meta.get("licence")
    if not isinstance(lic, dict):
        return None
    out = dict(lic)
    name = source.path.name if source.path is not None else "?"
    out["derived_from"] = list(lic.get("derived_from") or []) + [{
        "model": name, "code_version": source.meta.get("code_version"),
        "how": (f"weights initialised from {name} (drumscribe train --init-from), then trained further: its weights "
                "licence and credits apply; the material of the further training is not recorded here")}]
    return out


def config_without_thresholds(raw: dict) -> dict:
    """The config dict to store: per-class thresholds live in the meta's ``thresholds`` only."""
    raw = dict(raw)
    if isinstance(raw.get("postprocessing"), dict):
        raw["postprocessing"] = {**raw["postprocessing"], "class_thresholds": None}
    return raw


def config_from_meta(meta: dict, where: Path):
    """``(Config, thresholds)`` from a model's ``drumscribe`` dict (checkpoint, sidecar of a
    ``.safetensors`` or ``.onnx`` model); :class:`CheckpointError` naming ``where`` when invalid.

    The thresholds are ``meta["thresholds"]`` (else the config's); when they differ from what the
    stored config gives, they become its ``postprocessing.class_thresholds``.
    """
    from drumscribe.core.config import config_from_dict
    from drumscribe.core.errors import ConfigError

    raw = dict(meta["config"])
    if isinstance(raw.get("egmd_midi_mapping"), dict):  # JSON turned the int note keys into strings
        raw["egmd_midi_mapping"] = {int(k): v for k, v in raw["egmd_midi_mapping"].items()}
    try:
        cfg = config_from_dict(raw)
    except ConfigError as exc:
        raise CheckpointError(f"{where}: stored config is invalid ({exc})") from None
    thresholds = [float(x) for x in meta.get("thresholds") or cfg.thresholds()]
    if len(thresholds) != cfg.n_classes:
        raise CheckpointError(f"{where}: {len(thresholds)} thresholds for {cfg.n_classes} classes")
    if thresholds != cfg.thresholds():
        cfg.postprocessing.class_thresholds = list(thresholds)
    return cfg, thresholds


def check_meta(meta: Any, path: Path) -> dict:
    if not isinstance(meta, dict) or "config" not in meta:
        raise CheckpointError(f"{path}: not a drumscribe checkpoint (no 'drumscribe' metadata)")
    if int(meta.get("version", 0)) > BUNDLE_VERSION:
        raise CheckpointError(
            f"{path}: made by a newer drumscribe (bundle version {meta.get('version')} > {BUNDLE_VERSION}); upgrade")
    return meta


def sidecar_path(path: Path) -> Path:
    return path.with_suffix(".json")


def read_sidecar(model_path: Path) -> dict:
    """The ``.json`` sidecar of a shipped/exported model file (``.safetensors`` or ``.onnx``), checked.

    :class:`CheckpointError` naming the file when it is missing, corrupt or not a drumscribe sidecar.
    """
    side = sidecar_path(model_path)
    if not side.is_file():
        raise CheckpointError(f"{model_path}: sidecar {side.name} (config, thresholds, class names) not found")
    try:
        meta = json.loads(side.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{side}: corrupt sidecar ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != SIDECAR_FORMAT or "config" not in meta:
        raise CheckpointError(f"{side}: not a drumscribe model sidecar")
    return meta


def sidecar_meta(bundle: "ModelBundle") -> dict[str, Any]:
    """What a model file's ``.json`` sidecar holds for ``bundle`` (config, thresholds, classes, cache key, and
    the weights licence and credits of the model it came from: an export keeps them)."""
    meta = make_meta(bundle.config, bundle.thresholds, bundle.meta.get("licence"))
    meta["class_names"] = list(bundle.class_names)
    if bundle.cache_key:
        meta["cache_key"] = bundle.cache_key
    meta["format"] = SIDECAR_FORMAT
    meta["source"] = str(bundle.path) if bundle.path else None
    return meta


def check_thresholds(thresholds, n_classes: int, path: Path) -> list[float]:
    th = [float(x) for x in thresholds]
    if len(th) != n_classes:
        raise CheckpointError(f"{path}: need {n_classes} thresholds, got {len(th)}")
    if not all(0.0 < x < 1.0 for x in th):
        raise CheckpointError(f"{path}: thresholds must be in (0, 1), got {th}")
    return th


# ------------------------------------------------------------------ which config, which thresholds

# ``--set`` keys that choose thresholds from the config instead of the model's tuned ones
THRESHOLD_KEYS = ("postprocessing.onset_threshold", "postprocessing.class_thresholds")


def config_for(bundle: ModelBundle, config_path: str | Path | None, overrides=None):
    """The config to evaluate/tune/transcribe with: ``--config`` (+ ``--set``) if given, else the
    bundle's (+ ``--set``).

    With ``--config``, its features and classes must be the model's (else the cache would not fit it):
    a mismatch is a :class:`~drumscribe.core.errors.ConfigError` naming the key.  ``--set
    postprocessing.onset_threshold=X`` without ``class_thresholds`` means X for every class (the
    bundle's per-class thresholds are dropped from its config).
    """
    from drumscribe.core.config import config_from_dict, load_config
    from drumscribe.core.errors import ConfigError
    from drumscribe.audio.features import feature_params

    overrides = list(overrides or [])
    if config_path is None:
        raw = bundle.config.to_dict()
        if _sets(overrides, THRESHOLD_KEYS[0]) and not _sets(overrides, THRESHOLD_KEYS[1]):
            raw = config_without_thresholds(raw)
        return config_from_dict(raw, overrides)
    cfg = load_config(config_path, overrides)
    if feature_params(cfg.audio) != feature_params(bundle.config.audio):
        raise ConfigError(f"{config_path}: audio.* differs from the checkpoint's feature settings "
                          f"{feature_params(bundle.config.audio)}; the model cannot read these features")
    if cfg.class_names != list(bundle.class_names):
        raise ConfigError(f"{config_path}: midi.drum_names {cfg.class_names} differ from the checkpoint's "
                          f"{list(bundle.class_names)}")
    return cfg


def _sets(overrides, key: str) -> bool:
    return any(o.split("=", 1)[0].strip() == key for o in overrides)


def thresholds_overridden(overrides) -> bool:
    """Whether ``--set`` items name a threshold key (:data:`THRESHOLD_KEYS`)."""
    return any(o.split("=", 1)[0].strip().startswith(THRESHOLD_KEYS) for o in overrides or [])


def resolve_thresholds(bundle: ModelBundle, cfg, cli_threshold: float | None, from_config: bool = False) -> list[float]:
    """``--threshold`` (all classes) > ``--set`` threshold keys (``from_config``) > the model's (tuned)
    thresholds > the config's."""
    n = len(bundle.class_names)
    if cli_threshold is not None:
        if not 0.0 < cli_threshold < 1.0:
            from drumscribe.core.errors import ConfigError

            raise ConfigError(f"--threshold must be in (0, 1), got {cli_threshold}")
        return [float(cli_threshold)] * n
    if from_config:
        return cfg.thresholds()
    return list(bundle.thresholds) if bundle.thresholds else cfg.thresholds()


def resolve(bundle: ModelBundle, config_path: str | Path | None = None, overrides=None,
            cli_threshold: float | None = None):
    """``(config, thresholds)`` a command uses with ``bundle``: :func:`config_for` then :func:`resolve_thresholds`."""
    overrides = list(overrides or [])
    cfg = config_for(bundle, config_path, overrides)
    return cfg, resolve_thresholds(bundle, cfg, cli_threshold, from_config=thresholds_overridden(overrides))
