"""The plan's step-7 decision (good / slow / plateaued / not learning) and success checklist.

Examples::

    drumscribe report --run logs/medium-test-10epoch-500files
    drumscribe report --checkpoint best.ckpt --eval docs/medium-test-eval-results.json \\
        --midi /tmp/test_transcription.mid --json docs/medium-test-decision.json

Inputs: the training history (``metrics_history.csv`` written by ``drumscribe train``),
the ``drumscribe evaluate --output`` JSON, optionally a transcribed MIDI file.  With
``--run DIR`` they are looked up in DIR (``metrics_history.csv``/``.json``,
``eval_results.json``/``results.json``/any evaluate JSON, ``*.mid``); explicit flags win.
The configured epoch count comes from ``--epochs``, else ``--config``, else the
checkpoint's config (``--checkpoint``, or the one named in the evaluation JSON).
Definitions and precedence: see ``drumscribe.evaluation.report``.
"""

from __future__ import annotations

import argparse

from drumscribe.core.config import add_set_argument
from drumscribe.core.outputs import add_output_argument, add_overwrite_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", default=None, metavar="DIR", help="a run folder holding the history (and eval JSON, MIDI)")
    parser.add_argument("--checkpoint", default=None, help="the evaluated checkpoint (for its config)")
    parser.add_argument("--config", default=None, help="YAML config (for training.num_epochs and the history path)")
    add_set_argument(parser)
    parser.add_argument("--eval", dest="eval_json", default=None, help="results JSON of `drumscribe evaluate --output`")
    parser.add_argument("--history", default=None, help="metrics_history.csv (default: from --run or the config)")
    parser.add_argument("--midi", default=None, help="a MIDI file made by `drumscribe transcribe` (checked non-empty)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="configured epoch count, at least 1 (default: from the config)")
    add_output_argument(parser, "--json", dest="json_out", default=None, help="also write the decision as JSON here")
    add_overwrite_argument(parser, "an existing --json file")


def _find_eval(folder):
    import json

    for name in ("eval_results.json", "results.json"):
        if (folder / name).is_file():
            return folder / name
    for p in sorted(folder.glob("*.json")):
        try:
            if "micro" in json.loads(p.read_text()):
                return p
        except Exception:
            continue
    return None


def model_config(path):
    """The config stored with a model: a ``.ckpt``/``.safetensors`` (PyTorch) or an exported ``.onnx``, whose
    ``.json`` sidecar holds the same config (read without torch or ONNX Runtime)."""
    from pathlib import Path

    path = Path(path).expanduser()
    if path.suffix.lower() == ".onnx" and path.is_file():
        from drumscribe.transcription.bundle import check_meta, config_from_meta, read_sidecar

        return config_from_meta(check_meta(read_sidecar(path), path), path)[0]
    from drumscribe.training.checkpoint import load_bundle

    return load_bundle(path).config


def resolve_inputs(args) -> dict:
    from pathlib import Path

    from drumscribe.core.errors import DrumscribeError

    if args.epochs is not None and args.epochs < 1:
        raise DrumscribeError(f"--epochs {args.epochs}: must be at least 1")
    run = Path(args.run) if args.run else None
    if run is not None and not run.is_dir():
        raise DrumscribeError(f"--run {run}: not a folder")
    cfg = None
    if args.config:
        from drumscribe.core.config import load_config

        cfg = load_config(args.config, args.overrides)
    eval_path = Path(args.eval_json) if args.eval_json else (_find_eval(run) if run else None)
    if eval_path is None:
        raise DrumscribeError("no evaluation results: pass --eval results.json (from `drumscribe evaluate --output`)")
    from drumscribe.evaluation.report import load_eval

    results = load_eval(eval_path)
    ckpt = args.checkpoint or (results.get("checkpoint") if results.get("checkpoint") and Path(results["checkpoint"]).is_file() else None)
    if cfg is None and ckpt:
        from drumscribe.core.config import config_from_dict

        cfg = config_from_dict(model_config(ckpt).to_dict(), args.overrides)
    history = Path(args.history) if args.history else None
    if history is None and run is not None:
        history = next((run / n for n in ("metrics_history.csv", "metrics_history.json") if (run / n).is_file()), None)
    if history is None and cfg is not None:
        history = Path(cfg.logging.save_dir).expanduser() / cfg.logging.experiment_name / "metrics_history.csv"
    if history is None:
        raise DrumscribeError("no training history: pass --history metrics_history.csv, --run DIR or --config")
    midi = Path(args.midi) if args.midi else None
    if midi is None and run is not None:
        midi = next(iter(sorted([*run.glob("*.mid"), *run.glob("*.midi")])), None)
    epochs = args.epochs if args.epochs is not None else (cfg.training.num_epochs if cfg is not None else None)
    return {"eval": eval_path, "results": results, "history": history, "midi": midi, "epochs": epochs,
            "checkpoint": ckpt}


def run(args) -> int:
    import json

    from rich.console import Console
    from rich.table import Table

    from drumscribe.core.atomic import atomic_write_bytes
    from drumscribe.evaluation.report import count_midi_notes, decide, load_history

    inp = resolve_inputs(args)
    if args.json_out:  # the overwrite rule (drumscribe.core.outputs), before reading and deciding
        from drumscribe.core.outputs import OutputRule

        rule = OutputRule("report", [inp["eval"], inp["history"], inp["midi"], inp["checkpoint"], args.config],
                          args.overwrite)
        if not rule.may_write(args.json_out):
            return 0
    rows = load_history(inp["history"])
    midi_notes = count_midi_notes(inp["midi"]) if inp["midi"] is not None else None
    d = decide(rows, inp["results"], inp["epochs"], midi_notes)
    console = Console(highlight=False)
    icon = {"good_progress": "✅", "slow_learning": "⚠️ ", "plateaued": "⚠️ ", "not_learning": "❌",
            "diverged": "❌"}[d.row]
    console.print(f"[bold]{icon} {d.label}[/bold] -> {d.action}")
    for r in d.reasons:
        console.print(f"  - {r}")
    t = Table(title="Success criteria", title_justify="left")
    for col in ("", "criterion", "measured", "target"):
        t.add_column(col)
    for c in d.criteria:
        mark = "?" if c.passed is None else ("✅" if c.passed else "❌")
        val = "n/a" if c.value is None else (f"{c.value:.4f}" if isinstance(c.value, float) else str(c.value))
        t.add_row(mark, c.name, val, c.target)
    console.print(t)
    out = d.to_dict()
    out["inputs"] = {k: (None if inp[k] is None else str(inp[k])) for k in ("history", "eval", "midi", "checkpoint")}
    out["inputs"]["expected_epochs"] = inp["epochs"]
    if args.json_out:
        atomic_write_bytes(args.json_out, (json.dumps(out, indent=1) + "\n").encode())
        console.print(f"decision written to {args.json_out}")
    return 0
