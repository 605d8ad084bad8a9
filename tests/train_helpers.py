"""Helpers for the training tests: a tiny toy E-GMD cache and config overrides.

Builds the cache directly (load_audio -> compute_features -> make_targets ->
cache.write_item), independent of the preprocessing command.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {n: ROOT / "configs" / f"{n}.yaml" for n in ("default_config", "test_config", "medium_test_config")}

# Small-but-real audio front end for fast tests (n_mels must match the model).
FAST_AUDIO = ["audio.sample_rate=16000", "audio.n_fft=512", "audio.hop_length=256", "audio.n_mels=32",
              "audio.fmax=8000", "model.n_mels=32"]
TINY_MODEL = ["model.conv_filters=[8,16]", "model.hidden_size=16", "model.num_gru_layers=1"]


def path_overrides(root: Path) -> list[str]:
    return [f"data.egmd_root={root / 'egmd'}", f"data.processed_root={root / 'cache'}",
            f"data.splits_dir={root / 'cache' / 'splits'}", f"checkpoint.dirpath={root / 'ckpt'}",
            f"logging.save_dir={root / 'logs'}", "hardware.num_workers=0"]


def build_toy_cache(root: Path, overrides: list[str], config: str = "test_config", n_performances: int = 4,
                    seconds: float = 3.0, train: list[int] | None = None, val: list[int] | None = None) -> list[str]:
    """Toy audio + its cache under ``root``; returns the full override list for training on it.

    Every file is in ``train`` and ``val`` unless indices are given.
    """
    from drumscribe.audio.io import load_audio
    from drumscribe.dataset.cache import cache_key, cache_path, write_item
    from drumscribe.core.config import load_config
    from drumscribe.audio.features import compute_features
    from drumscribe.dataset.targets import make_targets, read_drum_notes
    from drumscribe.dataset.splits import write_split
    from drumscribe.core.timebase import FrameClock
    from drumscribe.dataset.toy import make_toy_egmd

    root = Path(root)
    ov = path_overrides(root) + list(overrides)
    cfg = load_config(CONFIGS[config], ov)
    egmd = Path(cfg.data.egmd_root)
    if not egmd.exists():
        make_toy_egmd(egmd, n_performances=n_performances, kits_per_performance=1, seconds=seconds, seed=0)
    rels = sorted(str(p.relative_to(egmd)) for p in egmd.rglob("*.wav"))
    clock = FrameClock.from_config(cfg.audio)
    key = cache_key(cfg)
    for rel in rels:
        y = load_audio(egmd / rel, cfg.audio.sample_rate)
        feats = compute_features(y, cfg.audio)
        notes = read_drum_notes((egmd / rel).with_suffix(".midi"))
        t = make_targets(notes, feats.shape[0], clock, cfg.egmd_midi_mapping, cfg.model.n_classes, cfg.articulations)
        write_item(cache_path(cfg.data.processed_root, rel), {
            "features": feats, "onsets": t.onsets, "velocities": t.velocities, "note_times": t.note_times,
            "note_classes": t.note_classes, "note_velocities": t.note_velocities, "note_pitches": t.note_pitches,
        }, meta={"cache_key": key, "source_path": rel, "n_frames": int(feats.shape[0]),
                 "duration": float(len(y) / cfg.audio.sample_rate)})
    pick = lambda idx: [rels[i] for i in idx] if idx is not None else rels  # noqa: E731
    write_split(cfg.data.splits_dir, "train", pick(train))
    write_split(cfg.data.splits_dir, "val", pick(val))
    write_split(cfg.data.splits_dir, "test", pick(val))
    return ov


def read_history(path: Path) -> list[dict]:
    import csv

    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def f32(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)
