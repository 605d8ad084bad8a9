"""Cache log-mel features and onset targets of an E-GMD-format dataset, and write the split files.

Skips files whose cache entry is complete and was made with the same feature
config (rebuilds stale or partial ones); --force rebuilds everything and
re-splits.  Exit status is non-zero when any file failed.
"""

from __future__ import annotations

import os

from drumscribe.core.config import add_config_arguments


def add_arguments(p) -> None:
    add_config_arguments(p)
    p.add_argument("--num-workers", type=int, default=1, help="parallel worker processes (default 1)")
    p.add_argument("--force", action="store_true", help="Force reprocessing of already processed files (and re-split)")
    p.add_argument("--resplit", action="store_true", help="recompute the split files, keep the cache")
    p.add_argument("--max-files", type=int, default=None, help="shortcut for --set data.max_files=N")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--use-hdf5", dest="use_hdf5", action="store_true", default=True,
                   help="one .h5 file per audio file (default)")
    g.add_argument("--no-hdf5", dest="use_hdf5", action="store_false", help="a folder of .npy files per audio file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from drumscribe.core.config import load_config
    from drumscribe.core.errors import DrumscribeError
    from drumscribe.dataset.preprocess import format_summary, run_preprocess

    overrides = list(args.overrides)
    if args.max_files is not None:
        overrides.append(f"data.max_files={args.max_files}")
    cfg = load_config(args.config, overrides)
    if args.num_workers < 1:
        raise DrumscribeError("--num-workers must be at least 1")
    workers = min(args.num_workers, os.cpu_count() or 1) if args.num_workers > (os.cpu_count() or 1) * 4 else args.num_workers
    summary = run_preprocess(cfg, num_workers=workers, force=args.force, use_hdf5=args.use_hdf5,
                             resplit=args.resplit, progress=not args.quiet)
    print(format_summary(summary, cfg.data.processed_root, cfg.data.splits_dir))
    return 0 if summary.ok else 1
