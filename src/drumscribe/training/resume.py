"""Checks and settings for ``drumscribe train --resume CKPT`` (used by :func:`drumscribe.training.module.fit`).

Before any Trainer or logger exists, :func:`check_resume`:

* reads the checkpoint with the loader's checks (:func:`drumscribe.training.checkpoint.load_for_resume`):
  corrupt, truncated, not a drumscribe checkpoint, no training state -> one-line
  :class:`~drumscribe.transcription.bundle.CheckpointError`;
* refuses a checkpoint whose network, features or classes differ from ``--config``
  (``model.*`` that change the weights' shapes, ``audio.*`` feature settings, ``midi.drum_names``,
  ``egmd_midi_mapping``), naming the first differing key;
* refuses a target epoch count (``--max-epochs`` or ``training.num_epochs``) not above the
  epochs the checkpoint has already done;
* lists every other setting changed since the checkpoint, each marked *applied*.  Lightning
  restores the optimizer, scheduler and early-stopping state, which would silently keep the
  old ``training.learning_rate``, ``weight_decay``, ``scheduler_patience``, ``scheduler_factor``
  and ``early_stopping.patience``; :class:`ApplyResumeSettings` writes the config's values back
  into the restored objects at the start of training.  Changing ``training.optimizer`` or
  ``training.scheduler`` (the restored state belongs to another type) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drumscribe.core.errors import DrumscribeError

# config keys whose change makes the checkpoint unusable for this config
INCOMPATIBLE = ("audio.", "midi.drum_names", "egmd_midi_mapping", "model.n_classes", "model.n_mels", "model.articulations")
REFUSED = ("training.optimizer", "training.scheduler")
# keys that do not describe the training (where files go, how to decode): not reported
NOT_REPORTED = ("data.", "logging.", "checkpoint.", "hardware.", "postprocessing.", "midi.")


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and key != "egmd_midi_mapping":
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


@dataclass
class ResumePlan:
    path: Path
    epochs_done: int
    global_step: int
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)  # (key, checkpoint value, config value)

    def lines(self) -> list[str]:
        return [f"resume: {k} changed since the checkpoint ({old!r} -> {new!r}): applied"
                for k, old, new in self.changes]


def check_resume(cfg, path: str | Path, max_epochs: int | None = None) -> ResumePlan:
    """Validate ``path`` against ``cfg`` (see the module docstring); raises a one-line DrumscribeError."""
    from drumscribe.training.checkpoint import load_for_resume
    from drumscribe.transcription.bundle import CheckpointError
    from drumscribe.training.model import build_model

    path = Path(path).expanduser()
    ckpt, bundle = load_for_resume(path)
    old = flatten(bundle.config.to_dict())
    new = flatten(cfg.to_dict())
    old["egmd_midi_mapping"] = {int(k): v for k, v in old.get("egmd_midi_mapping", {}).items()}
    diffs = [(k, old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    for k, a, b in diffs:
        if k.startswith(INCOMPATIBLE):
            raise CheckpointError(f"{path}: made for another config: {k} is {a!r} in the checkpoint but {b!r} "
                                  "in --config; resume with the config it was trained with")
        if k in REFUSED:
            raise CheckpointError(f"{path}: {k} is {a!r} in the checkpoint but {b!r} in --config; its restored "
                                  "state cannot continue under another type (start a new run instead)")
    try:
        build_model(cfg).load_state_dict(bundle.model.state_dict(), strict=True)
    except RuntimeError:
        arch = [k for k, _, _ in diffs if k.startswith("model.")]
        raise CheckpointError(f"{path}: its network does not fit --config's model "
                              f"({', '.join(arch) or 'model.*'} differ); resume with the config it was trained with"
                              ) from None
    epochs_done = int(ckpt.get("epoch", -1)) + 1
    target = max_epochs if max_epochs is not None else cfg.training.num_epochs
    if target <= epochs_done:
        name = f"--max-epochs {max_epochs}" if max_epochs is not None else f"training.num_epochs {target}"
        raise DrumscribeError(f"{name}: the checkpoint {path.name} has already trained {epochs_done} epochs; "
                              "nothing to do (pass a larger --max-epochs to train on)")
    changes = [(k, a, b) for k, a, b in diffs if not k.startswith(NOT_REPORTED)]
    return ResumePlan(path, epochs_done, int(ckpt.get("global_step", 0)), changes)


def apply_resume_settings_callback(cfg, plan: ResumePlan):
    """A Lightning callback writing ``cfg``'s optimizer/scheduler/early-stopping settings into the
    state restored from the checkpoint (at ``on_train_start``, after Lightning's restore).  The
    learning rate is replaced only when the config changed it (else the scheduler's reduced rate stays)."""
    from lightning.pytorch.callbacks import Callback, EarlyStopping

    t, e = cfg.training, cfg.early_stopping
    lr_changed = any(k == "training.learning_rate" for k, _, _ in plan.changes)

    class ApplyResumeSettings(Callback):
        def on_train_start(self, trainer, pl_module) -> None:
            for opt in trainer.optimizers:
                for g in opt.param_groups:
                    if lr_changed:
                        g["lr"] = t.learning_rate
                    g["weight_decay"] = t.weight_decay
            for cfg_s in trainer.lr_scheduler_configs:
                s = cfg_s.scheduler
                if hasattr(s, "patience"):
                    s.patience = t.scheduler_patience
                if hasattr(s, "factor"):
                    s.factor = t.scheduler_factor
            for cb in trainer.callbacks:
                if isinstance(cb, EarlyStopping):
                    cb.patience = e.patience

    return ApplyResumeSettings()
