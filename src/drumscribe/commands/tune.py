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


def run(args) -> int:
    from pathlib import Path

    import torch
    from rich.console import Console
    from rich.table import Table

    from ..checkpoint import load_bundle, save_thresholds
    from ..errors import ConfigError
    from ..evaluation import cache_items, config_for, folder_items, is_named_split, predict_items, tune_from_predictions

    if args.threads:
        torch.set_num_threads(args.threads)
    bundle = load_bundle(args.checkpoint)
    cfg = config_for(bundle, args.config, args.overrides)
    if is_named_split(args.split):
        from ..cache import cache_key

        items = cache_items(cfg, args.split, expected_key=bundle.cache_key or cache_key(cfg))
    elif Path(args.split).is_dir():
        items = folder_items(cfg, args.split)
    else:
        raise ConfigError(f"--split {args.split!r}: not train/val/test and not a folder")
    preds = predict_items(bundle, items, progress=True)
    if not preds:
        raise ConfigError(f"--split {args.split}: no files")
    th, details = tune_from_predictions(preds, cfg, bundle.thresholds, tolerance=args.tolerance)
    console = Console()
    t = Table(title=f"Per-class thresholds tuned on {args.split} ({len(preds)} files)", title_justify="left")
    for col in ("class", "support", "threshold before", "F1 before", "threshold after", "F1 after"):
        t.add_column(col, justify="left" if col == "class" else "right")
    for name, old, d in zip(bundle.class_names, bundle.thresholds, details):
        t.add_row(name, str(d["support"]), f"{old:.2f}", f"{d['before_f1']:.3f}", f"{d['threshold']:.2f}",
                  f"{d['after_f1']:.3f}" + ("" if d["tuned"] else " (no support)"))
    console.print(t)
    if args.dry_run:
        console.print("dry run: checkpoint not changed")
    else:
        save_thresholds(bundle.path, th)
        console.print(f"thresholds saved into {bundle.path}")
    return 0
