"""Tune per-class onset thresholds on the validation split and store them in the checkpoint.

For each class the threshold on the grid 0.05, 0.10, ... 0.95 that maximises that
class's F1 (counts summed over the split's files, ±tolerance matching) is chosen;
ties take the median of the best thresholds; a class without reference onsets
keeps its threshold.  The result is written into the checkpoint with
``checkpoint.save_thresholds`` (atomic), so ``evaluate`` and ``transcribe`` use it.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="a .ckpt or shipped .safetensors to tune (rewritten in place)")
    parser.add_argument("--config", default=None, help="YAML config for paths (default: the checkpoint's)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, repeatable")
    parser.add_argument("--split", default="val", help="train, val or test from the cache, or a folder of audio+MIDI")
    parser.add_argument("--tolerance", type=float, default=None, help="onset matching window, seconds")
    parser.add_argument("--dry-run", action="store_true", help="print the tuned thresholds without saving them")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")


def tune_checkpoint(checkpoint, config=None, overrides=(), split="val", tolerance=None, dry_run=False,
                    console=None) -> list[float]:
    """Tune ``checkpoint``'s per-class thresholds on ``split`` (a cache split or a folder); save unless dry_run."""
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from ..checkpoint import load_bundle, save_thresholds
    from ..errors import ConfigError
    from ..evaluation import cache_items, config_for, folder_items, is_named_split, predict_items, tune_from_predictions

    bundle = load_bundle(checkpoint)
    cfg = config_for(bundle, config, list(overrides))
    if is_named_split(split):
        from ..cache import cache_key

        items = cache_items(cfg, split, expected_key=bundle.cache_key or cache_key(cfg))
    elif Path(split).is_dir():
        items = folder_items(cfg, split)
    else:
        raise ConfigError(f"--split {split!r}: not train/val/test and not a folder")
    preds = predict_items(bundle, items, progress=True)
    if not preds:
        raise ConfigError(f"--split {split}: no files")
    th, details = tune_from_predictions(preds, cfg, bundle.thresholds, tolerance=tolerance)
    console = console or Console()
    t = Table(title=f"Per-class thresholds tuned on {split} ({len(preds)} files)", title_justify="left")
    for col in ("class", "support", "threshold before", "F1 before", "threshold after", "F1 after"):
        t.add_column(col, justify="left" if col == "class" else "right")
    for name, old, d in zip(bundle.class_names, bundle.thresholds, details):
        t.add_row(name, str(d["support"]), f"{old:.2f}", f"{d['before_f1']:.3f}", f"{d['threshold']:.2f}",
                  f"{d['after_f1']:.3f}" + ("" if d["tuned"] else " (no support)"))
    console.print(t)
    if dry_run:
        console.print("dry run: checkpoint not changed")
    else:
        save_thresholds(bundle.path, th)
        console.print(f"thresholds saved into {bundle.path}")
    return th


def run(args) -> int:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    tune_checkpoint(args.checkpoint, args.config, args.overrides, args.split, args.tolerance, args.dry_run)
    return 0
