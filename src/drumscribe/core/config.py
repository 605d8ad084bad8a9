"""Typed, validated configuration.

The YAML schema is the one of ``configs/medium_test_config.yaml`` (the plan's),
plus a few optional keys with defaults (marked "drumscribe extension" below).
Loading fails *before any work* on an unknown key, a missing required key or a
wrong type, and the message names the dotted key (``training.batch_size``).

The drum vocabulary (``midi.drum_names``, ``midi.gm_mapping``,
``egmd_midi_mapping``) defaults to :mod:`drumscribe.core.drums`; a config lists it
only to override it (the plan's configs do).

Any key can be overridden from the command line with ``--set key=value``
(value parsed as YAML, so ``--set training.num_epochs=3`` is an int and
``--set model.conv_filters=[16,32]`` a list).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from drumscribe.core import drums
from drumscribe.core.errors import ConfigError

_REQUIRED = dataclasses.MISSING
# training.precision spellings accepted (Lightning's, and the plan's short forms; 32/16/64 may be YAML numbers)
PRECISIONS = ("32", "32-true", "16", "16-mixed", "bf16", "bf16-mixed", "64", "64-true")


@dataclass
class DataConfig:
    egmd_root: str
    processed_root: str
    splits_dir: str
    max_files: int | None = None
    train_split: float = 0.7
    val_split: float = 0.15
    test_split: float = 0.15
    random_seed: int = 42
    # drumscribe extension: "group" keeps renderings of one performance (the
    # CSV's `id`, else the file stem without its kit suffix) in one split;
    # "official" uses the CSV's split column; "random" is a plain per-file
    # split (leaks performances across splits; for comparison only).
    split_strategy: str = "group"


@dataclass
class AudioConfig:
    sample_rate: int
    n_fft: int
    hop_length: int
    n_mels: int
    fmin: float = 30.0
    fmax: float | None = None
    # drumscribe extension: more STFT window lengths (samples) whose log-mels are stacked with
    # n_fft's as input channels (same hop and mel bands); [] = one resolution (audio/features.py)
    stack_n_ffts: list[int] = field(default_factory=list)


@dataclass
class ModelConfig:
    name: str
    n_mels: int
    n_classes: int
    conv_filters: list[int]
    conv_kernel_size: int = 3
    pool_size: int = 2
    dropout_cnn: float = 0.25
    hidden_size: int = 128
    num_gru_layers: int = 2
    dropout_gru: float = 0.3
    bidirectional: bool = True
    # drumscribe extension: a second per-frame head predicting velocity.
    velocity_head: bool = False
    # drumscribe extension: the velocity head also predicts each drum's sub-frame onset offset (its output
    # block is velocity (C columns) then offset (C columns); core/timebase.py holds the encoding).
    # Needs velocity_head.
    offset_head: bool = False
    # drumscribe extension: articulation outputs beside the drums (names of
    # drumscribe.core.drums.ARTICULATION_CLASSES, in output order); each one is an attribute of its
    # parent drum's hits (decoding.py), so the drum outputs and their scores are unchanged.  [] = none.
    articulations: list[str] = field(default_factory=list)


SCHEDULERS = ("ReduceLROnPlateau", "cosine", "none")
FROZEN_MODES = ("none", "all_but_offsets")  # training.frozen
COSINE_FLOOR = 0.05  # the cosine schedule ends at this fraction of training.learning_rate


@dataclass
class TrainingConfig:
    num_epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float = 0.0
    optimizer: str = "Adam"
    # ReduceLROnPlateau (on val_loss), cosine (a fixed schedule stated in advance: from learning_rate down to
    # learning_rate * COSINE_FLOOR over num_epochs, whatever the validation says), or none
    scheduler: str = "ReduceLROnPlateau"
    scheduler_patience: int = 5
    scheduler_factor: float = 0.5
    # linear learning-rate warm-up over the run's first optimizer steps (0 = none), on top of any scheduler:
    # a fine-tune from other weights (--init-from) starts with a fresh Adam state, whose first steps move every
    # weight by about the full learning rate
    warmup_steps: int = 0
    # what stays fixed: "none" (everything trains), or "all_but_offsets": only the offset rows of the velocity head
    # learn, on the network's features as they are (the whole network in eval mode): a model's onsets and
    # velocities stay exactly its own, and it gains learned sub-frame onset times (needs model.offset_head)
    frozen: str = "none"
    gradient_clip_val: float | None = None
    accumulate_grad_batches: int = 1
    precision: Union[str, int] = "32"  # YAML/--set may give 32 or 16 as numbers: stored as the string
    # drumscribe extensions
    window_seconds: float = 5.0  # length of the random training windows
    soft_target_weight: float = 0.0  # target value of the frames next to an onset (0 = hard targets)
    seed: int = 42
    val_window_seconds: float | None = None  # None: whole files in validation
    # training time budget in minutes (Lightning ``Trainer(max_time=...)``); None = no budget.
    # A run stops at the budget and still writes -last.ckpt and the history (docs/training.md).
    max_minutes: float | None = None
    # random training windows per epoch; None = one per window_seconds of training audio.  Set it
    # to checkpoint (and validate) more often on a large corpus (docs/training.md).
    epoch_windows: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.precision, int) and not isinstance(self.precision, bool):
            self.precision = str(self.precision)


@dataclass
class AugmentationConfig:
    enabled: bool = False
    time_stretch_prob: float = 0.0
    pitch_shift_prob: float = 0.0
    volume_scale_prob: float = 0.0
    reverb_prob: float = 0.0
    noise_prob: float = 0.0


@dataclass
class LossConfig:
    type: str = "BCELoss"  # or "FocalLoss" (Lin et al. 2017: BCE x (1 - p_t) ** focal_gamma)
    class_weights: list[float] | None = None
    focal_gamma: float = 2.0
    # weight of the velocity head's MSE (velocity / 127 at the true onset frames) in the total loss
    velocity_weight: float = 0.1


@dataclass
class EarlyStoppingConfig:
    enabled: bool = False
    monitor: str = "val_loss"
    patience: int = 5
    mode: str = "min"


@dataclass
class CheckpointConfig:
    monitor: str = "val_loss"
    save_top_k: int = 1
    mode: str = "min"
    save_last: bool = True
    dirpath: str = "checkpoints"
    filename: str = "drumscribe-{epoch:02d}-{val_loss:.4f}"


@dataclass
class LoggingConfig:
    logger: str = "tensorboard"
    project_name: str = "drumscribe"
    experiment_name: str = "run"
    log_every_n_steps: int = 10
    save_dir: str = "logs"


@dataclass
class HardwareConfig:
    devices: Union[list[int], int, str] = "auto"
    num_workers: int = 0
    accelerator: str = "auto"
    # drumscribe extensions (multi-GPU / multi-node through Lightning)
    num_nodes: int = 1
    strategy: str = "auto"


@dataclass
class PostprocessingConfig:
    onset_threshold: float = 0.5
    min_onset_interval: float = 0.05  # seconds
    peak_min_distance: int = 2  # frames
    # drumscribe extensions
    class_thresholds: list[float] | None = None  # per-class, overrides onset_threshold
    onset_tolerance: float = 0.05  # seconds, evaluation matching window (mir_eval)
    # groups of classes of which one hit sounds at a time (e.g. the toms): within the minimum interval
    # only the group's strongest peak is kept (drumscribe.transcription.decoding); [] = off
    exclusive_groups: list[list[str]] = field(default_factory=list)
    # ranking weight of a grouped class (class name -> w > 0, default 1): peaks compete by
    # strength x weight, so a class the network under-scores can still win its hits (no effect
    # on a class in no group)
    exclusive_weights: dict[str, float] = field(default_factory=dict)
    # one per model.articulations entry: a parent-drum hit gets the articulation whose output reaches
    # its threshold at the hit (decoding.py); None = onset_threshold for each
    articulation_thresholds: list[float] | None = None
    # sub-frame onset times: "none" (frame times) or "signal" (each hit moved to the attack measured in its
    # class's band envelope, drumscribe.transcription.refine)
    onset_refine: str = "none"
    # the articulations a transcription writes by default (the output rule, core/drums.py
    # ARTICULATION_MIN_PRECISION): those whose precision at the model's thresholds was shown on real
    # recordings and GMD test (scripts/articulation_gate.py writes this list into a model); every other
    # articulation is written as its drum's plain stroke.  [] = none shown: the 8 drums only.
    written_articulations: list[str] = field(default_factory=list)
    # velocities that follow the playing (drumscribe.transcription.levels): class name -> [slope (velocity
    # per dB of the hit's band level against the file's median), weight of the head's own contrast], fitted
    # to a model by scripts/fit_velocity_levels.py; {} or a class not listed: the velocity head's values
    velocity_levels: dict[str, list[float]] = field(default_factory=dict)


ONSET_REFINE_MODES = ("none", "signal")  # postprocessing.onset_refine (drumscribe.transcription.refine)

# the postprocessing keys that decide which peaks become events (thresholds aside): tuned
# thresholds are only right under the rules they were tuned with, so they are stored together
DECODING_KEYS = ("min_onset_interval", "peak_min_distance", "exclusive_groups", "exclusive_weights",
                 "articulation_thresholds", "onset_refine", "written_articulations")
# the postprocessing keys fitted to one model by a script and stored with it (beside DECODING_KEYS);
# tuning thresholds leaves them as they are
FITTED_KEYS = ("velocity_levels",)


@dataclass
class MidiConfig:
    # class names and their General MIDI output notes: drumscribe.core.drums unless a config lists them
    drum_names: list[str] = field(default_factory=lambda: list(drums.CLASSES))
    gm_mapping: dict[str, int] = field(default_factory=lambda: dict(drums.GM_OUTPUT))
    default_velocity: int = 80
    note_duration_ticks: int = 50
    # drumscribe extensions
    ticks_per_beat: int = 480
    tempo_bpm: float = 120.0


@dataclass
class Config:
    data: DataConfig
    audio: AudioConfig
    model: ModelConfig
    training: TrainingConfig
    midi: MidiConfig = field(default_factory=MidiConfig)
    # E-GMD note -> class index: drumscribe.core.drums (E-GMD's own TD numbering) unless a config lists it
    egmd_midi_mapping: dict[int, int] = field(default_factory=drums.td_mapping)
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    hardware: HardwareConfig = field(default_factory=HardwareConfig)
    postprocessing: PostprocessingConfig = field(default_factory=PostprocessingConfig)

    # ------------------------------------------------------------------ derived
    @property
    def class_names(self) -> list[str]:
        return list(self.midi.drum_names)

    @property
    def n_classes(self) -> int:
        return self.model.n_classes

    @property
    def articulations(self) -> list[str]:
        return list(self.model.articulations)

    @property
    def n_outputs(self) -> int:
        """Onset outputs of the network: the drums, then the articulations."""
        return self.model.n_classes + len(self.model.articulations)

    def thresholds(self) -> list[float]:
        """Per-class decoding thresholds (tuned ones if present)."""
        if self.postprocessing.class_thresholds is not None:
            return list(self.postprocessing.class_thresholds)
        return [self.postprocessing.onset_threshold] * self.n_classes

    def articulation_thresholds(self) -> list[float]:
        """One decoding threshold per articulation output (tuned ones if present)."""
        if self.postprocessing.articulation_thresholds is not None:
            return list(self.postprocessing.articulation_thresholds)
        return [self.postprocessing.onset_threshold] * len(self.model.articulations)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def copy(self) -> "Config":
        return copy.deepcopy(self)


# --------------------------------------------------------------------- loading

def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None))
    if typing.get_origin(tp) is not None:
        return str(tp).replace("typing.", "")
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp``; return it (ints accepted for floats)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in args:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r} ({type(value).__name__})")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping (section), got {type(value).__name__}")
        return _build(tp, value, key)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r} ({type(value).__name__})")
        (item_tp,) = args
        return [_coerce(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r} ({type(value).__name__})")
        k_tp, v_tp = args
        return {_coerce(k, k_tp, f"{key} key {k!r}"): _coerce(v, v_tp, f"{key}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r} ({type(value).__name__})")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r} ({type(value).__name__})")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true/false, got {value!r} ({type(value).__name__})")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r} ({type(value).__name__})")
        return value
    raise ConfigError(f"{key}: unsupported type {tp}")  # pragma: no cover


def _build(cls: type, raw: dict[str, Any], prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in names:
            dotted = f"{prefix}.{key}" if prefix else str(key)
            close = [n for n in names if n.startswith(str(key)[:4])]
            hint = f" (did you mean {', '.join(sorted(close))}?)" if close else ""
            raise ConfigError(f"{dotted}: unknown key{hint}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        dotted = f"{prefix}.{f.name}" if prefix else f.name
        if f.name in raw:
            kwargs[f.name] = _coerce(raw[f.name], hints[f.name], dotted)
        elif f.default is _REQUIRED and f.default_factory is _REQUIRED:  # type: ignore[misc]
            raise ConfigError(f"{dotted}: required key is missing")
    return cls(**kwargs)


def _validate(cfg: Config) -> None:
    def fail(key: str, msg: str) -> None:
        raise ConfigError(f"{key}: {msg}")

    d, a, m, t = cfg.data, cfg.audio, cfg.model, cfg.training
    if d.split_strategy not in ("group", "official", "random"):
        fail("data.split_strategy", f"must be group, official or random, got {d.split_strategy!r}")
    if d.max_files is not None and d.max_files <= 0:
        fail("data.max_files", "must be positive or null")
    for k in ("train_split", "val_split", "test_split"):
        v = getattr(d, k)
        if not 0.0 <= v <= 1.0:
            fail(f"data.{k}", f"must be in [0, 1], got {v}")
    total = d.train_split + d.val_split + d.test_split
    if abs(total - 1.0) > 1e-6:
        fail("data.train_split", f"train/val/test ratios must sum to 1, got {total:g}")
    for k in ("sample_rate", "n_fft", "hop_length", "n_mels"):
        if getattr(a, k) <= 0:
            fail(f"audio.{k}", "must be positive")
    if any(int(n) <= 0 for n in a.stack_n_ffts) or a.n_fft in a.stack_n_ffts \
            or len(set(a.stack_n_ffts)) != len(a.stack_n_ffts):
        fail("audio.stack_n_ffts", f"must list distinct positive window lengths other than audio.n_fft, got {a.stack_n_ffts}")
    if a.fmax is not None and a.fmax > a.sample_rate / 2:
        fail("audio.fmax", f"{a.fmax} is above the Nyquist frequency {a.sample_rate / 2}")
    if a.fmax is not None and a.fmin >= a.fmax:
        fail("audio.fmin", f"must be below audio.fmax ({a.fmax})")
    if m.n_mels != a.n_mels:
        fail("model.n_mels", f"must equal audio.n_mels ({a.n_mels}), got {m.n_mels}")
    if not m.conv_filters:
        fail("model.conv_filters", "must list at least one conv block")
    if a.n_mels // (m.pool_size ** len(m.conv_filters)) < 1:
        fail("model.pool_size", "pooling removes every mel band; use fewer conv blocks or a smaller pool")
    for k in ("dropout_cnn", "dropout_gru"):
        if not 0.0 <= getattr(m, k) < 1.0:
            fail(f"model.{k}", "must be in [0, 1)")
    if len(cfg.midi.drum_names) != m.n_classes:
        fail("midi.drum_names", f"has {len(cfg.midi.drum_names)} names but model.n_classes is {m.n_classes}")
    missing = [n for n in cfg.midi.drum_names if n not in cfg.midi.gm_mapping]
    if missing:
        fail("midi.gm_mapping", f"no GM note for {', '.join(missing)}")
    for name, note in cfg.midi.gm_mapping.items():
        if not 0 <= note <= 127:
            fail(f"midi.gm_mapping.{name}", f"MIDI note must be 0-127, got {note}")
    if not 1 <= cfg.midi.default_velocity <= 127:
        fail("midi.default_velocity", "must be 1-127")
    for note, cls in cfg.egmd_midi_mapping.items():
        if not 0 <= note <= 127:
            fail(f"egmd_midi_mapping.{note}", "MIDI note must be 0-127")
        if not 0 <= cls < m.n_classes:
            fail(f"egmd_midi_mapping.{note}", f"class index {cls} out of range 0..{m.n_classes - 1}")
    for k in ("num_epochs", "batch_size", "accumulate_grad_batches"):
        if getattr(t, k) <= 0:
            fail(f"training.{k}", "must be positive")
    if t.learning_rate <= 0:
        fail("training.learning_rate", "must be positive")
    if t.optimizer not in ("Adam", "AdamW"):
        fail("training.optimizer", f"supported: Adam, AdamW; got {t.optimizer!r}")
    if t.frozen not in FROZEN_MODES:
        fail("training.frozen", f"one of {', '.join(FROZEN_MODES)}; got {t.frozen!r}")
    if t.frozen == "all_but_offsets" and not cfg.model.offset_head:
        fail("training.frozen", "all_but_offsets trains the offset rows: set model.offset_head=true")
    if t.warmup_steps < 0:
        fail("training.warmup_steps", f"must not be negative; got {t.warmup_steps}")
    if t.scheduler not in SCHEDULERS:
        fail("training.scheduler", f"supported: {', '.join(SCHEDULERS)}; got {t.scheduler!r}")
    if t.precision not in PRECISIONS:
        fail("training.precision", f"unknown precision {t.precision!r}; one of {', '.join(PRECISIONS)}")
    if t.window_seconds <= 0:
        fail("training.window_seconds", "must be positive")
    if t.epoch_windows is not None and t.epoch_windows < 1:
        fail("training.epoch_windows", f"must be a positive number of windows or null, got {t.epoch_windows}")
    if t.max_minutes is not None and not (t.max_minutes > 0 and math.isfinite(t.max_minutes)):
        fail("training.max_minutes", f"must be a positive number of minutes or null, got {t.max_minutes}")
    if not 0.0 <= t.soft_target_weight < 1.0:
        fail("training.soft_target_weight", "must be in [0, 1)")
    if cfg.loss.type not in ("BCELoss", "BCEWithLogitsLoss", "FocalLoss"):
        fail("loss.type", "supported: BCELoss, BCEWithLogitsLoss (both computed from logits), FocalLoss; "
                          f"got {cfg.loss.type!r}")
    if not (cfg.loss.focal_gamma >= 0 and math.isfinite(cfg.loss.focal_gamma)):
        fail("loss.focal_gamma", f"must be a finite number >= 0, got {cfg.loss.focal_gamma}")
    if not (cfg.loss.velocity_weight >= 0 and math.isfinite(cfg.loss.velocity_weight)):
        fail("loss.velocity_weight", f"must be a finite number >= 0, got {cfg.loss.velocity_weight}")
    if m.offset_head and not m.velocity_head:
        fail("model.offset_head", "needs model.velocity_head: true (the offsets are that head's second block)")
    arts = list(m.articulations or [])
    for name in arts:
        if name not in drums.ARTICULATION_CLASSES:
            fail("model.articulations", f"unknown articulation {name!r} (known: {', '.join(drums.ARTICULATION_CLASSES)})")
        if drums.ARTICULATION_PARENT[name] not in cfg.midi.drum_names:
            fail("model.articulations", f"{name}: its drum {drums.ARTICULATION_PARENT[name]!r} is not a class (midi.drum_names)")
    if len(set(arts)) != len(arts):
        fail("model.articulations", f"lists a name twice: {arts}")
    n_out = cfg.n_outputs
    if cfg.loss.class_weights is not None and len(cfg.loss.class_weights) not in (m.n_classes, n_out):
        fail("loss.class_weights", f"needs {m.n_classes} values (or {n_out} with the articulations), "
                                   f"got {len(cfg.loss.class_weights)}")
    for sec in ("early_stopping", "checkpoint"):
        mode = getattr(cfg, sec).mode
        if mode not in ("min", "max"):
            fail(f"{sec}.mode", f"must be min or max, got {mode!r}")
    if cfg.logging.logger not in ("tensorboard", "csv", "none"):
        fail("logging.logger", f"supported: tensorboard, csv, none; got {cfg.logging.logger!r}")
    p = cfg.postprocessing
    if not 0.0 < p.onset_threshold < 1.0:
        fail("postprocessing.onset_threshold", "must be in (0, 1)")
    if p.class_thresholds is not None:
        if len(p.class_thresholds) != m.n_classes:
            fail("postprocessing.class_thresholds", f"needs {m.n_classes} values")
        if not all(0.0 < x < 1.0 for x in p.class_thresholds):
            fail("postprocessing.class_thresholds", "values must be in (0, 1)")
    for name in p.written_articulations:
        if name not in arts:
            fail("postprocessing.written_articulations", f"{name!r} is not one of model.articulations ({arts})")
    if p.articulation_thresholds is not None:
        if len(p.articulation_thresholds) != len(arts):
            fail("postprocessing.articulation_thresholds", f"needs {len(arts)} values (one per model.articulations)")
        if not all(0.0 < x < 1.0 for x in p.articulation_thresholds):
            fail("postprocessing.articulation_thresholds", "values must be in (0, 1)")
    if p.min_onset_interval < 0 or p.peak_min_distance < 0:
        fail("postprocessing.min_onset_interval", "must not be negative")
    if p.onset_tolerance <= 0:
        fail("postprocessing.onset_tolerance", "must be positive")
    if p.onset_refine not in ONSET_REFINE_MODES:
        fail("postprocessing.onset_refine", f"one of {', '.join(ONSET_REFINE_MODES)}; got {p.onset_refine!r}")
    for name, coef in (p.velocity_levels or {}).items():
        if name not in cfg.midi.drum_names:
            fail("postprocessing.velocity_levels", f"{name!r} is not one of midi.drum_names")
        if len(coef) != 2 or not all(math.isfinite(x) for x in coef):  # numbers already: the dataclass types
            fail("postprocessing.velocity_levels", f"{name}: needs [slope, head weight] (two numbers), got {coef!r}")
    seen: set[str] = set()
    for group in p.exclusive_groups or []:
        if not isinstance(group, (list, tuple)) or len(group) < 2:
            fail("postprocessing.exclusive_groups", f"each group lists 2 or more class names, got {group!r}")
        for name in group:
            if name not in cfg.midi.drum_names:
                fail("postprocessing.exclusive_groups", f"{name!r} is not a class (midi.drum_names)")
            if name in seen:
                fail("postprocessing.exclusive_groups", f"{name!r} is in more than one group")
            seen.add(name)
    for name, w in (p.exclusive_weights or {}).items():  # a class in no group: no effect
        if name not in cfg.midi.drum_names:
            fail("postprocessing.exclusive_weights", f"{name!r} is not a class (midi.drum_names)")
        if not float(w) > 0:
            fail("postprocessing.exclusive_weights", f"{name}: weight must be positive, got {w}")


def parse_overrides(overrides: list[str] | None) -> list[tuple[list[str], Any]]:
    parsed = []
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. data.egmd_root=/data/e-gmd")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key:
            raise ConfigError(f"--set {item!r}: empty key")
        try:
            value = yaml.safe_load(raw) if raw.strip() != "" else ""
        except yaml.YAMLError as exc:
            raise ConfigError(f"{key}: cannot parse value {raw!r}: {exc}") from None
        parsed.append((key.split("."), value))
    return parsed


def apply_overrides(raw: dict[str, Any], overrides: list[str] | None) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    for parts, value in parse_overrides(overrides):
        node = raw
        for i, part in enumerate(parts[:-1]):
            if part not in node or not isinstance(node[part], dict):
                node[part] = {}
            node = node[part]
        last: Any = parts[-1]
        if parts[0] == "egmd_midi_mapping" and len(parts) == 2:
            try:
                last = int(last)
            except ValueError:
                raise ConfigError(f"egmd_midi_mapping.{last}: MIDI note numbers are integers") from None
        node[last] = value
    return raw


def config_from_dict(raw: dict[str, Any], overrides: list[str] | None = None) -> Config:
    if not isinstance(raw, dict):
        raise ConfigError("config: the file must contain a YAML mapping of sections")
    raw = apply_overrides(raw, overrides)
    cfg = _build(Config, raw)
    _validate(cfg)
    return cfg


def read_yaml(path: str | Path, what: str = "config file") -> Any:
    """The parsed YAML of ``path``; a missing file or bad YAML is a one-line :class:`ConfigError`."""
    path = Path(path)
    if not path.is_file():
        if path.is_dir():
            raise ConfigError(f"{path}: is a folder, not a {what}")
        raise ConfigError(f"{what} not found: {path}" if not path.exists() else f"{path}: not a regular file ({what})")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:  # a binary file given as --config
        raise ConfigError(f"{path}: not a YAML {what} (not UTF-8 text: byte {exc.start} is "
                          f"0x{exc.object[exc.start]:02x})") from None
    except OSError as exc:
        from drumscribe.core.errors import os_error_line

        raise ConfigError(f"cannot read {what}: {os_error_line(exc, path)}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None  # one line
    except (ValueError, RecursionError) as exc:  # e.g. nesting too deep for the parser
        raise ConfigError(f"{path}: not a usable YAML {what} ({type(exc).__name__})") from None


def load_config(path: str | Path, overrides: list[str] | None = None) -> Config:
    """Read a YAML config, apply ``--set`` overrides, validate, return a :class:`Config`."""
    path = Path(path)
    raw = read_yaml(path)
    try:
        return config_from_dict(raw or {}, overrides)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def require_path(cfg: Config, dotted: str, kind: str = "dir") -> Path:
    """Return the path named by a config key; fail naming the key if it does not exist."""
    obj: Any = cfg
    for part in dotted.split("."):
        obj = getattr(obj, part)
    p = Path(obj).expanduser()
    ok = p.is_dir() if kind == "dir" else p.is_file()
    if not ok:
        raise ConfigError(f"{dotted}: {kind} does not exist: {p} (set it with --set {dotted}=PATH)")
    return p


def stable_hash(obj: Any) -> str:
    """Short sha256 of a JSON-serialisable object (sorted keys)."""
    blob = json.dumps(obj, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


SET_HELP = "override a config key, repeatable: --set data.egmd_root=/data/e-gmd-v1.0.0"


def add_set_argument(parser, help: str = SET_HELP) -> None:
    """The one ``--set KEY=VALUE`` option (repeatable, collected in ``args.overrides``) every command takes."""
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=help)


def add_config_arguments(parser, required: bool = True) -> None:
    """The ``--config`` / ``--set`` pair of the commands that need a config (train, preprocess)."""
    parser.add_argument("--config", required=required, help="YAML config (e.g. configs/medium_test_config.yaml)")
    add_set_argument(parser)
