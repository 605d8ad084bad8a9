"""Checkpoints and shipped models: the contract between training and inference (the torch half).

The light half (what ONNX Runtime inference needs too: :class:`ModelBundle`, the metadata dict,
default paths, which config and thresholds to use) is :mod:`drumscribe.transcription.bundle`.

Two on-disk forms hold a trained model:

1. **Lightning checkpoint** (``*.ckpt``, written by ``drumscribe train``).  Besides
   Lightning's own keys (``state_dict`` with the network under ``model.``,
   optimizer/scheduler/loop/callback states) it carries

   - ``checkpoint["drumscribe"]``: ``{"version": BUNDLE_VERSION,
     "code_version": str, "class_names": [str], "config": dict,
     "thresholds": [float] (one per class), "cache_key": str}``.  The config
     (``Config.to_dict()``) is stored here only (no Lightning
     ``hyper_parameters`` copy), and the thresholds only in ``thresholds``
     (the stored config's ``postprocessing.class_thresholds`` is null).
     Older checkpoints that also hold ``hyper_parameters["config"]`` and a
     mirrored ``class_thresholds`` load unchanged.

2. **Shipped model**: ``<stem>.safetensors`` (the network's ``state_dict``, no
   prefix) + ``<stem>.json`` sidecar holding the same ``drumscribe`` dict
   (plus ``"format": "drumscribe-model"``).  :func:`export_bundle` writes it.

:func:`load_bundle` reads either form and returns a :class:`ModelBundle`
(network in eval mode on CPU, rebuilt :class:`~drumscribe.core.config.Config`,
per-class thresholds, class names).  Weights are loaded strictly: any
missing/unexpected/mis-shaped tensor is an error.  ``thresholds`` is the
authority for decoding; :func:`save_thresholds` (used by ``drumscribe tune``)
rewrites that one entry atomically.  On loading, the thresholds are put into
the rebuilt config (:func:`config_from_meta`) so ``bundle.config.thresholds()``
agrees.

Which config and which thresholds a command then uses (``--config``, ``--set``,
``--threshold`` against the model's own) is decided once, in :mod:`drumscribe.transcription.bundle`
(:func:`config_for`, :func:`resolve_thresholds`, :func:`resolve`).

Lightning checkpoints are read with ``torch.load(weights_only=True)`` and a
short allow-list of the plain Python types Lightning stores; a checkpoint that
needs anything else is loaded with ``weights_only=False`` after a warning
(only load checkpoints you trust).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from drumscribe.core.atomic import atomic_write_bytes
from drumscribe.transcription.bundle import (BUNDLE_VERSION, SIDECAR_FORMAT, CheckpointError, ModelBundle,
                                          check_meta, check_thresholds, config_without_thresholds, sidecar_path,
                                          config_from_meta, default_model_path, read_sidecar, sidecar_meta)

# ------------------------------------------------------------------ low level

def _safe_globals() -> list:
    import collections
    import pathlib

    items: list = [collections.OrderedDict, collections.defaultdict, pathlib.PosixPath, pathlib.WindowsPath]
    try:
        from lightning.fabric.utilities.data import AttributeDict

        items.append(AttributeDict)
    except Exception:  # pragma: no cover - lightning missing
        pass
    return items


def _torch_load(path: Path) -> dict:
    """``torch.load`` a Lightning checkpoint safely (weights_only with an allow-list), else warn and trust."""
    import pickle

    import torch

    import zipfile

    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: corrupt or not a PyTorch checkpoint (not a torch.save zip archive)")
    try:
        with torch.serialization.safe_globals(_safe_globals()):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" not in str(exc):
            raise CheckpointError(f"{path}: corrupt checkpoint ({exc})") from None
        warnings.warn(
            f"{path}: checkpoint holds objects outside the weights-only allow-list; "
            "loading it with weights_only=False (only load checkpoints you trust)",
            stacklevel=3,
        )
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc2:
            raise CheckpointError(f"{path}: cannot read checkpoint ({type(exc2).__name__}: {exc2})") from None
    except Exception as exc:
        raise CheckpointError(f"{path}: corrupt or unreadable checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path}: not a drumscribe checkpoint (top level is {type(ckpt).__name__})")
    return ckpt


def _network_state(ckpt: dict, path: Path) -> dict:
    sd = ckpt.get("state_dict")
    if not isinstance(sd, dict):
        raise CheckpointError(f"{path}: not a drumscribe checkpoint (no state_dict)")
    net = {k[len("model."):]: v for k, v in sd.items() if k.startswith("model.")}
    if not net:
        raise CheckpointError(f"{path}: not a drumscribe checkpoint (no 'model.*' weights in state_dict)")
    return net


def _build(meta: dict, state: dict, path: Path) -> ModelBundle:
    from drumscribe.training.model import build_model

    cfg, thresholds = config_from_meta(meta, path)
    model = build_model(cfg)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not match the stored model config: {exc}") from None
    model.eval()
    return ModelBundle(
        model=model,
        config=cfg,
        thresholds=thresholds,
        class_names=list(meta.get("class_names") or cfg.class_names),
        path=path,
        cache_key=meta.get("cache_key"),
        meta={k: v for k, v in meta.items() if k != "config"},
    )


# ------------------------------------------------------------------ public

def load_bundle(path: str | Path | None = None) -> ModelBundle:
    """Load a Lightning ``.ckpt`` or a shipped ``.safetensors`` (+ ``.json``) model.

    ``path=None`` loads the shipped model at :func:`default_model_path`.
    Raises :class:`CheckpointError` (a :class:`DrumscribeError`) with the path
    when the file is missing, corrupt or not a drumscribe model.
    """
    if path is None:
        path = default_model_path()
        if not path.is_file():
            raise CheckpointError(
                f"no bundled model found at {path}; pass --checkpoint PATH (a .ckpt from `drumscribe train`)")
    path = Path(path).expanduser()
    if path.suffix == ".json":
        path = path.with_suffix(".safetensors")
    if not path.is_file():
        raise CheckpointError(f"{path}: model file not found")
    if path.suffix.lower() == ".onnx":  # a valid model, for ONNX Runtime: not "corrupt"
        raise CheckpointError(f"{path}: an ONNX model (for transcribe/evaluate); this needs the PyTorch model it "
                              "was exported from: a .ckpt from `drumscribe train` or a .safetensors bundle")
    if path.suffix == ".safetensors":
        meta = read_sidecar(path)
        try:
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        except Exception as exc:
            raise CheckpointError(f"{path}: corrupt safetensors file ({type(exc).__name__}: {exc})") from None
        return _build(check_meta(meta, path), state, path)
    ckpt = _torch_load(path)
    return _build(check_meta(_ckpt_meta(ckpt), path), _network_state(ckpt, path), path)


def _ckpt_meta(ckpt: dict) -> Any:
    meta = ckpt.get("drumscribe")
    if meta is None and isinstance(ckpt.get("hyper_parameters"), dict) and "config" in ckpt["hyper_parameters"]:
        # a checkpoint from before the drumscribe entry existed: rebuild it from the hparams
        meta = {"version": BUNDLE_VERSION, "config": dict(ckpt["hyper_parameters"]["config"])}
    return meta


# Lightning's copy of the hyper-parameters (the config, again): not stored (see the module docstring)
HPARAM_KEYS = ("hyper_parameters", "hparams_name", "hparams_type")

# what Lightning needs to continue a run (``trainer.fit(ckpt_path=...)``)
TRAINING_STATE_KEYS = ("epoch", "global_step", "optimizer_states", "lr_schedulers", "loops")


def load_for_resume(path: str | Path) -> tuple[dict, ModelBundle]:
    """``(raw checkpoint dict, bundle)`` of a ``.ckpt`` to continue training from.

    The same checks as :func:`load_bundle` (corrupt, truncated, not a drumscribe checkpoint, weights
    that do not fit the stored config), plus: a shipped model or a checkpoint without Lightning's
    training state (optimizer, loops) is a :class:`CheckpointError`, not a traceback inside Lightning.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    if path.suffix in (".safetensors", ".json"):
        raise CheckpointError(f"{path}: a shipped model holds no training state; --resume needs a .ckpt "
                              "written by `drumscribe train` (e.g. <name>-last.ckpt)")
    ckpt = _torch_load(path)
    bundle = _build(check_meta(_ckpt_meta(ckpt), path), _network_state(ckpt, path), path)
    missing = [k for k in TRAINING_STATE_KEYS if k not in ckpt]
    if missing:
        raise CheckpointError(f"{path}: not a training checkpoint (no {', '.join(missing)}); --resume needs a "
                              ".ckpt written by `drumscribe train`")
    return ckpt, bundle


def export_bundle(bundle_or_ckpt: ModelBundle | str | Path, out_path_stem: str | Path) -> tuple[Path, Path]:
    """Write ``<stem>.safetensors`` + ``<stem>.json`` from a bundle or a checkpoint path.

    Returns the two paths.  Both files are written atomically.
    """
    from safetensors.torch import save

    bundle = bundle_or_ckpt if isinstance(bundle_or_ckpt, ModelBundle) else load_bundle(bundle_or_ckpt)
    stem = Path(out_path_stem)
    if stem.suffix in (".safetensors", ".json"):
        stem = stem.with_suffix("")
    st_path = stem.parent / f"{stem.name}.safetensors"
    js_path = stem.parent / f"{stem.name}.json"
    state = {k: v.detach().cpu().contiguous() for k, v in bundle.model.state_dict().items()}
    meta = sidecar_meta(bundle)
    atomic_write_bytes(st_path, save(state, metadata={"format": "pt", "drumscribe": SIDECAR_FORMAT}))
    atomic_write_bytes(js_path, (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())
    return st_path, js_path


def save_thresholds(path: str | Path, thresholds: list[float], decoding: dict | None = None) -> None:
    """Atomically replace the per-class thresholds stored with a model.

    ``decoding``: the ``postprocessing`` values (:data:`~drumscribe.core.config.DECODING_KEYS`) the
    thresholds were tuned with, or values fitted to the model (:data:`~drumscribe.core.config.FITTED_KEYS`);
    stored into the model's config with them (None: left as they are).

    ``path``: a ``.ckpt`` (rewritten whole, through a temp file + rename) or a
    ``.safetensors``/``.json`` shipped model (only the sidecar is rewritten).
    Only the meta's ``thresholds`` holds them; the copies older files kept (the stored config's
    ``class_thresholds``, Lightning's ``hyper_parameters``) are dropped on the way.
    """
    path = Path(path).expanduser()
    if path.suffix in (".safetensors", ".json"):
        side = sidecar_path(path)
        if not side.is_file():
            raise CheckpointError(f"{side}: model sidecar not found")
        meta = json.loads(side.read_text())
        if meta.get("format") != SIDECAR_FORMAT:
            raise CheckpointError(f"{side}: not a drumscribe model sidecar")
        th = check_thresholds(thresholds, len(meta["class_names"]), side)
        meta["thresholds"] = th
        meta["config"] = _with_decoding(config_without_thresholds(meta["config"]), decoding)
        atomic_write_bytes(side, (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())
        return
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    ckpt = _torch_load(path)
    meta = check_meta(ckpt.get("drumscribe"), path)
    th = check_thresholds(thresholds, len(meta["class_names"]), path)
    meta["thresholds"] = th
    meta["config"] = _with_decoding(config_without_thresholds(meta["config"]), decoding)
    for key in HPARAM_KEYS:  # an older checkpoint's second copy of the config
        ckpt.pop(key, None)
    write_checkpoint(path, ckpt)


def write_checkpoint(path: str | Path, ckpt: dict) -> None:
    """``torch.save`` of a checkpoint dict, written atomically (a kill mid-save leaves the previous file whole)."""
    import io

    import torch

    buf = io.BytesIO()
    torch.save(ckpt, buf)
    atomic_write_bytes(Path(path), buf.getvalue())


def _with_decoding(raw: dict, decoding: dict | None) -> dict:
    """``raw`` config dict with ``postprocessing`` updated by ``decoding`` (validated keys only)."""
    if not decoding:
        return raw
    from drumscribe.core.config import DECODING_KEYS, FITTED_KEYS

    unknown = set(decoding) - set(DECODING_KEYS) - set(FITTED_KEYS)
    if unknown:
        raise ValueError(f"not decoding settings: {sorted(unknown)}")
    raw = dict(raw)
    raw["postprocessing"] = {**raw.get("postprocessing", {}), **decoding}
    return raw


# ------------------------------------------------------------------ where a run writes

def checkpoint_prefix(filename: str) -> str:
    """The fixed head of ``checkpoint.filename`` (``t-{epoch:02d}-{val_loss:.4f}`` -> ``t``): every file a run
    writes is ``<prefix>-....ckpt`` (its ``-last.ckpt`` included)."""
    i = filename.find("-{")
    return filename[:i] if i >= 0 else filename.split("{")[0].rstrip("-_")


def run_checkpoints(dirpath: str | Path, filename: str) -> list[Path]:
    """The ``.ckpt`` files in ``dirpath`` that a run with ``checkpoint.filename`` could write over or sit beside
    as its own (same prefix); sorted."""
    folder = Path(dirpath).expanduser()
    prefix = checkpoint_prefix(filename)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.ckpt")
                  if not prefix or p.name == f"{prefix}.ckpt" or p.name.startswith(f"{prefix}-"))


def check_run_outputs(cfg, history: Path, *, resume=None, init_from=None, overwrite: bool = False) -> None:
    """Before a training run starts (no Trainer, no log folder, no history written yet):

    * ``checkpoint.dirpath`` and the history's folder can be written (a file in the way, a read-only or
      unwritable folder): :class:`~drumscribe.core.errors.ConfigError` naming the key and the path;
    * a fresh run (no ``resume``) never replaces another run's checkpoints (``<prefix>-*.ckpt`` in
      ``checkpoint.dirpath``) or its ``metrics_history.csv`` without ``overwrite``:
      :class:`~drumscribe.core.errors.OutputExistsError` listing what is there and the three ways on;
    * the ``init_from`` model is an input: never written over, not even with ``overwrite``.
    """
    from drumscribe.core.atomic import check_destination
    from drumscribe.core.errors import ConfigError, OutputExistsError, os_error_line
    from drumscribe.core.outputs import file_ids

    folder = Path(cfg.checkpoint.dirpath).expanduser()
    for key, target in (("checkpoint.dirpath", folder / "probe.ckpt"), ("logging.save_dir", Path(history))):
        try:
            check_destination(target)
        except OSError as exc:
            raise ConfigError(f"{key}: {os_error_line(exc, target.parent)} (a folder this run can write is "
                              "needed)") from None
    if resume is not None:  # continuing a run rewrites its own checkpoints and history
        return
    mine = run_checkpoints(folder, cfg.checkpoint.filename)
    if init_from is not None and str(init_from) != "default":
        source = file_ids([Path(init_from).expanduser()])
        for p in mine:
            if set(file_ids([p])) & set(source):
                raise OutputExistsError(f"{p}: is the --init-from model of this run; refusing to write over it "
                                        "(copy it elsewhere, or set checkpoint.dirpath to another folder)")
    if overwrite:
        return
    history = Path(history)
    if not mine and not history.exists():
        return
    parts = []
    if mine:
        shown = ", ".join(p.name for p in mine[:3]) + (f" and {len(mine) - 3} more" if len(mine) > 3 else "")
        parts.append(f"{folder} holds an earlier run's checkpoints ({shown})")
    if history.exists():
        parts.append(f"{history} is an earlier run's history")
    last = next((p for p in mine if p.name.endswith("-last.ckpt")), None)
    raise OutputExistsError(f"{'; '.join(parts)}: a fresh run would replace them; pass --resume {last or 'CKPT'} "
                            "to continue that run, --overwrite to start over, or set checkpoint.dirpath and "
                            "logging.experiment_name to new names")
