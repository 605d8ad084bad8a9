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

from drumscribe.core.version import __version__

# name -> (module, one-line help).  Order is the order shown in --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("drumscribe.commands.demo", "transcribe the bundled drum clip with the bundled model"),
    "synth": ("drumscribe.commands.synth", "render E-GMD-format drum audio+MIDI from installed kits"),
    "preprocess": ("drumscribe.commands.preprocess", "E-GMD audio+MIDI -> HDF5 feature cache and splits"),
    "train": ("drumscribe.commands.train", "train the CRNN (PyTorch Lightning)"),
    "tune": ("drumscribe.commands.tune", "tune per-class onset thresholds on the validation split"),
    "evaluate": ("drumscribe.commands.evaluate", "per-class onset precision/recall/F1 of a checkpoint"),
    "transcribe": ("drumscribe.commands.transcribe", "drum audio -> General MIDI drum file"),
    "export": ("drumscribe.commands.export", "export a trained model to ONNX (transcription without PyTorch)"),
    "report": ("drumscribe.commands.report", "the plan's step-7 decision from a run's history"),
    "credits": ("drumscribe.commands.credits", "licences of the code and the weights, and the credits of the training material"),
}


# optional dependencies -> the extra that installs them (base install: transcription with ONNX Runtime)
EXTRA_FOR_MODULE = {m: "train" for m in ("torch", "lightning", "h5py", "tensorboard", "librosa", "matplotlib",
                                         "onnx", "safetensors")}
EXTRA_FOR_MODULE["fluidsynth"] = "synth"


def build_parser(available_only: bool = True, only: str | None = None) -> argparse.ArgumentParser:
    """The whole CLI, or with ``only`` a parser holding just that subcommand (imports one module: start-up)."""
    parser = argparse.ArgumentParser(
        prog="drumscribe",
        description="Drum audio to drum MIDI: preprocessing, training, evaluation, transcription.",
    )
    parser.add_argument("--version", action="version", version=f"drumscribe {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        if only is not None and name != only:
            continue
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
    argv = sys.argv[1:] if argv is None else list(argv)
    # `drumscribe COMMAND ...` imports only COMMAND's module (start-up time); anything else builds the whole CLI
    parser = build_parser(only=argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    import warnings

    from drumscribe.core.errors import DrumscribeError, os_error_line

    default_format = warnings.formatwarning
    warnings.formatwarning = _one_line_warning(args.command, default_format)
    try:
        from drumscribe.core.options import check_args

        check_args(args.command, args)  # every numeric option in its range, before any work
        return int(args._run(args) or 0)
    except DrumscribeError as exc:
        print(f"drumscribe {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:  # an optional dependency of this command is not installed
        extra = EXTRA_FOR_MODULE.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        print(f"drumscribe {args.command}: error: needs {exc.name.split('.')[0]}, which is not installed: "
              f"pip install \"drumscribe[{extra}]\"", file=sys.stderr)
        return 2
    except OSError as exc:  # a write failed (read-only or vanished folder, full disk, a file in the way)
        print(f"drumscribe {args.command}: error: {os_error_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"drumscribe {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        warnings.formatwarning = default_format


def _one_line_warning(command: str, default_format):
    """Warnings raised by drumscribe's own code print as one line (``drumscribe CMD: warning: ...``)."""
    import os

    package = os.path.dirname(os.path.abspath(__file__))

    def fmt(message, category, filename, lineno, line=None):
        if os.path.abspath(str(filename)).startswith(package + os.sep):
            return f"drumscribe {command}: warning: {message}\n"
        return default_format(message, category, filename, lineno, line)

    return fmt


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
