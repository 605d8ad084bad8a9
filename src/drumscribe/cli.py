"""The ``drumscribe`` command line.

Every subcommand lives in ``drumscribe.commands.<name>`` and exposes
``add_arguments(parser)`` and ``run(args) -> int``.  Those modules import
only light things at module level, so ``drumscribe --help`` is instant; torch
and lightning are imported inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__

# name -> (module, one-line help).  Order is the order shown in --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("drumscribe.commands.demo", "transcribe the bundled drum clip with the bundled model"),
    "synth": ("drumscribe.commands.synth", "render E-GMD-format drum audio+MIDI from installed kits"),
    "preprocess": ("drumscribe.commands.preprocess", "E-GMD audio+MIDI -> HDF5 feature cache and splits"),
    "train": ("drumscribe.commands.train", "train the CRNN (PyTorch Lightning)"),
    "tune": ("drumscribe.commands.tune", "tune per-class onset thresholds on the validation split"),
    "evaluate": ("drumscribe.commands.evaluate", "per-class onset precision/recall/F1 of a checkpoint"),
    "transcribe": ("drumscribe.commands.transcribe", "drum audio -> General MIDI drum file"),
    "report": ("drumscribe.commands.report", "the plan's step-7 decision from a run's history"),
}


def build_parser(available_only: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drumscribe",
        description="Drum audio to drum MIDI: preprocessing, training, evaluation, transcription.",
    )
    parser.add_argument("--version", action="version", version=f"drumscribe {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if available_only and exc.name == module_name:
                continue  # command not built yet
            raise
        p = sub.add_parser(name, help=help_text, description=(module.__doc__ or help_text).strip().split("\n\n")[0])
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    from .errors import DrumscribeError

    try:
        return int(args._run(args) or 0)
    except DrumscribeError as exc:
        print(f"drumscribe {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"drumscribe {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
