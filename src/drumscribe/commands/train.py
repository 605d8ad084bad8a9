"""Train the CRNN on the preprocessed cache (PyTorch Lightning).

Reads the split files and the feature cache written by ``drumscribe
preprocess``; writes checkpoints to ``checkpoint.dirpath``, TensorBoard logs
and ``metrics_history.csv`` to ``logging.save_dir/logging.experiment_name``.
Both are checked before any work: a folder that cannot be written is refused, and a
fresh run never replaces an earlier run's checkpoints or history without ``--overwrite``
(``--resume`` continues that run).

Examples:
  drumscribe train --config configs/medium_test_config.yaml
  drumscribe train --config configs/medium_test_config.yaml --resume CKPT_DIR/medium-test-last.ckpt
  drumscribe train --config configs/test_config.yaml --fast-dev-run --set hardware.num_workers=0
"""

from __future__ import annotations

import argparse

from drumscribe.core.config import add_config_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = __doc__.split("Examples:")[1].join(["Examples:", ""]) if "Examples:" in __doc__ else None
    add_config_arguments(parser)
    parser.add_argument("--resume", metavar="CKPT", default=None,
                        help="continue from a checkpoint (epoch count, optimizer, scheduler, early stopping)")
    parser.add_argument("--init-from", metavar="MODEL", default=None,
                        help="start from the weights of a trained model (a .ckpt, a .safetensors bundle, or "
                             "'default' for the bundled model) with a fresh optimizer and epoch count: "
                             "fine-tuning.  Its model and audio settings must equal the config's")
    parser.add_argument("--fast-dev-run", action="store_true",
                        help="run 1 training + 1 validation batch to check the pipeline (writes no checkpoints)")
    parser.add_argument("--max-epochs", type=int, default=None, metavar="N",
                        help="override training.num_epochs")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (for logs / CI)")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="torch CPU threads per training process (default: torch's; with DDP on CPU "
                             "give each of the hardware.devices processes cores / devices)")
    parser.add_argument("--no-tune", dest="tune", action="store_false",
                        help="skip tuning per-class thresholds on the validation split after training "
                             "(default: tune the best and the last checkpoint, stored inside them)")
    parser.add_argument("--overwrite", action="store_true",
                        help="start a fresh run although checkpoint.dirpath holds an earlier run's checkpoints "
                             "(or its metrics history exists); they are replaced (default: refuse before any "
                             "work; --resume continues that run instead)")


def run(args: argparse.Namespace) -> int:
    from drumscribe.core.config import load_config
    from drumscribe.core.errors import ConfigError

    cfg = load_config(args.config, args.overrides)
    if args.max_epochs is not None and args.max_epochs <= 0:
        raise ConfigError("--max-epochs: must be positive")
    if args.threads is not None:
        if args.threads <= 0:
            raise ConfigError("--threads: must be positive")
        import os

        import torch

        torch.set_num_threads(args.threads)
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # else Lightning's DDP sets cores / processes
    from drumscribe.training.module import HISTORY_NAME, fit, run_dir

    if args.init_from and args.resume:
        raise ConfigError("--init-from and --resume: give one (a resumed run already has its weights)")
    if not args.fast_dev_run and _rank_zero():  # fast_dev_run writes nothing; DDP's other ranks write nothing
        from drumscribe.dataset.splits import read_split
        from drumscribe.training.checkpoint import check_run_outputs

        for split in ("train", "val"):  # a missing input is reported before the outputs
            read_split(cfg.data.splits_dir, split)
        check_run_outputs(cfg, run_dir(cfg) / HISTORY_NAME, resume=args.resume, init_from=args.init_from,
                          overwrite=args.overwrite)
    result = fit(cfg, resume=args.resume, init_from=args.init_from, fast_dev_run=args.fast_dev_run, max_epochs=args.max_epochs,
                 enable_progress_bar=not args.no_progress)
    if args.tune and not args.fast_dev_run and result.trainer.is_global_zero:  # DDP: rank 0 only
        from drumscribe.evaluation.tuning import tune_checkpoint

        done = set()
        for ckpt in (result.best_checkpoint, result.last_checkpoint):
            if ckpt and str(ckpt) not in done:
                done.add(str(ckpt))
                print(f"tuning per-class thresholds of {ckpt} on the validation split")
                tune_checkpoint(ckpt, args.config, args.overrides, "val")
    return 0


def _rank_zero() -> bool:
    """Whether this is the launching process (DDP's subprocess launcher re-runs the command with LOCAL_RANK set)."""
    import os

    return all(os.environ.get(k, "0") in ("", "0") for k in ("LOCAL_RANK", "NODE_RANK", "GLOBAL_RANK"))
