"""Training: the LightningModule, callbacks, Trainer construction and ``fit``.

Entry point: :func:`fit(cfg, resume=None, fast_dev_run=False, max_epochs=None)`
(used by ``drumscribe train``).  Pieces, each testable alone:
:func:`resolve_hardware`, :class:`DrumscribeModule`, :func:`build_callbacks`,
:func:`build_logger`, :func:`build_trainer`.

Loss
    ``loss.type`` ``BCELoss`` and ``BCEWithLogitsLoss`` both mean binary
    cross-entropy computed *from logits* (``binary_cross_entropy_with_logits``,
    in float32 even under autocast).  Per element ``(frame, class)`` the loss
    is multiplied by ``loss.class_weights[class]`` (if set) and by the padding
    mask; the sum is divided by ``mask.sum() * n_outputs`` (the drums and the articulation outputs,
    ``model.articulations``, which weigh 1 unless ``class_weights`` lists them too).  ``FocalLoss``
    multiplies each element's BCE by ``(1 - p_t) ** loss.focal_gamma``
    (p_t: the probability given to the target; Lin et al. 2017), which
    down-weights the many easy silent frames.  With
    ``model.velocity_head`` the MSE between ``sigmoid(velocity_logits)`` and
    ``velocity / 127`` at the true onset frames is added with weight
    ``loss.velocity_weight``; with ``model.offset_head`` the smooth-L1 error (frames) of the
    predicted sub-frame onset offset on the frames within reach of each true onset
    (:func:`drumscribe.dataset.targets.offset_targets`) with weight :data:`OFFSET_LOSS_WEIGHT`.

Validation metrics
    ``val_loss`` (same loss), and onset F1 at ``postprocessing.onset_tolerance``
    (50 ms) after decoding the sigmoid activations with the decoding settings of the config
    (:meth:`drumscribe.transcription.decoding.DecodeSettings.from_config`: thresholds,
    ``min_onset_interval``, ``peak_min_distance``; the same decoder evaluation
    and transcription use), matched and summarised by :mod:`drumscribe.evaluation.metrics`
    (the one place that scores).  Counts are kept per validation item and
    summed over items and DDP ranks (an item that Lightning's
    ``DistributedSampler`` repeats to even out the ranks counts once), so with
    whole-file validation (``training.val_window_seconds: null``) ``val_f1`` /
    ``val_f1_macro`` are exactly the micro / macro F1 that ``drumscribe
    evaluate --split val`` prints for the checkpoint of that epoch with the
    same thresholds (files longer than one inference window are scored on the
    stitched inference windows, as evaluate does).
    Logged: ``train_loss`` (step + epoch), ``val_loss``, ``val_f1``,
    ``val_f1_macro``, ``val_precision``, ``val_recall``, ``val_f1/<class>``, ``lr``.

Metrics history (``<logging.save_dir>/<logging.experiment_name>/metrics_history.csv``)
    Rewritten atomically (:mod:`drumscribe.core.atomic`) after every validation epoch by
    global rank 0; one row per completed epoch, comma-separated, header row::

        epoch,step,train_loss,val_loss,val_f1_micro,val_f1_macro,val_precision_micro,
        val_recall_micro,f1_<class 0>,...,f1_<class C-1>,lr,epoch_seconds,elapsed_seconds

    ``epoch`` is 0-based (the number in checkpoint names), ``step`` the global
    optimizer step at the end of the epoch, ``train_loss`` the mean training
    loss of the epoch, ``lr`` the learning rate used during the epoch,
    ``epoch_seconds`` the wall time of train + validation of the epoch,
    ``elapsed_seconds`` the cumulative sum.  Empty cells mean "not
    available" (e.g. no validation).  The rows live in the checkpoints too
    (callback state), so a resumed run continues the history of the checkpoint
    it resumed from; a fresh run with the same experiment name overwrites it.

Checkpoints
    ``ModelCheckpoint`` with ``checkpoint.*``; file names keep Lightning's
    ``auto_insert_metric_name`` (``medium-test-{epoch:02d}-{val_loss:.4f}`` ->
    ``medium-test-epoch=09-val_loss=0.1845.ckpt``); the last checkpoint is
    ``<prefix>-last.ckpt`` where prefix is the part of ``checkpoint.filename``
    before the first ``-{``.  Every file is written by :class:`AtomicCheckpointIO`
    through :func:`drumscribe.core.atomic.atomic_write_bytes` (a temp sibling renamed
    over the target; Lightning's own save goes through ``/tmp`` + ``shutil.move``,
    a non-atomic copy across filesystems), so a kill mid-save never damages the
    previous ``-last.ckpt``.
    Version counters are off: a fresh run in the same directory overwrites
    files of the same name.
"""

from __future__ import annotations

import csv
import io
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO

from drumscribe.core.atomic import atomic_write_text
from drumscribe.training.checkpoint import HPARAM_KEYS
from drumscribe.transcription.bundle import derived_licence, make_meta
from drumscribe.core.config import Config, config_from_dict
from drumscribe.transcription.decoding import DecodeSettings, decode, events_by_class
from drumscribe.core.errors import ConfigError, DrumscribeError
from drumscribe.training.model import build_model
from drumscribe.core.timebase import OFFSET_REACH_FRAMES, FrameClock

# the offset head (model.offset_head): smooth L1 in frames (quadratic below OFFSET_LOSS_BETA frames)
OFFSET_LOSS_WEIGHT = 0.1
OFFSET_LOSS_BETA = 0.1
HISTORY_NAME = "metrics_history.csv"


class HardwareFallbackWarning(UserWarning):
    """The configured accelerator/precision is unavailable here; a fallback is used."""


# ------------------------------------------------------------------ hardware

@dataclass
class HardwareChoice:
    accelerator: str
    devices: Any
    precision: str
    strategy: str
    num_nodes: int
    note: str = ""


_PRECISION_ALIASES = {"32": "32-true", "16": "16-mixed", "bf16": "bf16-mixed", "64": "64-true"}
_BF16_OK: bool | None = None


def cpu_bf16_works() -> bool:
    """Whether bf16 autocast runs a conv + GRU forward/backward on this CPU (cached)."""
    global _BF16_OK
    if _BF16_OK is None:
        try:
            conv, gru = torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.GRU(8, 4, batch_first=True)
            x = torch.randn(1, 1, 3, 4)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                y = conv(x).permute(0, 2, 1, 3).reshape(1, 3, 8)
                out, _ = gru(y)
            out.float().sum().backward()
            _BF16_OK = bool(torch.isfinite(out.float()).all())
        except Exception:
            _BF16_OK = False
    return _BF16_OK


def cpu_mixed_precision() -> str:
    """What ``16-mixed`` becomes on CPU: ``bf16-mixed`` where bf16 autocast works and the CPU has
    AVX-512 (measured 1.3-1.6x faster than float32 for the medium model on an AVX-512-BF16 CPU,
    see docs/training.md), else ``32-true``."""
    cap = getattr(torch.backends.cpu, "get_cpu_capability", lambda: "")()
    if cap.upper().startswith(("AVX512", "AMX")) and cpu_bf16_works():
        return "bf16-mixed"
    return "32-true"


def resolve_hardware(cfg: Config, warn: bool = True) -> HardwareChoice:
    """Map ``hardware.*`` + ``training.precision`` to Trainer arguments, falling back to CPU.

    ``gpu``/``cuda`` without CUDA -> CPU with ONE :class:`HardwareFallbackWarning`;
    on CPU ``16-mixed`` -> :func:`cpu_mixed_precision`; a device list on CPU -> 1 process.
    """
    h = cfg.hardware
    accel = h.accelerator.lower()
    precision = _PRECISION_ALIASES.get(cfg.training.precision, cfg.training.precision)
    devices = h.devices
    notes = []
    cuda = torch.cuda.is_available()
    if accel in ("gpu", "cuda") and not cuda:
        notes.append(f"hardware.accelerator is {h.accelerator!r} but no CUDA device is available: training on CPU")
        accel = "cpu"
    on_cpu = accel == "cpu" or (accel == "auto" and not cuda and not torch.backends.mps.is_available())
    if on_cpu:
        accel = "cpu"
        if isinstance(devices, list) or devices in ("auto", "-1", -1):
            devices = 1
        if precision == "16-mixed":
            new = cpu_mixed_precision()
            notes.append(f"training.precision 16-mixed is GPU-only: using {new} on CPU")
            precision = new
    elif accel in ("gpu", "cuda"):
        accel = "gpu"
    note = "; ".join(notes)
    if note and warn:
        warnings.warn(note, HardwareFallbackWarning, stacklevel=2)
    return HardwareChoice(accel, devices, precision, h.strategy, int(h.num_nodes), note)


# ------------------------------------------------------------------ validation F1 (decoding + metrics)

def warmup_factor(step: int, warmup_steps: int) -> float:
    """The fraction of the scheduled learning rate at optimizer step ``step`` (0-based) of a run with a linear
    warm-up of ``warmup_steps`` steps: ``(step + 1) / warmup_steps`` until it reaches 1 (0 steps: always 1)."""
    return 1.0 if warmup_steps <= 0 else min(1.0, (step + 1) / warmup_steps)


class _LiveWindows:
    """The network being trained as a window runner for :func:`drumscribe.transcription.inference.predict_features`
    (its ``run_windows`` hook): no cached inference copy, because the weights change every step."""

    def __init__(self, model, device):
        self.model, self.device, self.n_classes = model, device, int(model.n_classes)
        self.n_outputs = int(getattr(model, "n_outputs", model.n_classes))

    def run_windows(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        with torch.no_grad():
            out = self.model(torch.from_numpy(x).to(self.device))
        vel = out.velocity_logits
        return (torch.sigmoid(out.onset_logits.float()).cpu().numpy(),
                None if vel is None else torch.sigmoid(vel.float()).cpu().numpy())


def item_probs(model, logits: torch.Tensor, features: torch.Tensor, clock: FrameClock) -> np.ndarray:
    """Onset probabilities ``(frames, classes)`` of one whole validation file, computed as
    ``drumscribe evaluate`` computes them: from the forward pass already done (``logits``) when the file
    fits one inference window, else on the stitched inference windows
    (:func:`drumscribe.transcription.inference.predict_features`)."""
    from drumscribe.transcription.inference import DEFAULT_OVERLAP_S, DEFAULT_WINDOW_S, predict_features, window_frames_for

    w, _ = window_frames_for(clock, DEFAULT_WINDOW_S, DEFAULT_OVERLAP_S)
    if features.shape[0] <= w:
        return torch.sigmoid(logits.float()).cpu().numpy()
    probs, _ = predict_features(_LiveWindows(model, features.device), features.float().cpu().numpy(), clock,
                                DEFAULT_WINDOW_S, DEFAULT_OVERLAP_S)
    return probs


# ------------------------------------------------------------------ module

class DrumscribeModule(L.LightningModule):
    """Thin Lightning wrapper around :class:`~drumscribe.training.model.DrumTranscriptionCRNN` (``self.model``)."""

    def __init__(self, config: Config | dict):
        super().__init__()
        cfg = config if isinstance(config, Config) else config_from_dict(config)
        self.cfg = cfg
        self.save_hyperparameters({"config": cfg.to_dict()})
        self.model = build_model(cfg)
        w = list(cfg.loss.class_weights) if cfg.loss.class_weights is not None else [1.0] * cfg.n_classes
        w += [1.0] * (cfg.n_outputs - len(w))  # articulation outputs: weight 1 unless the config lists theirs
        self.register_buffer("class_weights", torch.tensor(w, dtype=torch.float32), persistent=False)
        self.decoder = DecodeSettings.from_config(cfg)  # built once; thresholds replaced on checkpoint load
        self._val_counts: dict[int, np.ndarray] = {}  # validation item index -> (classes, 3) [tp, fp, fn]
        self._train_loss_sum = 0.0
        self._train_loss_n = 0
        self.last_val_metrics: dict[str, float] = {}
        self.licence: dict | None = None  # the weights licence the checkpoints carry (--init-from: the source's)
        if cfg.training.frozen == "all_but_offsets":
            self._freeze_all_but_offsets()

    def _freeze_all_but_offsets(self) -> None:
        """``training.frozen=all_but_offsets``: only the velocity head's offset rows (its second block) learn."""
        n = self.cfg.n_classes
        head = self.model.velocity_head
        for p in self.model.parameters():
            p.requires_grad_(False)
        for p in (head.weight, head.bias):
            p.requires_grad_(True)
            p.register_hook(lambda g: torch.cat([torch.zeros_like(g[:n]), g[n:]]))  # no gradient to the velocity rows
        self._kept_rows: list | None = None  # and their values put back after each step (weight decay moves them)

    def _velocity_rows(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The velocity head's velocity rows (its first block): views of its weight and bias."""
        n, head = self.cfg.n_classes, self.model.velocity_head
        return head.weight[:n], head.bias[:n]

    def train(self, mode: bool = True):
        """As torch's; with ``training.frozen=all_but_offsets`` the network stays in eval mode (BatchNorm's
        running statistics and dropout as at inference: the offsets learn on the features the model gives)."""
        super().train(mode)
        if mode and self.cfg.training.frozen == "all_but_offsets":
            self.model.eval()
        return self

    @property
    def thresholds(self) -> list[float]:
        """Per-class decoding thresholds used for validation (and stored in checkpoints)."""
        th = self.decoder.thresholds
        return [float(th)] * self.cfg.n_classes if isinstance(th, float) else list(th)

    @thresholds.setter
    def thresholds(self, value) -> None:
        self.decoder = self.decoder.with_thresholds(value)

    def forward(self, features: torch.Tensor):
        return self.model(features)

    # ---------------------------------------------------------------- loss
    def compute_loss(self, batch: dict, out) -> tuple[torch.Tensor, torch.Tensor]:
        """(total loss, onset loss); see the module docstring."""
        logits = out.onset_logits.float()
        mask = batch["mask"].unsqueeze(-1)  # (B, T, 1)
        bce = F.binary_cross_entropy_with_logits(logits, batch["onsets"], reduction="none")
        if self.cfg.loss.type == "FocalLoss":
            p_t = torch.exp(-bce)  # probability given to the target (hard targets; soft: its geometric mean)
            bce = bce * (1.0 - p_t).pow(self.cfg.loss.focal_gamma)
        weight = mask * self.class_weights.view(1, 1, -1)
        denom = mask.sum().clamp_min(1.0) * logits.shape[-1]
        onset_loss = (bce * weight).sum() / denom
        total = onset_loss
        if out.velocity_logits is not None:
            n = batch["velocities"].shape[-1]
            vel_logits = out.velocity_logits[..., :n].float()
            at = batch["onset_hard"][..., :n] * mask  # the drums' onset frames
            se = (torch.sigmoid(vel_logits) - batch["velocities"]) ** 2
            vel_loss = (se * at).sum() / at.sum().clamp_min(1.0)
            total = total + self.cfg.loss.velocity_weight * vel_loss
            if out.velocity_logits.shape[-1] > n and "offsets" in batch:  # the offset block (model.offset_head)
                pred = OFFSET_REACH_FRAMES * (2.0 * torch.sigmoid(out.velocity_logits[..., n:2 * n].float()) - 1.0)
                om = batch["offset_mask"]
                err = F.smooth_l1_loss(pred, batch["offsets"], reduction="none", beta=OFFSET_LOSS_BETA)
                total = total + OFFSET_LOSS_WEIGHT * (err * om).sum() / om.sum().clamp_min(1.0)
        return total, onset_loss

    # ---------------------------------------------------------------- steps
    def on_train_epoch_start(self) -> None:
        self._train_loss_sum, self._train_loss_n = 0.0, 0

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        if self.cfg.training.frozen == "all_but_offsets" and self.model.training:
            self.model.eval()  # however the trainer set the modes (it restores each submodule's own)
        loss, _ = self.compute_loss(batch, self.model(batch["features"]))
        bs = batch["features"].shape[0]
        self.log("train_loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=bs)
        opt = self.trainer.optimizers[0] if self.trainer.optimizers else None
        if opt is not None:
            self.log("lr", opt.param_groups[0]["lr"], on_step=True, on_epoch=False, batch_size=bs)
        self._train_loss_sum += float(loss.detach())
        self._train_loss_n += 1
        return loss

    def on_validation_epoch_start(self) -> None:
        self._val_counts = {}

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        out = self.model(batch["features"])
        loss, _ = self.compute_loss(batch, out)
        self.log("val_loss", loss, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True,
                 batch_size=batch["features"].shape[0])
        from drumscribe.evaluation.metrics import counts_to_array, score_classes
        from drumscribe.dataset.targets import onsets_by_class

        n_classes = self.cfg.n_classes
        whole_files = self.cfg.training.val_window_seconds is None
        lengths = batch["mask"].sum(dim=1).long().cpu().numpy()
        for i in range(out.onset_logits.shape[0]):
            n = int(lengths[i])
            if whole_files:
                probs = item_probs(self.model, out.onset_logits[i, :n], batch["features"][i, :n], self.decoder.clock)
            else:
                probs = torch.sigmoid(out.onset_logits[i, :n].float()).cpu().numpy()
            est = events_by_class(decode(probs, self.decoder), n_classes)
            ref = onsets_by_class(np.asarray(batch["note_times"][i], np.float64),
                                  np.asarray(batch["note_classes"][i]), n_classes)
            counts = score_classes(ref, est, self.cfg.postprocessing.onset_tolerance)
            self._val_counts[int(batch["item_index"][i])] = counts_to_array(counts)

    def _reduced_val_counts(self):
        """Per-class counts summed over the validation items of every rank, each item once."""
        from drumscribe.evaluation.metrics import counts_from_array

        n_items = max(self._val_counts, default=-1) + 1
        loaders = self.trainer.val_dataloaders
        loader = loaders[0] if isinstance(loaders, (list, tuple)) else loaders
        if loader is not None and hasattr(loader.dataset, "__len__"):
            n_items = max(n_items, len(loader.dataset))
        per_item = np.zeros((n_items, self.cfg.n_classes, 3), dtype=np.int64)
        seen = np.zeros(n_items, dtype=np.int64)
        for k, a in self._val_counts.items():
            per_item[k], seen[k] = a, 1
        if self.trainer.world_size > 1:
            red = self.trainer.strategy.reduce
            per_item = red(torch.from_numpy(per_item).to(self.device), reduce_op="sum").cpu().numpy()
            seen = red(torch.from_numpy(seen).to(self.device), reduce_op="sum").cpu().numpy()
            # an item seen by r ranks (DistributedSampler padding) was scored r times with the same weights
            per_item = per_item // np.maximum(seen, 1)[:, None, None]
        return counts_from_array(per_item.sum(axis=0)), int((seen > 0).sum())

    def on_validation_epoch_end(self) -> None:
        from drumscribe.evaluation.metrics import summarize

        counts, n_items = self._reduced_val_counts()
        s = summarize(counts, self.cfg.class_names)
        m = {"f1_micro": s["micro"]["f1"], "f1_macro": s["macro"]["f1"],
             "precision_micro": s["micro"]["precision"], "recall_micro": s["micro"]["recall"],
             "support": s["micro"]["support"], "n_items": n_items}
        for name in self.cfg.class_names:
            m[f"f1_{name}"] = s["per_class"][name]["f1"]
        self.last_val_metrics = m
        self.log("val_f1", m["f1_micro"], prog_bar=True)
        self.log("val_f1_macro", m["f1_macro"])
        self.log("val_precision", m["precision_micro"])
        self.log("val_recall", m["recall_micro"])
        for name in self.cfg.class_names:
            self.log(f"val_f1/{name}", m[f"f1_{name}"])

    # ---------------------------------------------------------------- optim
    def configure_optimizers(self):
        t = self.cfg.training
        opt_cls = {"Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW}[t.optimizer]
        opt = opt_cls(self.parameters(), lr=t.learning_rate, weight_decay=t.weight_decay)
        if t.scheduler == "none":
            return opt
        if t.scheduler == "cosine":  # per epoch, fixed in advance: lr -> lr * COSINE_FLOOR over num_epochs
            from drumscribe.core.config import COSINE_FLOOR

            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(int(t.num_epochs), 1),
                                                               eta_min=t.learning_rate * COSINE_FLOOR)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch", "frequency": 1}}
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=t.scheduler_factor,
                                                           patience=t.scheduler_patience)
        return {"optimizer": opt,
                "lr_scheduler": {"scheduler": sched, "monitor": "val_loss", "interval": "epoch", "frequency": 1}}

    def optimizer_step(self, epoch, batch_idx, optimizer, optimizer_closure=None):
        """One optimizer step; during ``training.warmup_steps`` at :func:`warmup_factor` of the scheduled rate; with
        ``training.frozen=all_but_offsets`` the velocity rows are put back as they were (weight decay)."""
        frozen = self.cfg.training.frozen == "all_but_offsets"
        if frozen and self._kept_rows is None:  # the first step: the velocity rows as they start
            self._kept_rows = [r.detach().clone() for r in self._velocity_rows()]
        f = warmup_factor(self.global_step, int(self.cfg.training.warmup_steps))
        scheduled = [g["lr"] for g in optimizer.param_groups]
        for g in optimizer.param_groups:
            g["lr"] *= f
        try:
            return super().optimizer_step(epoch, batch_idx, optimizer, optimizer_closure)
        finally:  # the scheduler keeps its own rate
            for g, lr in zip(optimizer.param_groups, scheduled):
                g["lr"] = lr
            if frozen:
                with torch.no_grad():
                    for row, kept in zip(self._velocity_rows(), self._kept_rows):
                        row.copy_(kept)

    # ---------------------------------------------------------------- checkpoint contract
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["drumscribe"] = make_meta(self.cfg, self.thresholds, self.licence)
        for key in HPARAM_KEYS:  # the config is stored once, in checkpoint["drumscribe"] (the loggers keep hparams)
            checkpoint.pop(key, None)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        meta = checkpoint.get("drumscribe")
        if isinstance(meta, dict) and meta.get("thresholds"):
            self.thresholds = [float(x) for x in meta["thresholds"]]
        if isinstance(meta, dict) and isinstance(meta.get("licence"), dict):
            self.licence = meta["licence"]  # a resumed run keeps what it was initialised from


# ------------------------------------------------------------------ callbacks

def last_checkpoint_name(filename: str) -> str:
    """``medium-test-{epoch:02d}-{val_loss:.4f}`` -> ``medium-test-last`` (no extension)."""
    i = filename.find("-{")
    prefix = filename[:i] if i >= 0 else filename.split("{")[0].rstrip("-_")
    return f"{prefix}-last" if prefix else "last"


class AtomicModelCheckpoint(ModelCheckpoint):
    """ModelCheckpoint (files written whole by :class:`AtomicCheckpointIO`) whose ``-last.ckpt`` is
    refreshed after *every* validation epoch.

    (Lightning 2.6 only refreshes ``last`` when a top-k checkpoint was saved in the same step, so
    with ``save_top_k: 1`` and no improvement, "last" would lag behind and a resume would repeat epochs.)
    """

    def _refresh_last(self, trainer, at_train_epoch_end: bool) -> None:
        if (self.save_last and not self._should_skip_saving_checkpoint(trainer)
                and self._should_save_on_train_epoch_end(trainer) == at_train_epoch_end):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_validation_end(self, trainer, pl_module) -> None:
        super().on_validation_end(trainer, pl_module)
        self._refresh_last(trainer, at_train_epoch_end=False)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        self._refresh_last(trainer, at_train_epoch_end=True)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, writing through :func:`drumscribe.core.atomic.atomic_write_bytes`
    (a kill mid-save leaves the previous file whole)."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO.save_checkpoint takes no storage_options")
        from drumscribe.training.checkpoint import write_checkpoint

        write_checkpoint(path, checkpoint)


class MetricsHistory(Callback):
    """Writes ``metrics_history.csv`` (format: module docstring) after every validation epoch."""

    def __init__(self, path: str | Path, class_names: list[str]):
        self.path = Path(path)
        self.class_names = list(class_names)
        self.rows: list[dict] = []
        self._t0 = None

    @property
    def columns(self) -> list[str]:
        return (["epoch", "step", "train_loss", "val_loss", "val_f1_micro", "val_f1_macro",
                 "val_precision_micro", "val_recall_micro"]
                + [f"f1_{n}" for n in self.class_names] + ["lr", "epoch_seconds", "elapsed_seconds"])

    def state_dict(self) -> dict:
        return {"rows": [dict(r) for r in self.rows]}

    def load_state_dict(self, state: dict) -> None:
        self.rows = [dict(r) for r in state.get("rows", [])]

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._t0 = time.perf_counter()

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking or trainer.fast_dev_run or self._t0 is None:
            return
        epoch = int(trainer.current_epoch)
        m = getattr(pl_module, "last_val_metrics", {}) or {}
        val_loss = trainer.callback_metrics.get("val_loss")
        n = getattr(pl_module, "_train_loss_n", 0)
        opt = trainer.optimizers[0] if trainer.optimizers else None
        dt = time.perf_counter() - self._t0
        self.rows = [r for r in self.rows if int(r["epoch"]) < epoch]
        prev = float(self.rows[-1]["elapsed_seconds"]) if self.rows else 0.0
        row = {
            "epoch": epoch,
            "step": int(trainer.global_step),
            "train_loss": pl_module._train_loss_sum / n if n else "",
            "val_loss": float(val_loss) if val_loss is not None else "",
            "val_f1_micro": m.get("f1_micro", ""),
            "val_f1_macro": m.get("f1_macro", ""),
            "val_precision_micro": m.get("precision_micro", ""),
            "val_recall_micro": m.get("recall_micro", ""),
            "lr": opt.param_groups[0]["lr"] if opt is not None else "",
            "epoch_seconds": round(dt, 3),
            "elapsed_seconds": round(prev + dt, 3),
        }
        for name in self.class_names:
            v = m.get(f"f1_{name}", "")
            row[f"f1_{name}"] = "" if isinstance(v, float) and math.isnan(v) else v
        self.rows.append(row)
        if trainer.is_global_zero:
            self.write()

    def write(self) -> None:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=self.columns, lineterminator="\n")
        w.writeheader()
        for r in self.rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
        atomic_write_text(self.path, buf.getvalue())


def run_dir(cfg: Config) -> Path:
    """``logging.save_dir / logging.experiment_name`` (TensorBoard versions and the history live here)."""
    return Path(cfg.logging.save_dir).expanduser() / cfg.logging.experiment_name


def build_callbacks(cfg: Config, checkpointing: bool = True) -> list[Callback]:
    """History, checkpoint (unless ``checkpointing`` is False, e.g. fast_dev_run) and early-stopping callbacks."""
    c = cfg.checkpoint
    ckpt = AtomicModelCheckpoint(
        dirpath=str(Path(c.dirpath).expanduser()), filename=c.filename, monitor=c.monitor,
        save_top_k=c.save_top_k, mode=c.mode, save_last=c.save_last, auto_insert_metric_name=True,
        enable_version_counter=False,
    )
    ckpt.CHECKPOINT_NAME_LAST = last_checkpoint_name(c.filename)
    cbs: list[Callback] = [MetricsHistory(run_dir(cfg) / HISTORY_NAME, cfg.class_names), ckpt] if checkpointing else []
    e = cfg.early_stopping
    if e.enabled:
        cbs.append(EarlyStopping(monitor=e.monitor, patience=e.patience, mode=e.mode))
    return cbs


def build_logger(cfg: Config):
    lg = cfg.logging
    if lg.logger == "none":
        return False
    save_dir = str(Path(lg.save_dir).expanduser())
    if lg.logger == "csv":
        from lightning.pytorch.loggers import CSVLogger

        return CSVLogger(save_dir, name=lg.experiment_name)
    from lightning.pytorch.loggers import TensorBoardLogger

    return TensorBoardLogger(save_dir, name=lg.experiment_name, default_hp_metric=False)


def build_trainer(cfg: Config, *, fast_dev_run: bool | int = False, max_epochs: int | None = None,
                  callbacks: list[Callback] | None = None, enable_progress_bar: bool = True,
                  hardware: HardwareChoice | None = None, **overrides) -> L.Trainer:
    """A Trainer from the config (callbacks from :func:`build_callbacks` plus ``callbacks``)."""
    hw = hardware or resolve_hardware(cfg)
    t = cfg.training
    kwargs = dict(
        accelerator=hw.accelerator, devices=hw.devices, num_nodes=hw.num_nodes, strategy=hw.strategy,
        precision=hw.precision, max_epochs=max_epochs if max_epochs is not None else t.num_epochs,
        gradient_clip_val=t.gradient_clip_val, gradient_clip_algorithm="norm",
        accumulate_grad_batches=t.accumulate_grad_batches, log_every_n_steps=cfg.logging.log_every_n_steps,
        callbacks=build_callbacks(cfg, checkpointing=not fast_dev_run) + list(callbacks or []),
        logger=build_logger(cfg), enable_checkpointing=not fast_dev_run,
        fast_dev_run=fast_dev_run, enable_progress_bar=enable_progress_bar, num_sanity_val_steps=1,
        default_root_dir=str(run_dir(cfg)), plugins=[AtomicCheckpointIO()],
    )
    if t.max_minutes is not None and not fast_dev_run:  # time budget (Lightning's Timer callback)
        from datetime import timedelta

        kwargs["max_time"] = timedelta(minutes=t.max_minutes)
    kwargs.update(overrides)
    return L.Trainer(**kwargs)


@dataclass
class TrainResult:
    trainer: L.Trainer
    module: DrumscribeModule
    best_checkpoint: str | None
    last_checkpoint: str | None
    history_path: Path
    run_dir: Path


def _log_versions(cfg: Config) -> set[str] | None:
    d = run_dir(cfg)
    return {p.name for p in d.iterdir()} if d.is_dir() else None


def _remove_new_log_versions(cfg: Config, before: set[str] | None) -> None:
    """Delete the logger's ``version_*`` folders this run created (called when it failed before any step)."""
    import shutil

    d = run_dir(cfg)
    if not d.is_dir():
        return
    for p in d.iterdir():
        if p.is_dir() and p.name.startswith("version_") and (before is None or p.name not in before):
            shutil.rmtree(p, ignore_errors=True)
    if before is None and not any(d.iterdir()):
        d.rmdir()


def init_weights_from(module: "DrumscribeModule", source: str | Path, log=print) -> None:
    """Copy the network weights of a trained model (``.ckpt``, ``.safetensors`` bundle, or
    ``"default"`` = the bundled model) into ``module``; its model and audio settings must be the config's."""
    from drumscribe.training.checkpoint import load_bundle

    bundle = load_bundle(None if str(source) == "default" else source)
    mine, theirs = module.cfg, bundle.config
    for section in ("model", "audio"):
        a, b = getattr(mine, section).__dict__, getattr(theirs, section).__dict__
        diff = sorted(k for k in set(a) | set(b)
                      if a.get(k) != b.get(k) and (section, k) not in (("model", "articulations"), ("model", "offset_head")))
        if diff:
            raise ConfigError(f"--init-from {bundle.path}: its {section} settings differ from the config's "
                              f"({', '.join(f'{section}.{k}: {b.get(k)!r} vs {a.get(k)!r}' for k in diff)})")
    state = bundle.model.state_dict()
    added = [x for x in mine.articulations if x not in theirs.articulations]
    if mine.articulations != theirs.articulations:
        state = _articulation_head_state(state, mine, theirs)
    if mine.model.offset_head and not theirs.model.offset_head:
        state = dict(state)
        w, b = state["velocity_head.weight"], state["velocity_head.bias"]
        state["velocity_head.weight"] = torch.cat([w, torch.zeros_like(w)])
        state["velocity_head.bias"] = torch.cat([b, torch.zeros_like(b)])
        added.append("sub-frame offsets")
    elif theirs.model.offset_head and not mine.model.offset_head:
        raise ConfigError(f"--init-from {bundle.path}: it has an offset head; set model.offset_head=true")
    module.model.load_state_dict(state, strict=True)
    module.licence = derived_licence(bundle)  # its weights licence and credits follow (None if it states none)
    log(f"initialised from {bundle.path} (weights only: fresh optimizer, epoch 0)"
        + (f"; new outputs {', '.join(added)} start from their drum's output (offsets from 0)" if added else ""))


# a new articulation output starts as its drum's output shifted by this many log-odds (rarer than the drum)
NEW_ARTICULATION_BIAS = -2.0


def _articulation_head_state(state: dict, mine, theirs) -> dict:
    """``state`` (a model's weights) with the onset head re-laid for ``mine``'s articulation outputs: the
    drums' rows and the articulations both models have are copied; a new articulation starts from its
    parent drum's row (bias + :data:`NEW_ARTICULATION_BIAS`), so fine-tuning begins from "a hit of that drum"."""
    from drumscribe.core.drums import ARTICULATION_PARENT

    names = mine.class_names
    if list(theirs.class_names) != list(names):
        raise ConfigError("--init-from: the class names differ; cannot re-lay the articulation outputs")
    state = dict(state)
    w, b = state["onset_head.weight"], state["onset_head.bias"]
    n = len(names)
    rows_w, rows_b = [w[:n]], [b[:n]]
    for a in mine.articulations:
        if a in theirs.articulations:
            k = n + list(theirs.articulations).index(a)
            rows_w.append(w[k:k + 1]); rows_b.append(b[k:k + 1])
        else:
            k = names.index(ARTICULATION_PARENT[a])
            rows_w.append(w[k:k + 1].clone()); rows_b.append(b[k:k + 1] + NEW_ARTICULATION_BIAS)
    state["onset_head.weight"] = torch.cat(rows_w)
    state["onset_head.bias"] = torch.cat(rows_b)
    return state


def fit(cfg: Config, resume: str | Path | None = None, *, init_from: str | Path | None = None,
        fast_dev_run: bool | int = False, max_epochs: int | None = None, callbacks: list[Callback] | None = None,
        enable_progress_bar: bool = True, log=print, **trainer_overrides) -> TrainResult:
    """Train per the config; ``resume``: a ``.ckpt`` to continue (epochs, optimizer, scheduler, callbacks);
    ``init_from``: start from another model's weights (:func:`init_weights_from`)."""
    from drumscribe.training.data import make_dataloaders

    start_step = 0
    if resume is not None:  # every check before a Trainer or a log folder exists (drumscribe.training.resume)
        from drumscribe.training.resume import apply_resume_settings_callback, check_resume

        resume = Path(resume).expanduser()
        if not resume.is_file():
            raise DrumscribeError(f"--resume: checkpoint not found: {resume}")
        plan = check_resume(cfg, resume, max_epochs)
        start_step = plan.global_step
        for line in plan.lines():
            log(line)
        callbacks = list(callbacks or []) + [apply_resume_settings_callback(cfg, plan)]
    L.seed_everything(cfg.training.seed, workers=True, verbose=False)
    train_loader, val_loader = make_dataloaders(cfg)
    module = DrumscribeModule(cfg)
    if init_from is not None and resume is None:
        init_weights_from(module, init_from, log)
    trainer = build_trainer(cfg, fast_dev_run=fast_dev_run, max_epochs=max_epochs, callbacks=callbacks,
                            enable_progress_bar=enable_progress_bar, **trainer_overrides)
    logs_before = _log_versions(cfg)
    with warnings.catch_warnings():
        # our loaders are sized by the config on purpose (2 CPU cores, num_workers=0 in tests)
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*The number of training batches.*")
        try:
            trainer.fit(module, train_loader, val_loader, ckpt_path=str(resume) if resume else None)
        except BaseException:
            if trainer.global_step <= start_step:
                _remove_new_log_versions(cfg, logs_before)  # a failed start leaves no empty version folder
            raise
    ckpt_cb = trainer.checkpoint_callback
    best = getattr(ckpt_cb, "best_model_path", "") or None
    last = getattr(ckpt_cb, "last_model_path", "") or None
    hist = run_dir(cfg) / HISTORY_NAME
    if trainer.is_global_zero and not fast_dev_run:
        log(f"checkpoints: {Path(cfg.checkpoint.dirpath).expanduser()}")
        if best:
            log(f"  best ({cfg.checkpoint.monitor}): {best}")
        if last:
            log(f"  last (for --resume): {last}")
        log(f"metrics history: {hist}")
        log(f"TensorBoard: tensorboard --logdir {Path(cfg.logging.save_dir).expanduser()}")
    return TrainResult(trainer, module, best, last, hist, run_dir(cfg))
