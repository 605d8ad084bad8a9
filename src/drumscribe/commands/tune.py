"""Tune per-class onset thresholds on the validation split and store them in the checkpoint.

The method (grid, ties, classes without support) is described in :mod:`drumscribe.evaluation.tuning`.
Rewriting the checkpoint is the command's job (in place, atomically: a temp file renamed over it; through a
symbolic link the linked file is tuned and the link kept); nothing else is written.
"""

from __future__ import annotations

import argparse

from drumscribe.core.config import add_set_argument
from drumscribe.core.outputs import add_output_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_output_argument(parser, "--checkpoint", kind="in-place", required=True,
                        help="a .ckpt or shipped .safetensors to tune (rewritten in place)")
    parser.add_argument("--config", default=None, help="YAML config for paths (default: the checkpoint's)")
    add_set_argument(parser)
    parser.add_argument("--split", action="append", default=None,
                        help="train, val or test from the cache, real-dev/drums, real-dev/multitrack_sum or a folder "
                             "of audio+MIDI (default val); repeatable: each threshold maximises the mean F1 of the sets")
    parser.add_argument("--tolerance", type=float, default=None, help="onset matching window, seconds")
    parser.add_argument("--dry-run", action="store_true", help="print the tuned thresholds without saving them")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")


def run(args) -> int:
    from pathlib import Path

    import torch

    from drumscribe.evaluation.tuning import tune_checkpoint

    from drumscribe.core.atomic import check_destination
    from drumscribe.training.checkpoint import load_bundle

    if args.threads:
        torch.set_num_threads(args.threads)
    ckpt = Path(args.checkpoint).expanduser()
    if ckpt.is_symlink():  # tune the file the link names; replacing the link itself would cut it loose
        ckpt = ckpt.resolve()
    if ckpt.suffix.lower() == ".onnx" and ckpt.is_file():
        load_bundle(ckpt)  # one line: an ONNX model, not the PyTorch model tuning runs and rewrites
    if not args.dry_run and ckpt.is_file():  # the file rewritten (a shipped model's sidecar) can be: before any work
        check_destination(ckpt.with_suffix(".json") if ckpt.suffix in (".safetensors", ".json") else ckpt)
    tune_checkpoint(ckpt, args.config, args.overrides, args.split or ["val"], args.tolerance, args.dry_run)
    return 0
