"""Score a checkpoint: per-class onset precision/recall/F1 on a split (from the cache) or a folder of audio+MIDI.

Examples::

    drumscribe evaluate --checkpoint ckpts/best.ckpt --config configs/medium_test_config.yaml \\
        --split test --output docs/medium-test-eval-results.json
    drumscribe evaluate --checkpoint best.ckpt --split /data/my-drums --plot plots/

Thresholds: ``--threshold`` > the checkpoint's (tuned) thresholds > the config's
(``--set postprocessing.onset_threshold=...``/``class_thresholds`` also take precedence
over the checkpoint's).  The JSON format is described in docs/evaluation.md.
"""

from __future__ import annotations

import argparse

from drumscribe.core.config import add_set_argument
from drumscribe.core.outputs import add_output_argument, add_overwrite_argument


class OneSplit(argparse.Action):
    """``--split`` given once: a second one is refused in one line (exit 2), never silently dropped."""

    def __call__(self, parser, namespace, values, option_string=None):
        first = getattr(namespace, "_split_given", None)
        if first is not None:
            parser.exit(2, f"drumscribe evaluate: error: --split given twice ({first}, {values}); evaluate scores "
                           "one split per run: run it once for each\n")
        namespace._split_given = values
        setattr(namespace, self.dest, values)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", default=None,
                        help="a .ckpt from `drumscribe train`, a .safetensors or an exported .onnx model "
                             "(default: the bundled model)")
    parser.add_argument("--backend", choices=("onnx", "torch"), default=None,
                        help="onnx: ONNX Runtime (default for the bundled model and .onnx files); "
                             "torch: PyTorch (default for .ckpt/.safetensors; needs drumscribe[train])")
    parser.add_argument("--config", default=None,
                        help="YAML config for paths and decoding (default: the config stored in the checkpoint)")
    add_set_argument(parser, "override a config key, repeatable (e.g. --set data.processed_root=/data/cache)")
    parser.add_argument("--split", default="test", action=OneSplit,
                        help="train, val or test (read from the feature cache), real-dev/drums or real-dev/multitrack_sum "
                             "(the real-recording yardstick, $DRUMSCRIBE_REAL_DEV), or a folder of audio+MIDI pairs")
    add_output_argument(parser, "--output", default=None, help="write all results as JSON here")
    parser.add_argument("--tolerance", type=float, default=None,
                        help="onset matching window in seconds (default postprocessing.onset_tolerance, 0.05)")
    parser.add_argument("--threshold", type=float, default=None, help="one onset threshold for every class")
    add_output_argument(parser, "--plot", kind="folder", default=None, metavar="DIR",
                        help="write piano rolls (truth vs prediction) of the best and worst files here")
    parser.add_argument("--plot-files", type=int, default=3, help="how many best and worst files to plot (default 3)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for the model (default: the runtime's, one per core)")
    add_overwrite_argument(parser, "an existing --output file or plot")


def output_rule(args):
    """The overwrite rule (:mod:`drumscribe.core.outputs`) for this run: its inputs are the model (and its
    sidecar), the config, and a folder split's audio, MIDI and CSV files."""
    from pathlib import Path

    from drumscribe.audio.io import AUDIO_SUFFIXES
    from drumscribe.core.outputs import OutputRule, model_files

    inputs = [*model_files(args.checkpoint), args.config]
    if args.split and Path(args.split).is_dir():
        keep = {*AUDIO_SUFFIXES, ".mid", ".midi", ".csv"}
        inputs += [p for p in Path(args.split).rglob("*") if p.suffix.lower() in keep]
    return OutputRule("evaluate", [p for p in inputs if p], getattr(args, "overwrite", False))


def check_outputs(args, rule=None) -> bool:
    """``--output`` and ``--plot`` checked *before* the evaluation runs: an input is refused, a folder that
    cannot be written is an OSError naming it.  False when ``--output`` exists and is kept (nothing to do)."""
    from pathlib import Path

    from drumscribe.core.atomic import check_destination

    rule = rule or output_rule(args)
    if args.output:
        check_destination(args.output)  # a folder there, a file in the way: the OS error (exit 1)
    if args.output and not rule.may_write(args.output):
        return False
    if args.plot:
        check_destination(Path(args.plot) / "piano-roll.png")
    return True


def evaluate(args) -> dict:
    """The whole command as a function; returns the results dict."""
    from drumscribe.core.version import __version__
    from drumscribe.api import load_model
    from drumscribe.transcription.bundle import resolve
    from drumscribe.evaluation.evaluate import evaluate_predictions, is_named_split, predict_items, split_items

    from drumscribe.core.options import check_args

    check_args("evaluate", args)  # also when called as a function, not through the CLI
    rule = output_rule(args)
    if not check_outputs(args, rule):
        return {}
    bundle = load_model(args.checkpoint, args.backend, threads=args.threads)
    cfg, thresholds = resolve(bundle, args.config, args.overrides, args.threshold)
    items = split_items(cfg, args.split, bundle.cache_key)
    source = "cache" if is_named_split(args.split) else "folder"
    preds = predict_items(bundle, items, progress=True)
    results = evaluate_predictions(preds, cfg, bundle.class_names, thresholds, args.tolerance)
    results.update({
        "checkpoint": str(bundle.path), "config": args.config, "split": args.split, "source": source,
        "drumscribe_version": __version__,
    })
    if args.plot:
        _plots(args.plot, preds, results, cfg, bundle.class_names, thresholds, args.plot_files, rule)
    return results


def _plots(folder, preds, results, cfg, class_names, thresholds, n, rule) -> None:
    from pathlib import Path

    from drumscribe.transcription.decoding import DecodeSettings, decode, events_by_class
    from drumscribe.dataset.targets import onsets_by_class
    from drumscribe.transcription.plotting import piano_roll

    settings = DecodeSettings.from_config(cfg, thresholds)
    clock = settings.clock
    order = sorted(range(len(preds)), key=lambda i: results["files"][i]["f1"])
    chosen = {i: "worst" for i in order[:n]}
    chosen.update({i: "best" for i in order[::-1][:n] if i not in chosen})
    for i, tag in chosen.items():
        p = preds[i]
        est = events_by_class(decode(p.onset_probs, settings), len(class_names))
        ref = onsets_by_class(p.item.note_times, p.item.note_classes, len(class_names))
        f1 = results["files"][i]["f1"]
        stem = p.item.name.replace("/", "__").rsplit(".", 1)[0]
        target = Path(folder) / f"{tag}-{f1:.3f}-{stem}.png"
        if rule.may_write(target):
            piano_roll(target, class_names, est, ref, p.onset_probs, clock.frame_rate,
                       title=f"{p.item.name}  F1={f1:.3f} ({tag})")


def run(args) -> int:
    import json

    from rich.console import Console

    from drumscribe.evaluation.evaluate import results_tables
    from drumscribe.core.atomic import atomic_write_bytes

    results = evaluate(args)
    if not results:  # --output exists and is kept: the notice said so
        return 0
    console = Console()
    console.print(f"checkpoint: {results['checkpoint']}  split: {results['split']}  "
                  f"thresholds: {', '.join(f'{k}={v:.2f}' for k, v in results['thresholds'].items())}")
    for t in results_tables(results):
        console.print(t)
    if args.output:
        atomic_write_bytes(args.output, (json.dumps(results, indent=1) + "\n").encode())
        console.print(f"results written to {args.output}")
    if args.plot:
        console.print(f"piano rolls written to {args.plot}")
    return 0
